"""Link tokens under attack: no tampered, truncated, re-encoded, expired, foreign or random token is accepted.

Hypothesis draws real tokens (made by :func:`nps.links.tokens.sign` for random invites, purposes, expiries and
either trusted key) and where to hit them; each example then checks the whole family of altered tokens
around that point: every one-character change at a position, every cut, every re-spelling of the same
bytes. ``verify`` must answer (never raise) and never say VALID; a really signed token past its expiry
must say EXPIRED. Each property counts the distinct tokens it checked and asserts its share of a total
above 10,000. Then a sample goes through the respond function on moto, which must answer with a 4xx
page and record nothing.
"""

from __future__ import annotations

import base64
import hashlib
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.respond import handler as respond
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.kernel import aws
from nps.links.tokens import Keyring, Purpose, TokenCheck, TokenStatus, sign, verify
from tests.support.taps import BROWSER, FORM, PAGE_SCRIPT, issue_invite

pytestmark = pytest.mark.reliability

KEY_1 = hashlib.sha256(b"reliability key 1").hexdigest().encode()
KEY_2 = hashlib.sha256(b"reliability key 2").hexdigest().encode()
FOREIGN_KEY = hashlib.sha256(b"someone else's key").hexdigest().encode()
#: What the platform trusts: k1 and k2 (after a rotation both verify, either may be the active one).
TRUSTED = Keyring(keys={"k1": KEY_1, "k2": KEY_2}, active_kid="k1")
ROTATED = Keyring(keys={"k1": KEY_1, "k2": KEY_2}, active_kid="k2")
NOW = 1_800_000_000

#: Distinct tokens each property must check (asserted); together more than 10,000.
BUDGET = {
    "tampered": 3000,
    "forged_claims": 1000,
    "truncated": 1000,
    "re_encoded": 2500,
    "expired": 500,
    "wrong_key": 500,
    "wrong_purpose": 500,
    "swapped_kid": 500,
    "random": 1000,
}
assert sum(BUDGET.values()) >= 10_000
HTTP_SAMPLE = 150

B64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
B64URL_INDEX = {c: i for i, c in enumerate(B64URL)}
#: Characters a token can be tampered with: its own alphabet, separators, padding, the standard base64
#: alphabet, URL syntax, whitespace, controls and non-ASCII look-alikes.
ALPHABET = B64URL + ".=+/%~?#&; \t\n\r\x00\x7fé\u200b\uff41\u0131"


