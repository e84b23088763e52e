"""The accounts table (:data:`nps.kernel.tables.ACCOUNTS`): account profiles and what business events record."""
