"""nps.links.tokens: signed, expiring link tokens. ``verify`` must never raise and never accept a forgery."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nps.links.tokens import (
    MAX_TOKEN_LENGTH,
    Keyring,
    KeyringError,
    Purpose,
    TokenCheck,
    TokenClaims,
    TokenStatus,
    sign,
    verify,
)
from tests.support.fakes import KEY_1, KEY_2, NOW_EPOCH

EXPIRES = NOW_EPOCH + 3600
HYPOTHESIS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(key: bytes, kid: str, payload: str) -> str:
    """A token signed exactly as the module docstring specifies, for an arbitrary payload string."""
    signed = f"{kid}.{payload}".encode("ascii")
    return f"{kid}.{payload}.{b64(hmac.new(key, signed, hashlib.sha256).digest()[:16])}"


# --------------------------------------------------------------------------------------------------
# Round trip and format
# --------------------------------------------------------------------------------------------------


def test_signed_token_verifies_with_its_claims(keyring: Keyring, make_token: Callable[..., str]) -> None:
    # Given a respond token for inv_1 that expires in an hour
    token = make_token("inv_1", Purpose.RESPOND, EXPIRES)
    # When it is verified now
    check = verify(keyring, token, Purpose.RESPOND, NOW_EPOCH)
    # Then it is valid and carries exactly the signed claims
    assert check.valid
    assert check.status is TokenStatus.VALID
    assert check.claims == TokenClaims(Purpose.RESPOND, "inv_1", EXPIRES, "k1")


def test_unsubscribe_tokens_round_trip_too(keyring: Keyring, make_token: Callable[..., str]) -> None:
    token = make_token("inv_9", Purpose.UNSUBSCRIBE)
    check = verify(keyring, token, Purpose.UNSUBSCRIBE, NOW_EPOCH)
    assert check.valid
    assert check.claims is not None
    assert check.claims.purpose is Purpose.UNSUBSCRIBE


def test_token_layout_matches_the_documented_format(keyring: Keyring) -> None:
    # Given a token / When it is split / Then it is kid.payload.signature as documented
    token = sign(keyring, Purpose.RESPOND, "inv_1", 1_800_000_000)
    kid, payload, signature = token.split(".")
    assert kid == "k1"
    assert unb64(payload) == b"r:inv_1:1800000000"
    expected = hmac.new(KEY_1, f"{kid}.{payload}".encode(), hashlib.sha256).digest()[:16]
    assert unb64(signature) == expected
    assert token == forge(KEY_1, "k1", payload)
    # URL-safe without escaping: no padding, '+', '/' or '='
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_token_contains_no_pii_only_purpose_invite_id_and_expiry(keyring: Keyring) -> None:
    # Given a token for an invite (ids only: the contact's email never reaches sign())
    token = sign(keyring, Purpose.RESPOND, "inv_abc", EXPIRES)
    # When its payload is decoded / Then it holds exactly purpose, invite id and expiry
    payload = unb64(token.split(".")[1]).decode("ascii")
    assert payload == f"r:inv_abc:{EXPIRES}"
    assert payload.split(":") == ["r", "inv_abc", str(EXPIRES)]


@pytest.mark.parametrize(
    "invite_id",
    ["", "a" * 65, "alice@example.com", "+4915112345678", "inv:1", "inv.1", "inv 1", "invé"],
)
def test_sign_refuses_anything_but_an_opaque_id(keyring: Keyring, invite_id: str) -> None:
    # Given an id that is empty, too long, or looks like contact data / When signed / Then ValueError
    with pytest.raises(ValueError, match="invite ids"):
        sign(keyring, Purpose.RESPOND, invite_id, EXPIRES)


@pytest.mark.parametrize("expires_at", [0, -1])
def test_sign_refuses_a_non_positive_expiry(keyring: Keyring, expires_at: int) -> None:
    with pytest.raises(ValueError, match="expires_at"):
        sign(keyring, Purpose.RESPOND, "inv_1", expires_at)


def test_longest_possible_token_still_fits_the_length_limit() -> None:
    # Given the longest kid (16), the longest invite id (64) and a 10-digit expiry
    ring = Keyring(keys={"K" * 16: KEY_1}, active_kid="K" * 16)
    token = sign(ring, Purpose.UNSUBSCRIBE, "i" * 64, 9_999_999_999)
    # Then the token is short enough to be accepted, and verifies
    assert len(token) <= MAX_TOKEN_LENGTH
    assert verify(ring, token, Purpose.UNSUBSCRIBE, NOW_EPOCH).valid


def test_signing_is_deterministic(keyring: Keyring) -> None:
    a = sign(keyring, Purpose.RESPOND, "inv_1", EXPIRES)
    b = sign(keyring, Purpose.RESPOND, "inv_1", EXPIRES)
    assert a == b
    assert a != sign(keyring, Purpose.RESPOND, "inv_2", EXPIRES)
    assert a != sign(keyring, Purpose.RESPOND, "inv_1", EXPIRES + 1)
    assert a != sign(keyring, Purpose.UNSUBSCRIBE, "inv_1", EXPIRES)


# --------------------------------------------------------------------------------------------------
# Expiry
# --------------------------------------------------------------------------------------------------


def test_token_is_valid_until_just_before_its_expiry(keyring: Keyring, make_token: Callable[..., str]) -> None:
    token = make_token(expires_at=EXPIRES)
    assert verify(keyring, token, Purpose.RESPOND, EXPIRES - 0.001).status is TokenStatus.VALID


@pytest.mark.parametrize("offset", [0, 0.001, 1, 86_400 * 365])
def test_token_is_expired_from_its_expiry_on_and_still_reports_claims(
    keyring: Keyring, make_token: Callable[..., str], offset: float
) -> None:
    # Given a token that expires at EXPIRES / When verified at or after EXPIRES
    check = verify(keyring, make_token(expires_at=EXPIRES), Purpose.RESPOND, EXPIRES + offset)
    # Then it is EXPIRED (not valid), but the signed claims are available (e.g. for a friendly page)
    assert check.status is TokenStatus.EXPIRED
    assert not check.valid
    assert check.claims == TokenClaims(Purpose.RESPOND, "inv_1", EXPIRES, "k1")


# --------------------------------------------------------------------------------------------------
# Tampering and malformed input
# --------------------------------------------------------------------------------------------------


def _assert_invalid(check: TokenCheck) -> None:
    assert check.status is TokenStatus.INVALID
    assert check.claims is None
    assert not check.valid


def test_tampered_payload_is_invalid(keyring: Keyring, make_token: Callable[..., str]) -> None:
    # Given a token whose payload is swapped for another invite's (the signature is left as it was)
    kid, _, signature = make_token("inv_1").split(".")
    other_payload = b64(f"r:inv_2:{EXPIRES}".encode())
    # When verified / Then INVALID
    _assert_invalid(verify(keyring, f"{kid}.{other_payload}.{signature}", Purpose.RESPOND, NOW_EPOCH))


def test_extended_expiry_is_invalid(keyring: Keyring, make_token: Callable[..., str]) -> None:
    # Given an expired token whose expiry was pushed back by editing the payload
    kid, _, signature = make_token(expires_at=NOW_EPOCH - 10).split(".")
    payload = b64(f"r:inv_1:{NOW_EPOCH + 10**6}".encode())
    _assert_invalid(verify(keyring, f"{kid}.{payload}.{signature}", Purpose.RESPOND, NOW_EPOCH))


def test_tampered_signature_is_invalid(keyring: Keyring, make_token: Callable[..., str]) -> None:
    kid, payload, signature = make_token().split(".")
    raw = bytearray(unb64(signature))
    raw[0] ^= 0x01
    _assert_invalid(verify(keyring, f"{kid}.{payload}.{b64(bytes(raw))}", Purpose.RESPOND, NOW_EPOCH))


@pytest.mark.parametrize("keep", [1, 5, 10, -1, -2, -22])
def test_truncated_token_is_invalid(keyring: Keyring, make_token: Callable[..., str], keep: int) -> None:
    token = make_token()
    _assert_invalid(verify(keyring, token[:keep], Purpose.RESPOND, NOW_EPOCH))


@pytest.mark.parametrize("mangle", ["{t}.", ".{t}", "{t}.x", "x.{t}", "{t}..", "{k}..{p}.{s}", "{k}.{p}.{s}.{s}"])
def test_extra_dots_or_parts_are_invalid(keyring: Keyring, make_token: Callable[..., str], mangle: str) -> None:
    token = make_token()
    kid, payload, signature = token.split(".")
    candidate = mangle.format(t=token, k=kid, p=payload, s=signature)
    _assert_invalid(verify(keyring, candidate, Purpose.RESPOND, NOW_EPOCH))


@pytest.mark.parametrize(
    ("signed_for", "used_for"),
    [(Purpose.RESPOND, Purpose.UNSUBSCRIBE), (Purpose.UNSUBSCRIBE, Purpose.RESPOND)],
)
def test_token_for_one_purpose_is_invalid_for_the_other(
    keyring: Keyring, make_token: Callable[..., str], signed_for: Purpose, used_for: Purpose
) -> None:
    # Given a token signed for one purpose / When checked for the other / Then INVALID, even unexpired
    _assert_invalid(verify(keyring, make_token(purpose=signed_for), used_for, NOW_EPOCH))


def test_expired_token_for_the_wrong_purpose_is_invalid_not_expired(
    keyring: Keyring, make_token: Callable[..., str]
) -> None:
    token = make_token(purpose=Purpose.UNSUBSCRIBE, expires_at=NOW_EPOCH - 1)
    _assert_invalid(verify(keyring, token, Purpose.RESPOND, NOW_EPOCH))


def test_unknown_key_id_is_invalid(keyring: Keyring) -> None:
    # Given a token signed by a keyring whose kid the verifier does not know
    other = Keyring(keys={"k9": KEY_1}, active_kid="k9")  # same key bytes, different id
    _assert_invalid(verify(keyring, sign(other, Purpose.RESPOND, "inv_1", EXPIRES), Purpose.RESPOND, NOW_EPOCH))


def test_same_kid_but_wrong_key_is_invalid(keyring: Keyring) -> None:
    # Given a token signed with a different secret under the same kid (e.g. another environment)
    impostor = Keyring(keys={"k1": b"x" * 32}, active_kid="k1")
    _assert_invalid(verify(keyring, sign(impostor, Purpose.RESPOND, "inv_1", EXPIRES), Purpose.RESPOND, NOW_EPOCH))


@pytest.mark.parametrize(
    "token",
    [None, b"k1.abc.def", 42, 4.2, {"token": "x"}, ["k1", "a", "b"], object(), ""],
    ids=["None", "bytes", "int", "float", "dict", "list", "object", "empty"],
)
def test_non_string_or_empty_input_is_invalid(keyring: Keyring, token: object) -> None:
    _assert_invalid(verify(keyring, token, Purpose.RESPOND, NOW_EPOCH))


def test_bytes_of_a_valid_token_are_invalid(keyring: Keyring, make_token: Callable[..., str]) -> None:
    # Given the right token as bytes rather than str / Then INVALID (callers must decode first)
    _assert_invalid(verify(keyring, make_token().encode(), Purpose.RESPOND, NOW_EPOCH))


def test_very_long_input_is_invalid(keyring: Keyring, make_token: Callable[..., str]) -> None:
    token = make_token()
    _assert_invalid(verify(keyring, token + "A" * (MAX_TOKEN_LENGTH + 1), Purpose.RESPOND, NOW_EPOCH))
    _assert_invalid(verify(keyring, "k1." + "A" * 1_000_000 + ".x", Purpose.RESPOND, NOW_EPOCH))


@pytest.mark.parametrize("where", ["kid", "payload", "signature", "suffix"])
def test_non_ascii_input_is_invalid(keyring: Keyring, make_token: Callable[..., str], where: str) -> None:
    kid, payload, signature = make_token().split(".")
    if where == "kid":
        kid = "k\u0661"  # ARABIC-INDIC DIGIT ONE looks like a digit
    elif where == "payload":
        payload = payload[:-1] + "\u00e9"
    elif where == "signature":
        signature = signature[:-1] + "\uff21"  # FULLWIDTH LATIN CAPITAL LETTER A
    else:
        signature += "\u200b"  # ZERO WIDTH SPACE
    _assert_invalid(verify(keyring, f"{kid}.{payload}.{signature}", Purpose.RESPOND, NOW_EPOCH))


def test_non_canonical_base64_signature_is_invalid(keyring: Keyring, make_token: Callable[..., str]) -> None:
    # Given a signature re-spelled with different stray low bits in its last character: 16 bytes are
    # 128 bits, 22 base64 characters carry 132, so the last character's 4 low bits are ignored by a
    # lenient decoder and the re-spelled text decodes to exactly the same bytes
    kid, payload, signature = make_token().split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    respelled = signature[:-1] + alphabet[last ^ 0b0001]
    assert respelled != signature
    assert unb64(respelled) == unb64(signature)  # a lenient decoder cannot tell them apart
    # When verified / Then INVALID: one token has exactly one spelling
    _assert_invalid(verify(keyring, f"{kid}.{payload}.{respelled}", Purpose.RESPOND, NOW_EPOCH))


def test_padded_base64_is_invalid(keyring: Keyring, make_token: Callable[..., str]) -> None:
    kid, payload, signature = make_token().split(".")
    _assert_invalid(verify(keyring, f"{kid}.{payload}.{signature}==", Purpose.RESPOND, NOW_EPOCH))


def test_standard_base64_alphabet_is_invalid(keyring: Keyring) -> None:
    # Given a token whose signature needs '-' or '_' in URL-safe base64, re-spelled with '+' or '/'
    for invite_number in range(200):
        token = sign(keyring, Purpose.RESPOND, f"inv_{invite_number}", EXPIRES)
        kid, payload, signature = token.split(".")
        if "-" in signature or "_" in signature:
            break
    else:  # pragma: no cover - 200 signatures without '-' or '_' is astronomically unlikely
        pytest.fail("no signature with URL-safe characters found")
    standard = signature.replace("-", "+").replace("_", "/")
    _assert_invalid(verify(keyring, f"{kid}.{payload}.{standard}", Purpose.RESPOND, NOW_EPOCH))


@pytest.mark.parametrize(
    "payload_text",
    [
        "r:inv_1",  # two fields
        f"r:inv_1:{EXPIRES}:extra",  # four fields
        f"x:inv_1:{EXPIRES}",  # unknown purpose
        f"r::{EXPIRES}",  # empty invite id
        f"r:alice@example.com:{EXPIRES}",  # not an id
        "r:inv_1:",  # no expiry
        "r:inv_1:-5",  # negative expiry
        "r:inv_1:1e12",  # not digits
        "r:inv_1:\u0663\u0663",  # non-ASCII digits (as raw UTF-8 bytes)
    ],
)
def test_correctly_signed_but_malformed_payload_is_invalid(keyring: Keyring, payload_text: str) -> None:
    # Given a payload that is properly signed with our key but was not produced by sign()
    token = forge(KEY_1, "k1", b64(payload_text.encode("utf-8")))
    # When verified / Then INVALID rather than an exception or a valid check
    _assert_invalid(verify(keyring, token, Purpose.RESPOND, NOW_EPOCH))


def test_correctly_signed_non_canonical_payload_is_invalid(keyring: Keyring) -> None:
    # Given the canonical payload and a re-spelling of it with stray bits (same decoded bytes)
    text = f"r:inv_12:{EXPIRES}".encode()  # 19 bytes: the last base64 character has 4 stray bits
    assert len(text) % 3 == 1
    canonical = b64(text)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled = canonical[:-1] + alphabet[alphabet.index(canonical[-1]) ^ 0b0001]
    assert unb64(respelled) == text
    # When both are signed with our key / Then only the canonical spelling is accepted
    assert verify(keyring, forge(KEY_1, "k1", canonical), Purpose.RESPOND, NOW_EPOCH).valid
    _assert_invalid(verify(keyring, forge(KEY_1, "k1", respelled), Purpose.RESPOND, NOW_EPOCH))


# --------------------------------------------------------------------------------------------------
# Key rotation and the keyring
# --------------------------------------------------------------------------------------------------


def test_rotation_signs_with_the_new_key_and_still_accepts_the_old_one(
    keyring: Keyring, rotated_keyring: Keyring
) -> None:
    # Given a link sent before rotation (signed with k1) and the keyring after rotation (active k2, k1 kept)
    old_link = sign(keyring, Purpose.RESPOND, "inv_1", EXPIRES)
    new_link = sign(rotated_keyring, Purpose.RESPOND, "inv_2", EXPIRES)
    # Then new links use k2, and both old and new links verify
    assert new_link.startswith("k2.")
    old_check = verify(rotated_keyring, old_link, Purpose.RESPOND, NOW_EPOCH)
    assert old_check.valid
    assert old_check.claims is not None
    assert old_check.claims.kid == "k1"
    assert verify(rotated_keyring, new_link, Purpose.RESPOND, NOW_EPOCH).valid


def test_links_signed_with_a_retired_key_stop_working(keyring: Keyring) -> None:
    # Given a k1 link and a keyring from which k1 has been removed
    old_link = sign(keyring, Purpose.RESPOND, "inv_1", EXPIRES)
    retired = Keyring(keys={"k2": KEY_2}, active_kid="k2")
    # Then the old link is INVALID
    _assert_invalid(verify(retired, old_link, Purpose.RESPOND, NOW_EPOCH))


def test_a_token_cannot_be_moved_to_another_kid(rotated_keyring: Keyring) -> None:
    # Given a k2 token relabelled as k1 (both kids exist in the keyring)
    token = sign(rotated_keyring, Purpose.RESPOND, "inv_1", EXPIRES)
    relabelled = "k1" + token[2:]
    _assert_invalid(verify(rotated_keyring, relabelled, Purpose.RESPOND, NOW_EPOCH))


def test_keyring_rejects_a_key_shorter_than_32_bytes() -> None:
    Keyring(keys={"k1": b"x" * 32}, active_kid="k1")  # exactly 32 is fine
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Keyring(keys={"k1": b"x" * 31}, active_kid="k1")


def test_keyring_rejects_a_short_retired_key_too() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Keyring(keys={"k1": b"x" * 32, "k0": b"short"}, active_kid="k1")


@pytest.mark.parametrize("kid", ["", "k.1", "k 1", "k:1", "K" * 17, "kid/1", "k\u00e9"])
def test_keyring_rejects_a_bad_key_id(kid: str) -> None:
    with pytest.raises(ValueError, match="key id"):
        Keyring(keys={kid: KEY_1}, active_kid=kid)


def test_keyring_rejects_an_active_kid_that_is_not_in_the_keys() -> None:
    with pytest.raises(ValueError, match="active key id"):
        Keyring(keys={"k1": KEY_1}, active_kid="k2")


def test_keyring_from_secret_reads_the_secrets_manager_json() -> None:
    # Given the secret as stored: an 'active' kid plus one entry per key (a non-string value is skipped)
    secret: dict[str, object] = {"active": "k2", "k1": "a" * 32, "k2": "b" * 40, "version": 3}
    # When the keyring is built
    ring = Keyring.from_secret(secret)
    # Then the keys are UTF-8 bytes and k2 is active; the stray entry is reported, not used
    assert ring.active_kid == "k2"
    assert dict(ring.keys) == {"k1": b"a" * 32, "k2": b"b" * 40}
    assert [r.name for r in ring.rejected] == ["'version'"]
    assert sign(ring, Purpose.RESPOND, "inv_1", EXPIRES).startswith("k2.")


@pytest.mark.parametrize(
    "secret",
    [
        {"k1": "a" * 32},  # no active
        {"active": 1, "k1": "a" * 32},  # active is not a string
        {"active": "k2", "k1": "a" * 32},  # active key missing
        {"active": "k1", "k1": "short"},  # key too short
        {"active": "k1", "k1": 12345678901234567890123456789012345},  # key is not a string
        {"active": "k.1", "k.1": "a" * 32, "k2": "b" * 32},  # the active key's id is malformed
    ],
)
def test_keyring_from_secret_rejects_a_secret_whose_active_key_is_unusable(secret: dict[str, object]) -> None:
    with pytest.raises(KeyringError, match="active"):
        Keyring.from_secret(secret)


# --------------------------------------------------------------------------------------------------
# Properties: verify never raises and is never fooled
# --------------------------------------------------------------------------------------------------

TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
PROPERTY_RING = Keyring(keys={"k1": KEY_1, "k2": KEY_2}, active_kid="k1")
PROPERTY_TOKEN = sign(PROPERTY_RING, Purpose.RESPOND, "inv_property", EXPIRES)


@HYPOTHESIS
@given(
    st.one_of(
        st.text(max_size=400),
        st.text(alphabet=TOKEN_ALPHABET, max_size=300),
        st.builds(
            lambda kid, payload, signature: f"{kid}.{payload}.{signature}",
            st.sampled_from(["k1", "k2", "k3", ""]),
            st.text(alphabet=TOKEN_ALPHABET[:-1], max_size=120),
            st.text(alphabet=TOKEN_ALPHABET[:-1], min_size=20, max_size=24),
        ),
        st.binary(max_size=300),
        st.integers(),
        st.floats(allow_nan=True),
        st.none(),
        st.lists(st.text(max_size=5), max_size=3),
        st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    ),
    st.sampled_from(list(Purpose)),
)
def test_random_input_never_raises_and_is_never_valid(token: object, purpose: Purpose) -> None:
    # Given arbitrary text, token-shaped text, bytes or other objects
    # When verified / Then a TokenCheck comes back (no exception) and it is never VALID or EXPIRED
    check = verify(PROPERTY_RING, token, purpose, NOW_EPOCH)
    assert isinstance(check, TokenCheck)
    assert check.status is TokenStatus.INVALID
    assert check.claims is None


@HYPOTHESIS
@given(data=st.data())
def test_single_character_mutations_of_a_valid_token_are_never_valid(data: st.DataObject) -> None:
    # Given a valid token (sanity-checked) and one edit: replace, delete or insert one character
    assert verify(PROPERTY_RING, PROPERTY_TOKEN, Purpose.RESPOND, NOW_EPOCH).valid
    token = PROPERTY_TOKEN
    index = data.draw(st.integers(0, len(token) - 1), label="index")
    operation = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="operation")
    character = data.draw(st.one_of(st.sampled_from(TOKEN_ALPHABET), st.characters(codec="utf-8")), label="character")
    if operation == "replace":
        mutated = token[:index] + character + token[index + 1 :]
    elif operation == "delete":
        mutated = token[:index] + token[index + 1 :]
    else:
        mutated = token[:index] + character + token[index:]
    if mutated == token:
        return  # replacing a character by itself is not a mutation
    # When verified / Then never VALID (and never EXPIRED: the signature no longer matches)
    check = verify(PROPERTY_RING, mutated, Purpose.RESPOND, NOW_EPOCH)
    assert check.status is TokenStatus.INVALID


def test_every_single_character_replacement_of_a_valid_token_is_invalid() -> None:
    # Given the valid token / When each position is replaced by every other token character
    # Then none of the ~7 000 variants verifies (exhaustive complement to the property test above)
    token = PROPERTY_TOKEN
    for index, original in enumerate(token):
        for character in TOKEN_ALPHABET:
            if character == original:
                continue
            mutated = token[:index] + character + token[index + 1 :]
            check = verify(PROPERTY_RING, mutated, Purpose.RESPOND, NOW_EPOCH)
            assert check.status is TokenStatus.INVALID, (index, character)