def properties(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@dataclass(frozen=True)
class Signed:
    """A token exactly as the platform issues it, and what it was signed for."""

    token: str
    purpose: Purpose
    invite_id: str
    expires_at: int

    @property
    def parts(self) -> list[str]:
        return self.token.split(".")


invite_ids = st.text(alphabet=B64URL, min_size=1, max_size=64)


def signed(ring: Keyring, purpose: Purpose, invite_id: str, expires_at: int) -> str:
    """A token of any purpose: a redirect token names its target (a referral link), the others none."""
    return sign(ring, purpose, invite_id, expires_at, "referral" if purpose is Purpose.REDIRECT else None)


@st.composite
def signed_tokens(draw: st.DrawFn) -> Signed:
    ring = draw(st.sampled_from([TRUSTED, ROTATED]))
    purpose = draw(st.sampled_from(Purpose))
    invite_id = draw(invite_ids)
    expires_at = NOW + draw(st.integers(1, 400 * 86_400))
    return Signed(signed(ring, purpose, invite_id, expires_at), purpose, invite_id, expires_at)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check(token: object, purpose: Purpose = Purpose.RESPOND, now: float = NOW) -> TokenCheck:
    """``verify`` against the trusted keyring; an exception fails the property that called it."""
    return verify(TRUSTED, token, purpose, now)


# --------------------------------------------------------------------------------------------------
# Families of altered tokens around one real token (the original itself is never yielded)
# --------------------------------------------------------------------------------------------------


def tampered(signed: Signed, at: int) -> Iterator[str]:
    """Every flip of the character at ``at``, every insertion there, its deletion, a swap with its
    neighbour, and every single-bit change of the payload and signature bytes near it."""
    token = signed.token
    i = at % len(token)
    yield from (token[:i] + c + token[i + 1 :] for c in ALPHABET if c != token[i])
    yield from (token[:i] + c + token[i:] for c in ALPHABET)
    yield token[:i] + token[i + 1 :]
    if i + 1 < len(token) and token[i] != token[i + 1]:
        yield token[:i] + token[i + 1] + token[i] + token[i + 2 :]
    for index in (1, 2):
        parts = signed.parts
        raw = unb64(parts[index])
        byte = at % len(raw)
        for bit in range(8):
            changed = bytearray(raw)
            changed[byte] ^= 1 << bit
            parts[index] = b64(bytes(changed))
            yield ".".join(parts)


def forged_claims(signed: Signed, other_invite: str, other_expiry: int) -> Iterator[str]:
    """The signature kept, the claims rewritten: another purpose, invite or expiry, odd field syntax."""
    kid, _, signature = signed.parts
    original = f"{signed.purpose.value}:{signed.invite_id}:{signed.expires_at}"
    e = signed.expires_at
    purposes = ["r", "u", "", "R", "x", "rr"]
    invites = [signed.invite_id, other_invite, f"{signed.invite_id}x", signed.invite_id[:-1], signed.invite_id.upper()]
    expiries = [str(e), str(other_expiry), str(e + 1), str(e + 10**6), f"0{e}", f"{e} ", "-1", f"{e}.0", "9" * 12]
    for purpose, invite_id, expiry in product(purposes, invites, expiries):
        claims = f"{purpose}:{invite_id}:{expiry}"
        if claims != original:
            yield f"{kid}.{b64(claims.encode())}.{signature}"
    for claims in (f"{original}:extra", f"{signed.purpose.value}:{signed.invite_id}", original.replace(":", ";")):
        yield f"{kid}.{b64(claims.encode())}.{signature}"


def truncated(signed: Signed, start: int, end: int) -> Iterator[str]:
    """Every cut at the end (a wrapped line), every cut at the start, a piece missing from the middle,
    and whole parts missing."""
    token = signed.token
    yield from (token[:n] for n in range(len(token)))
    yield from (token[n:] for n in range(1, len(token) + 1))
    low, high = sorted((start % len(token), end % len(token)))
    yield token[:low] + token[high + 1 :]
    parts = signed.parts
    for keep in ([0, 1], [1, 2], [0, 2], [0], [1], [2]):
        yield ".".join(parts[i] for i in keep)


def _aliases(part: str) -> list[str]:
    """``part`` spelled with a different last character that decodes to the same bytes (unused bits set)."""
    unused = {2: 4, 3: 2}.get(len(part) % 4, 0)
    value = B64URL_INDEX[part[-1]]
    base = value & ~((1 << unused) - 1)
    return [part[:-1] + B64URL[base + low] for low in range(1 << unused) if base + low != value]


def re_encoded(signed: Signed, percent: frozenset[int], case: frozenset[int]) -> Iterator[str]:
    """The same bytes spelled differently: padding, the standard alphabet, non-canonical trailing bits,
    percent-encoding, case changes, full-width look-alikes, and what mail clients wrap links in."""
    token = signed.token
    for index in (1, 2):
        for padding in ("=", "==", "==="):
            parts = signed.parts
            parts[index] += padding
            yield ".".join(parts)
        standard = base64.b64encode(unb64(signed.parts[index])).decode("ascii")
        for spelling in (standard, standard.rstrip("="), *_aliases(signed.parts[index])):
            parts = signed.parts
            parts[index] = spelling
            yield ".".join(parts)
    for hex_format in ("%{:02X}", "%{:02x}"):
        yield from (token[:i] + hex_format.format(ord(token[i])) + token[i + 1 :] for i in range(len(token)))
    yield "".join(f"%{ord(c):02X}" if i in percent else c for i, c in enumerate(token))
    yield quote(quote(token, safe=""), safe="").replace(".", "%2E")
    yield from (token[:i] + token[i].swapcase() + token[i + 1 :] for i in range(len(token)) if token[i].isalpha())
    yield "".join(c.swapcase() if i in case else c for i, c in enumerate(token))
    yield token.upper()
    yield token.lower()
    yield from (token[:i] + chr(ord(token[i]) + 0xFEE0) + token[i + 1 :] for i in range(len(token)))
    for before, after in product(["", " ", "<", '"', "\n", "\u200b", "%20"], ["", " ", ">", '"', "\r\n", ".", "%0A"]):
        yield f"{before}{token}{after}"


def swapped_kid(signed: Signed, donor: Signed, unknown_kid: str) -> Iterator[str]:
    """The key id changed (the other trusted key, unknown ones) or parts spliced from two tokens."""
    kid, payload, signature = signed.parts
    for other in ("k2" if kid == "k1" else "k1", unknown_kid, kid.upper(), f"{kid}1", f"{kid} ", ""):
        yield f"{other}.{payload}.{signature}"
    d_kid, d_payload, d_signature = donor.parts
    yield f"{kid}.{payload}.{d_signature}"
    yield f"{kid}.{d_payload}.{signature}"
    yield f"{d_kid}.{payload}.{signature}"


def assert_refused(signed: Signed, mutants: Iterator[str], tried: set[str]) -> None:
    # The original is accepted: the alteration, not the setup, is what gets each mutant refused.
    assert check(signed.token, signed.purpose).valid
    for mutant in mutants:
        if mutant in (signed.token,):
            continue  # an alteration that happens to give the token back (a swap of equal characters)
        result = check(mutant, signed.purpose)
        assert result.status is TokenStatus.INVALID, (mutant, result)
        assert result.claims is None
        tried.add(mutant)


# --------------------------------------------------------------------------------------------------
# Properties of nps.links.tokens.verify
# --------------------------------------------------------------------------------------------------


def test_tampered_tokens_are_invalid() -> None:
    tried: set[str] = set()

    # Given real tokens and a position in each
    @properties(max_examples=45)
    @given(signed_tokens(), st.integers(0, 10_000))
    def prop(signed: Signed, at: int) -> None:
        # When any character there is changed, inserted, deleted or swapped, or a bit of the bytes flips
        # Then the token is invalid
        assert_refused(signed, tampered(signed, at), tried)

    prop()
    assert len(tried) >= BUDGET["tampered"]


def test_tokens_with_rewritten_claims_are_invalid() -> None:
    tried: set[str] = set()

    # Given real tokens, another invite id and another expiry
    @properties(max_examples=16)
    @given(signed_tokens(), invite_ids, st.integers(0, 10**11))
    def prop(signed: Signed, other_invite: str, other_expiry: int) -> None:
        # When the payload is rewritten (later expiry, someone else's invite, the other purpose) and
        # the original signature kept
        # Then the token is invalid
        assert_refused(signed, forged_claims(signed, other_invite, other_expiry), tried)

    prop()
    assert len(tried) >= BUDGET["forged_claims"]


def test_truncated_tokens_are_invalid() -> None:
    tried: set[str] = set()

    # Given real tokens
    @properties(max_examples=24)
    @given(signed_tokens(), st.integers(0, 10_000), st.integers(0, 10_000))
    def prop(signed: Signed, start: int, end: int) -> None:
        # When cut anywhere, at either end or in the middle, or a part is missing
        # Then the token is invalid
        assert_refused(signed, truncated(signed, start, end), tried)

    prop()
    assert len(tried) >= BUDGET["truncated"]


def test_re_encoded_tokens_are_invalid() -> None:
    tried: set[str] = set()

    # Given real tokens and random sets of positions to percent-encode or change the case of
    positions = st.frozensets(st.integers(0, 150), min_size=1, max_size=12)

    @properties(max_examples=44)
    @given(signed_tokens(), positions, positions)
    def prop(signed: Signed, percent: frozenset[int], case: frozenset[int]) -> None:
        # When the same bytes are spelled differently (padding, standard alphabet, stray trailing bits,
        # percent-encoding, case, full-width characters, wrapping)
        # Then the token is invalid: one token has one spelling
        assert_refused(signed, re_encoded(signed, percent, case), tried)

    prop()
    assert len(tried) >= BUDGET["re_encoded"]


def test_tokens_with_a_swapped_key_id_are_invalid() -> None:
    tried: set[str] = set()
    unknown = st.text(alphabet=B64URL, min_size=1, max_size=16).filter(lambda kid: kid not in TRUSTED.keys)

    # Given pairs of real tokens and an unknown key id
    @properties(max_examples=200)
    @given(signed_tokens(), signed_tokens(), unknown)
    def prop(signed: Signed, donor: Signed, unknown_kid: str) -> None:
        # When the key id is swapped for another (trusted or not) or parts are spliced between tokens
        # Then the token is invalid
        mutants = (m for m in swapped_kid(signed, donor, unknown_kid) if m != donor.token)
        assert_refused(signed, mutants, tried)

    prop()
    assert len(tried) >= BUDGET["swapped_kid"]


def test_expired_tokens_are_reported_expired_never_valid() -> None:
    tried: set[str] = set()

    # Given real tokens whose expiry is now or in the past
    @properties(max_examples=90)
    @given(
        st.sampled_from([TRUSTED, ROTATED]),
        st.sampled_from(Purpose),
        invite_ids,
        st.lists(st.integers(1, NOW), min_size=10, max_size=10, unique=True),
    )
    def prop(ring: Keyring, purpose: Purpose, invite_id: str, expiries: list[int]) -> None:
        for expires_at in expiries:
            token = signed(ring, purpose, invite_id, expires_at)
            # When verified at or after the expiry
            result = check(token, purpose, now=NOW)
            # Then it is expired: refused, yet recognised as ours (the page can say "expired")
            assert result.status is TokenStatus.EXPIRED, token
            assert result.claims is not None
            assert result.claims.expires_at == expires_at
            assert check(token, purpose, now=expires_at).status is TokenStatus.EXPIRED
            # and a second before its expiry it was valid
            assert check(token, purpose, now=expires_at - 1).valid
            tried.add(token)

    prop()
    assert len(tried) >= BUDGET["expired"]


def test_tokens_signed_with_a_key_the_platform_does_not_trust_are_invalid() -> None:
    tried: set[str] = set()
    # HMAC pads short keys with zero bytes: a key that only adds zeros is the same key, not a foreign one.
    foreign_keys = st.one_of(st.just(FOREIGN_KEY), st.binary(min_size=32, max_size=80)).filter(
        lambda key: key.rstrip(b"\0") not in {KEY_1, KEY_2}
    )
    kids = st.text(alphabet=B64URL, min_size=1, max_size=16)

    # Given tokens signed with foreign keys under our key ids or unknown ones, or our keys under the other id
    @properties(max_examples=60)
    @given(foreign_keys, kids, invite_ids, st.integers(1, 10**8))
    def prop(key: bytes, kid: str, invite_id: str, lifetime: int) -> None:
        rings = [
            Keyring(keys={kid: key}, active_kid=kid),
            Keyring(keys={"k1": key}, active_kid="k1"),
            Keyring(keys={"k2": key}, active_kid="k2"),
            Keyring(keys={"k1": KEY_2}, active_kid="k1"),
            Keyring(keys={"k2": KEY_1}, active_kid="k2"),
        ]
        for ring, purpose, expires_at in product(rings, Purpose, (NOW + lifetime, NOW + 2 * lifetime)):
            token = signed(ring, purpose, invite_id, expires_at)
            # When verified with the platform's keyring
            # Then it is invalid
            assert check(token, purpose).status is TokenStatus.INVALID, token
            tried.add(token)

    prop()
    assert len(tried) >= BUDGET["wrong_key"]


def test_a_token_for_one_purpose_is_invalid_for_the_other() -> None:
    tried: set[str] = set()

    # Given real respond and unsubscribe tokens signed by either trusted key
    @properties(max_examples=120)
    @given(invite_ids, st.integers(1, 10**8))
    def prop(invite_id: str, lifetime: int) -> None:
        for ring, purpose, expires_at in product((TRUSTED, ROTATED), Purpose, (NOW + lifetime, NOW + 7 * lifetime)):
            token = signed(ring, purpose, invite_id, expires_at)
            other = Purpose.UNSUBSCRIBE if purpose is Purpose.RESPOND else Purpose.RESPOND
            assert check(token, purpose).valid
            # When each is verified for the other purpose
            # Then it is invalid
            assert check(token, other).status is TokenStatus.INVALID
            tried.add(token)

    prop()
    assert len(tried) >= BUDGET["wrong_purpose"]


def test_random_input_is_invalid_and_never_raises() -> None:
    tried: set[str] = set()
    # Given arbitrary text, token-shaped strings under trusted key ids, bytes and non-string values
    shaped = st.builds(
        lambda kid, payload, signature: f"{kid}.{payload}.{signature}",
        st.one_of(st.sampled_from(["k1", "k2"]), st.text(alphabet=B64URL, min_size=1, max_size=16)),
        st.text(alphabet=B64URL, max_size=90),
        st.text(alphabet=B64URL, max_size=30),
    )
    anything = st.one_of(
        st.text(max_size=300),
        shaped,
        st.text(alphabet=ALPHABET, max_size=120),
        st.binary(max_size=120),
        st.none(),
        st.integers(),
        st.floats(),
        st.lists(st.text(max_size=5), max_size=3),
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    )

    @properties(max_examples=400)
    @given(st.lists(anything, min_size=5, max_size=20, unique_by=repr))
    def prop(values: list[Any]) -> None:
        for value in values:
            # When verified for either purpose
            # Then it is invalid
            for purpose in Purpose:
                assert check(value, purpose).status is TokenStatus.INVALID, value
            tried.add(repr(value))

    prop()
    assert len(tried) >= BUDGET["random"]


# --------------------------------------------------------------------------------------------------
# The respond function on moto: a 4xx page, never a 5xx or an exception, and nothing recorded
# --------------------------------------------------------------------------------------------------

#: Every route a token reaches, as a person's browser or the page's script calls it.
REQUESTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "open": lambda path: http_event("GET", path, {"score": "9"}, headers=BROWSER),
    "picker": lambda path: http_event("GET", path, headers=BROWSER),
    "head": lambda path: http_event("HEAD", path, headers=BROWSER),
    "confirm": lambda path: http_event("POST", path, body="score=9", headers={**PAGE_SCRIPT, **FORM}),
    "comment": lambda path: http_event("POST", f"{path}/comment", body="comment=hello", headers={**BROWSER, **FORM}),
    "preview": lambda path: http_event("GET", f"{path}/p", headers=BROWSER),
}


