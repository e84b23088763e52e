"""Links: the signed, expiring tokens in every one-tap, unsubscribe and follow-up link, and the keyring.

Owns :mod:`~nps.links.tokens` (HMAC tokens with key ids, pure) and :mod:`~nps.links.adapters.keyring`
(the keyring read from Secrets Manager).

Interface for other capabilities: both modules. May import: the kernel.
"""
