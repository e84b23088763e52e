"""Signed, expiring link tokens for one-tap responses and unsubscribes.

A token is ``<kid>.<payload>.<signature>``:

* ``kid``: the id of the signing key (``[A-Za-z0-9_-]{1,16}``), so keys rotate without breaking links
  already in inboxes;
* ``payload``: base64url (no padding) of ``<purpose>:<invite_id>:<expires_at>`` (ASCII; ids only, no PII);
* ``signature``: base64url of the first 16 bytes of HMAC-SHA256(key, ``<kid>.<payload>``).

128 bits of HMAC output keep SMS links short and are far beyond what an online forger can try.
Verification never raises: any input yields a :class:`TokenCheck` that is valid, expired or invalid,
and the signature is compared in constant time before anything in the payload is trusted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

MAX_TOKEN_LENGTH = 256
SIGNATURE_BYTES = 16
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_B64_RE = re.compile(r"[A-Za-z0-9_-]+")
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Purpose(StrEnum):
    """What a token may be used for; a token for one purpose is invalid for another."""

    RESPOND = "r"
    UNSUBSCRIBE = "u"


class TokenStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    purpose: Purpose
    invite_id: str
    expires_at: int
    kid: str


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of verifying a token; ``claims`` is set only when the signature is good."""

    status: TokenStatus
    claims: TokenClaims | None = None

    @property
    def valid(self) -> bool:
        return self.status is TokenStatus.VALID


INVALID = TokenCheck(TokenStatus.INVALID)


@dataclass(frozen=True, slots=True)
class Keyring:
    """Signing keys by id and the id of the key new links are signed with."""

    keys: Mapping[str, bytes]
    active_kid: str

    def __post_init__(self) -> None:
        if self.active_kid not in self.keys:
            raise ValueError("the active key id is not in the keyring")
        for kid, key in self.keys.items():
            if not _KID_RE.fullmatch(kid):
                raise ValueError(f"key id {kid!r} must match {_KID_RE.pattern}")
            if len(key) < 32:
                raise ValueError(f"key {kid!r} must be at least 32 bytes")

    @classmethod
    def from_secret(cls, secret: Mapping[str, object]) -> Keyring:
        """Build from the Secrets Manager JSON ``{"active": "k1", "k1": "<random>", "k2": ...}``."""
        active = secret.get("active")
        if not isinstance(active, str):
            raise ValueError("the signing secret has no 'active' key id")
        keys = {
            kid: value.encode("utf-8") for kid, value in secret.items() if kid != "active" and isinstance(value, str)
        }
        return cls(keys=keys, active_kid=active)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    if not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Reject non-canonical encodings (stray bits in the last character) so one token has one spelling.
    return raw if _b64encode(raw) == text else None


def _signature(key: bytes, signed: bytes) -> bytes:
    return hmac.new(key, signed, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def sign(keyring: Keyring, purpose: Purpose, invite_id: str, expires_at: int) -> str:
    """Create a token for ``invite_id`` valid until ``expires_at`` (epoch seconds)."""
    if not _ID_RE.fullmatch(invite_id):
        raise ValueError("invite ids must be 1–64 characters of [A-Za-z0-9_-]")
    if expires_at <= 0:
        raise ValueError("expires_at must be a positive epoch time")
    kid = keyring.active_kid
    payload = _b64encode(f"{purpose.value}:{invite_id}:{int(expires_at)}".encode("ascii"))
    signed = f"{kid}.{payload}".encode("ascii")
    return f"{signed.decode('ascii')}.{_b64encode(_signature(keyring.keys[kid], signed))}"


def verify(keyring: Keyring, token: object, purpose: Purpose, now: float) -> TokenCheck:
    """Check a token's signature, purpose and expiry. Never raises, whatever ``token`` is."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return INVALID
    parts = token.split(".")
    if len(parts) != 3:
        return INVALID
    kid, payload, signature_text = parts
    key = keyring.keys.get(kid) if _KID_RE.fullmatch(kid) else None
    signature = _b64decode(signature_text)
    if key is None or signature is None or len(signature) != SIGNATURE_BYTES:
        return INVALID
    expected = _signature(key, f"{kid}.{payload}".encode("ascii"))
    if not hmac.compare_digest(expected, signature):
        return INVALID
    raw = _b64decode(payload)
    if raw is None:
        return INVALID
    fields = raw.decode("ascii", errors="replace").split(":")
    if len(fields) != 3:
        return INVALID
    purpose_text, invite_id, expires_text = fields
    if purpose_text != purpose.value or not _ID_RE.fullmatch(invite_id) or not expires_text.isdigit():
        return INVALID
    claims = TokenClaims(purpose=purpose, invite_id=invite_id, expires_at=int(expires_text), kid=kid)
    if now >= claims.expires_at:
        return TokenCheck(TokenStatus.EXPIRED, claims)
    return TokenCheck(TokenStatus.VALID, claims)
