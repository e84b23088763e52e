"""Per-survey site secrets and the contact tokens a team's backend mints with them (pure).

**Site secret.** One stack secret holds a keyring (``{"active": "s1", "s1": "<random>", ...}``, the
format of the link keyring, :class:`nps.links.tokens.Keyring`). A survey's site secret under key id
``kid`` is derived, never stored::

    site_secret = base64url(HMAC-SHA256(master[kid], "nps-site-v1|" + survey_id))   # 43 characters

so one survey's secret says nothing about another's (HMAC is a PRF), and ``nps survey site-secret
SURVEY`` can print it again at any time as ``<kid>.<site_secret>``. Rotation adds a key id to the
keyring and flips ``active``; tokens minted under any key id still in the keyring keep verifying.

**Contact token.** ``v1.<kid>.<payload>.<signature>``:

* ``payload``: base64url (no padding) of a JSON object ``{"s": survey_id, "c": contact_id,
  "exp": unix seconds, "l": locale (optional), "a": {attribute: value} (optional)}``;
* ``signature``: base64url (no padding) of HMAC-SHA256(UTF-8 bytes of ``site_secret``, ``v1.<kid>.<payload>``),
  all 32 bytes.

The token is checked against the site secret of the survey it names (``s``), in constant time, before
anything else in it is used; then a token for another survey than the request's is refused
(:attr:`ContactTokenStatus.WRONG_SURVEY`). ``exp`` may be at most :data:`MAX_LIFETIME_SECONDS` ahead
(a longer-lived token is invalid: a token is minted per page load, not stored).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from nps.events.names import ID_PATTERN
from nps.links.tokens import Keyring

VERSION = "v1"
#: The longest token accepted (characters): a payload with 20 attributes of 256 characters fits.
MAX_TOKEN_LENGTH = 8192
#: How far ahead ``exp`` may be (24 hours), plus :data:`CLOCK_SKEW_SECONDS` for the minting server's clock.
MAX_LIFETIME_SECONDS = 24 * 3600
CLOCK_SKEW_SECONDS = 300
#: Signed segment attributes (``a``): at most this many, names like segment dimensions, values ≤ 256 chars.
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_VALUE = 256
_LABEL = "nps-site-v1|"
_ASK_LABEL = b"nps-ask-v1"
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_B64_RE = re.compile(r"[A-Za-z0-9_-]+")
_ID_RE = re.compile(ID_PATTERN)
_ATTRIBUTE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_LOCALE_RE = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{1,8}){0,3}")


class ContactTokenStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"
    WRONG_SURVEY = "wrong_survey"


@dataclass(frozen=True, slots=True)
class ContactClaims:
    """What a valid contact token says: whose prompt this is, until when, in which locale, with which
    segment attributes (the contacts table's attributes win when the contact is stored there)."""

    survey_id: str
    contact_id: str
    expires_at: int
    kid: str
    locale: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContactTokenCheck:
    status: ContactTokenStatus
    claims: ContactClaims | None = None

    @property
    def valid(self) -> bool:
        return self.status is ContactTokenStatus.VALID


_INVALID = ContactTokenCheck(ContactTokenStatus.INVALID)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    if not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _b64encode(raw) == text else None  # one spelling per token


def site_secret(master: Keyring, survey_id: str, kid: str | None = None) -> str:
    """The site secret of ``survey_id`` under key id ``kid`` (the keyring's active one by default):
    43 base64url characters. Raises ``KeyError`` for a key id not in the keyring."""
    chosen = kid or master.active_kid
    digest = hmac.new(master.keys[chosen], (_LABEL + survey_id).encode("utf-8"), hashlib.sha256).digest()
    return _b64encode(digest)


def ask_keyring(master: Keyring) -> Keyring:
    """The keyring the web prompt's ask tokens are signed and verified with, derived from the site keys::

        ask_key[kid] = HMAC-SHA256(master[kid], "nps-ask-v1")        # 32 bytes, for every key id

    under the same key ids and the same active one, so rotating the site keys rotates the ask keys and
    ask tokens in flight keep verifying while their key id stays. The web function therefore never reads
    the email/SMS link keyring: a compromise of it cannot forge one-tap or unsubscribe links. The label
    differs from the site secrets' (``nps-site-v1|...``), so no ask key equals a site secret."""
    keys = {kid: hmac.new(key, _ASK_LABEL, hashlib.sha256).digest() for kid, key in master.keys.items()}
    return Keyring(keys=keys, active_kid=master.active_kid)


def printable_site_secret(master: Keyring, survey_id: str) -> str:
    """``<kid>.<site secret>`` under the active key id: what ``nps survey site-secret`` prints."""
    return f"{master.active_kid}.{site_secret(master, survey_id)}"


def _signature(secret: str, signed: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), signed.encode("ascii"), hashlib.sha256).digest()


