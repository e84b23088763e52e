"""The permission test: every AWS call checked against its role in the synthesized template."""
