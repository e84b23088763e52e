"""Keyed ids: invite ids and suppression keys as HMAC-SHA256 (RFC 2104) under the stack's id key.

An unkeyed hash of guessable values is no pseudonym: anyone can hash every contact id or phone number
and compare. Under a secret key (kept in Secrets Manager for the life of the stack) the same values give
ids nobody outside the stack can recompute or reverse.

The secret is the JSON ``{"key": "<at least 32 characters>"}``. Each use has its own label in the MAC
input (``invite`` or ``suppression``), so an invite id can never equal a suppression key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

#: The shortest id key accepted (RFC 2104 section 3: at least the hash output length).
MIN_ID_KEY_BYTES = 32
_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in ids, channels or normalised addresses


class IdKeyError(ValueError):
    """The id key secret is missing its ``key`` or the key is too short."""


@dataclass(frozen=True, slots=True)
class IdKey:
    """The secret key behind invite ids and suppression keys (``repr`` never shows it)."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < MIN_ID_KEY_BYTES:
            raise IdKeyError(f"the id key must be at least {MIN_ID_KEY_BYTES} bytes")

    @classmethod
    def from_secret(cls, secret: Mapping[str, object]) -> IdKey:
        """Build from the Secrets Manager JSON ``{"key": "<random>"}``; raises :class:`IdKeyError`."""
        value = secret.get("key")
        if not isinstance(value, str):
            raise IdKeyError("the id key secret has no 'key' (a string of at least 32 characters)")
        try:
            encoded = value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: valid JSON, not a key
            raise IdKeyError("the id key is not text (it holds a lone surrogate)") from None
        return cls(encoded)

    def digest(self, label: str, *parts: str) -> str:
        """Hex HMAC-SHA256 (64 characters) of ``label`` and ``parts`` joined by the unit separator."""
        message = _SEPARATOR.join((label, *parts)).encode("utf-8")
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()
