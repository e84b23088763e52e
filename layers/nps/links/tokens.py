"""Signed, expiring link tokens for one-tap responses and unsubscribes.

A token is ``<kid>.<payload>.<signature>``:

* ``kid``: the id of the signing key (``[A-Za-z0-9_-]{1,16}``), so keys rotate without breaking links
  already in inboxes;
* ``payload``: base64url (no padding) of ``<purpose>:<invite_id>:<expires_at>`` (ASCII; ids only, no PII),
  or ``<purpose>:<invite_id>:<expires_at>:<target>`` for a :attr:`Purpose.REDIRECT` token, whose
  ``target`` names the kind of page it leads to (``referral`` or ``review``), never its address;
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
#: The shortest signing key accepted (RFC 2104 section 3: at least the hash output length, 32 for SHA-256).
MIN_KEY_BYTES = 32
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_B64_RE = re.compile(r"[A-Za-z0-9_-]+")
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Purpose(StrEnum):
    """What a token may be used for; a token for one purpose is invalid for another."""

    RESPOND = "r"
    UNSUBSCRIBE = "u"
    #: The web prompt's ask token: names the web invite an answer, comment or dismissal is for.
    WEB = "w"
    #: The promoter follow-up's referral and review links (``/g/<token>``): names the invite and the kind of
    #: target; the target's address comes from the survey definition, never from the link.
    REDIRECT = "g"


#: The kinds of target a :attr:`Purpose.REDIRECT` token may name.
REDIRECT_TARGETS = ("referral", "review")


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
    #: The target kind of a :attr:`Purpose.REDIRECT` token (one of :data:`REDIRECT_TARGETS`), else None.
    target: str | None = None


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of verifying a token; ``claims`` is set only when the signature is good."""

    status: TokenStatus
    claims: TokenClaims | None = None

    @property
    def valid(self) -> bool:
        return self.status is TokenStatus.VALID


INVALID = TokenCheck(TokenStatus.INVALID)


class KeyringError(ValueError):
    """The signing secret cannot sign links: no usable ``active`` key id, or the active key itself is bad."""


@dataclass(frozen=True, slots=True)
class RejectedKey:
    """A key of the signing secret that was skipped, and why (never the key's value)."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Keyring:
    """Signing keys by id and the id of the key new links are signed with.

    ``rejected`` lists the entries of the signing secret :meth:`from_secret` skipped (bad key id or key);
    links signed with them read as invalid, every other key keeps working.
    """

    keys: Mapping[str, bytes]
    active_kid: str
    rejected: tuple[RejectedKey, ...] = ()

    def __post_init__(self) -> None:
        if self.active_kid not in self.keys:
            raise KeyringError("the active key id is not in the keyring")
        for kid, key in self.keys.items():
            problem = key_problem(kid, key)
            if problem:
                raise KeyringError(f"key {_shown(kid)}: {problem}")

    @classmethod
    def from_secret(cls, secret: Mapping[str, object]) -> Keyring:
        """Build from the Secrets Manager JSON ``{"active": "k1", "k1": "<random>", "k2": ...}``.

        A key whose id is not ``[A-Za-z0-9_-]{1,16}`` or whose value is not a string of at least
        :data:`MIN_KEY_BYTES` UTF-8 bytes is skipped and listed in ``rejected``: one badly named key must
        not stop the good ones from verifying links. Raises :class:`KeyringError` when ``active`` is
        missing or not a string, or names a key that is missing or was rejected (no link could be
        signed).
        """
        active = secret.get("active")
        if not isinstance(active, str):
            raise KeyringError("the signing secret has no 'active' key id (a string naming one of its keys)")
        keys: dict[str, bytes] = {}
        rejected: list[RejectedKey] = []
        for name, value in secret.items():
            if name == "active":
                continue
            try:
                key = value.encode("utf-8") if isinstance(value, str) else None
            except UnicodeEncodeError:  # a lone surrogate: valid JSON, not a key
                key = None
            problem = key_problem(name, key)
            if problem:
                rejected.append(RejectedKey(_shown(name), problem))
            elif key is not None:
                keys[name] = key
        if active not in keys:
            why = next((r.reason for r in rejected if r.name == _shown(active)), "no key has that id")
            raise KeyringError(f"the active signing key {_shown(active)} is unusable: {why}")
        return cls(keys=keys, active_kid=active, rejected=tuple(rejected))


def key_problem(kid: str, key: bytes | None) -> str | None:
    """Why ``kid``/``key`` cannot be a signing key, or ``None`` when it can (used for every entry)."""
    if not _KID_RE.fullmatch(kid):
        return "the key id must be 1-16 characters of A-Z a-z 0-9 _ -"
    if key is None:
        return "the key must be a string"
    if len(key) < MIN_KEY_BYTES:
        return f"the key must be at least {MIN_KEY_BYTES} bytes"
    return None


def _shown(name: str) -> str:
    """A key id as it may appear in an error or a log: quoted, printable, short (never a key's value)."""
    if len(name) <= 32 and name.isprintable():
        return repr(name)
    return f"(a name of {len(name)} characters)"


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


def sign(keyring: Keyring, purpose: Purpose, invite_id: str, expires_at: int, target: str | None = None) -> str:
    """Create a token for ``invite_id`` valid until ``expires_at`` (epoch seconds).

    ``target`` (one of :data:`REDIRECT_TARGETS`) is required for :attr:`Purpose.REDIRECT` and refused for
    every other purpose. Raises ``ValueError`` for a bad id, expiry or target."""
    if not _ID_RE.fullmatch(invite_id):
        raise ValueError("invite ids must be 1–64 characters of [A-Za-z0-9_-]")
    if expires_at <= 0:
        raise ValueError("expires_at must be a positive epoch time")
    if (purpose is Purpose.REDIRECT) != (target is not None) or (target is not None and target not in REDIRECT_TARGETS):
        raise ValueError(f"a redirect token names one of {', '.join(REDIRECT_TARGETS)}; other tokens name none")
    kid = keyring.active_kid
    text = f"{purpose.value}:{invite_id}:{int(expires_at)}" + (f":{target}" if target is not None else "")
    payload = _b64encode(text.encode("ascii"))
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
    target: str | None = None
    if purpose is Purpose.REDIRECT and len(fields) == 4:
        *fields, target = fields
        if target not in REDIRECT_TARGETS:
            return INVALID
    if len(fields) != 3:
        return INVALID
    purpose_text, invite_id, expires_text = fields
    if purpose_text != purpose.value or not _ID_RE.fullmatch(invite_id) or not expires_text.isdigit():
        return INVALID
    if (purpose is Purpose.REDIRECT) != (target is not None):
        return INVALID
    claims = TokenClaims(purpose=purpose, invite_id=invite_id, expires_at=int(expires_text), kid=kid, target=target)
    if now >= claims.expires_at:
        return TokenCheck(TokenStatus.EXPIRED, claims)
    return TokenCheck(TokenStatus.VALID, claims)
