"""Store adapters of a contact's records (the only code of nps.contacts that imports the AWS SDK)."""
