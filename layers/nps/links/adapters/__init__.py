"""Links' adapters: reading the signing keyring from Secrets Manager."""
