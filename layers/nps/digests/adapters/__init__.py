"""The digest's stores: sent markers (surveys table) and published account health (accounts table)."""
