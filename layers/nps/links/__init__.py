"""Links: the signed, expiring tokens in every one-tap, unsubscribe and follow-up link, and the keyring.

Owns :mod:`~nps.links.tokens` (HMAC tokens with key ids, pure), :mod:`~nps.links.pseudonyms` (keyed
invite ids and suppression keys under the stack's id key) and :mod:`~nps.links.adapters.keyring` (the
signing keyring and the id key, read from Secrets Manager).

Interface for other capabilities: all three modules. May import: the kernel.
"""