def mint(
    secret: str,
    survey_id: str,
    contact_id: str,
    expires_at: int,
    *,
    locale: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> str:
    """A contact token, as a team's backend mints it: ``secret`` is what ``nps survey site-secret`` printed
    (``<kid>.<site secret>``). Used by the local environment and the tests; docs/web-channel.md has the
    same in a few lines of Python and Node."""
    kid, _, key = secret.partition(".")
    if not _KID_RE.fullmatch(kid) or not key:
        raise ValueError("the secret must be '<kid>.<site secret>' as `nps survey site-secret` prints it")
    claims: dict[str, object] = {"s": survey_id, "c": contact_id, "exp": int(expires_at)}
    if locale:
        claims["l"] = locale
    if attributes:
        claims["a"] = dict(attributes)
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    signed = f"{VERSION}.{kid}.{payload}"
    return f"{signed}.{_b64encode(_signature(key, signed))}"


def verify_contact_token(
    master: Keyring, token: object, survey_id: str, now: float, *, max_lifetime_seconds: int = MAX_LIFETIME_SECONDS
) -> ContactTokenCheck:
    """Check a contact token presented for ``survey_id`` at ``now`` (epoch seconds). Never raises.

    Invalid: not a string, longer than :data:`MAX_TOKEN_LENGTH`, malformed, an unknown key id, a bad
    signature, claims of the wrong types, an ``exp`` more than ``max_lifetime_seconds`` ahead (a day for the
    web prompt; a printed share link may allow up to :data:`nps.sending.surveys.MAX_SHARE_LINK_DAYS`).
    Wrong survey: a good token for another survey. Expired: a good token past its ``exp``.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return _INVALID
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        return _INVALID
    _, kid, payload, signature_text = parts
    signature = _b64decode(signature_text)
    raw = _b64decode(payload)
    if not _KID_RE.fullmatch(kid) or kid not in master.keys or signature is None or raw is None:
        return _INVALID
    # The payload names the survey whose secret signed it; only that name is read before the signature
    # is checked (a forged name derives a secret the forger does not have).
    claims = _claims(raw, kid)
    if claims is None:
        return _INVALID
    expected = _signature(site_secret(master, claims.survey_id, kid), f"{VERSION}.{kid}.{payload}")
    if not hmac.compare_digest(expected, signature):
        return _INVALID
    if claims.expires_at > now + max_lifetime_seconds + CLOCK_SKEW_SECONDS:
        return _INVALID
    if claims.survey_id != survey_id:
        return ContactTokenCheck(ContactTokenStatus.WRONG_SURVEY, claims)
    if now >= claims.expires_at:
        return ContactTokenCheck(ContactTokenStatus.EXPIRED, claims)
    return ContactTokenCheck(ContactTokenStatus.VALID, claims)


def _claims(raw: bytes, kid: str) -> ContactClaims | None:
    """The claims of a decoded payload, or None when any is missing or of the wrong shape."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or set(data) - {"s", "c", "exp", "l", "a"}:
        return None
    survey_id, contact_id, expires_at = data.get("s"), data.get("c"), data.get("exp")
    if not isinstance(survey_id, str) or not _ID_RE.fullmatch(survey_id):
        return None
    if not isinstance(contact_id, str) or not _ID_RE.fullmatch(contact_id):
        return None
    if not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at <= 0:
        return None
    locale = data.get("l")
    if locale is not None and (not isinstance(locale, str) or not _LOCALE_RE.fullmatch(locale)):
        return None
    attributes = data.get("a", {})
    if not isinstance(attributes, dict) or len(attributes) > MAX_ATTRIBUTES:
        return None
    for name, value in attributes.items():
        if not _ATTRIBUTE_RE.fullmatch(name) or not isinstance(value, str):
            return None
        if not value or len(value) > MAX_ATTRIBUTE_VALUE or any(_invisible(ch) for ch in value):
            return None
    return ContactClaims(survey_id, contact_id, expires_at, kid, locale, dict(attributes))


def _invisible(ch: str) -> bool:
    """A control or format character (Unicode categories Cc, Cf: line breaks, bidirectional overrides,
    zero-width marks): not a segment value a report can show."""
    return unicodedata.category(ch) in ("Cc", "Cf")