def _table_items(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(TableName=name, ConsistentRead=True)["Items"]
    return items


@st.composite
def altered_links(draw: st.DrawFn, own: list[Signed], refused_but_signed: list[str]) -> str:
    """One of the invites' own links altered any way above, a link signed with a foreign key, for the
    other purpose or already expired, or random text."""
    signed = draw(st.sampled_from(own))
    kind = draw(st.sampled_from(["tampered", "forged", "truncated", "re_encoded", "swapped", "signed", "random"]))
    at = draw(st.integers(0, 10_000))
    families: dict[str, Callable[[], Iterator[str]]] = {
        "tampered": lambda: tampered(signed, at),
        "forged": lambda: forged_claims(signed, "inv-1", NOW),
        "truncated": lambda: truncated(signed, at, at // 2),
        "re_encoded": lambda: re_encoded(signed, frozenset({at % 50}), frozenset({at % 40})),
        "swapped": lambda: swapped_kid(signed, own[(own.index(signed) + 1) % len(own)], "k9"),
    }
    if kind == "signed":
        return draw(st.sampled_from(refused_but_signed))
    if kind == "random":
        return draw(st.text(max_size=120))
    mutants = [m for m in families[kind]() if m != signed.token]
    return draw(st.sampled_from(mutants))


def test_the_respond_function_refuses_altered_links_with_a_4xx_and_records_nothing(platform: LocalStack) -> None:
    # Given real invites on moto, their links altered every way above, and links that are signed but
    # foreign, for the other purpose or expired
    real = [issue_invite(platform, f"inv-{n}", lifetime_seconds=86_400) for n in range(3)]
    own = [Signed(i.token, Purpose.RESPOND, i.invite.invite_id, i.invite.expires_at) for i in real]
    refused_but_signed = [
        sign(Keyring(keys={"k1": FOREIGN_KEY}, active_kid="k1"), Purpose.RESPOND, "inv-0", NOW * 2),
        sign(platform.keyring, Purpose.UNSUBSCRIBE, "inv-0", real[0].invite.expires_at),
        sign(platform.keyring, Purpose.RESPOND, "inv-0", 1_000_000),
    ]
    invites_before = _table_items(platform.tables["invites"])
    statuses: set[int] = set()

    @settings(max_examples=HTTP_SAMPLE, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(altered_links(own, refused_but_signed), st.sampled_from(sorted(REQUESTS)), st.booleans())
    def prop(token: str, route: str, encode: bool) -> None:
        # When a browser sends one to any route, as it is or percent-encoded as an HTTP client would
        segment = quote(token, safe="") if encode or not token.isprintable() else token
        result = respond.lambda_handler(REQUESTS[route](f"/r/{segment}"), LambdaContext())
        # Then the answer is a client error page, never a success or a server error
        assert 400 <= result["statusCode"] < 500, (token, route, result["statusCode"])
        statuses.add(result["statusCode"])

    prop()
    # and nothing was recorded: no response item, no click logged on any invite
    assert _table_items(platform.tables["responses"]) == []
    assert _table_items(platform.tables["invites"]) == invites_before
    assert {403, 410} <= statuses
    # while an untouched link still records (the refusals above are the alterations' doing)
    assert real[0].tap(9)["statusCode"] == 200
    assert len(_table_items(platform.tables["responses"])) == 1
