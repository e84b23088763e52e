"""Data access: the only code in the domain package that calls AWS."""
