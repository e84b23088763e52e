"""Contact tokens: minted with a survey's site secret, refused when forged, expired, foreign or oversized."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.channels.site_tokens import (
    MAX_LIFETIME_SECONDS,
    MAX_TOKEN_LENGTH,
    ContactTokenStatus,
    ask_keyring,
    mint,
    printable_site_secret,
    site_secret,
    verify_contact_token,
)
from nps.links.tokens import Keyring, Purpose, TokenStatus, sign, verify

NOW = 1_800_000_000
MASTER = Keyring(keys={"s1": b"m" * 40, "s2": b"n" * 40}, active_kid="s2")


def token(survey: str = "survey-a", contact: str = "c-1", exp: int = NOW + 600, **claims: object) -> str:
    return mint(printable_site_secret(MASTER, survey), survey, contact, exp, **claims)  # type: ignore[arg-type]


def test_a_minted_token_verifies_with_its_claims() -> None:
    check = verify_contact_token(MASTER, token(locale="de", attributes={"plan": "pro"}), "survey-a", NOW)
    assert check.status is ContactTokenStatus.VALID
    assert check.claims is not None
    assert (check.claims.contact_id, check.claims.locale, dict(check.claims.attributes)) == (
        "c-1",
        "de",
        {"plan": "pro"},
    )
    assert check.claims.kid == "s2"


def test_each_survey_has_its_own_secret_and_each_key_id_too() -> None:
    assert site_secret(MASTER, "survey-a") != site_secret(MASTER, "survey-b")
    assert site_secret(MASTER, "survey-a", "s1") != site_secret(MASTER, "survey-a", "s2")
    assert printable_site_secret(MASTER, "survey-a").startswith("s2.")


def test_a_token_under_an_older_key_id_still_verifies_while_the_key_is_in_the_keyring() -> None:
    old = mint(f"s1.{site_secret(MASTER, 'survey-a', 's1')}", "survey-a", "c-1", NOW + 60)
    assert verify_contact_token(MASTER, old, "survey-a", NOW).valid
    rotated = Keyring(keys={"s2": MASTER.keys["s2"]}, active_kid="s2")
    assert verify_contact_token(rotated, old, "survey-a", NOW).status is ContactTokenStatus.INVALID


def test_a_token_signed_with_another_surveys_secret_is_forged() -> None:
    # The payload names survey-a, but the signature is survey-b's secret: a team holding one secret
    # cannot speak for another survey.
    forged = mint(printable_site_secret(MASTER, "survey-b"), "survey-a", "c-1", NOW + 60)
    assert verify_contact_token(MASTER, forged, "survey-a", NOW).status is ContactTokenStatus.INVALID


def test_a_good_token_for_another_survey_is_wrong_survey() -> None:
    check = verify_contact_token(MASTER, token("survey-b"), "survey-a", NOW)
    assert check.status is ContactTokenStatus.WRONG_SURVEY


def test_an_expired_token_is_expired() -> None:
    assert verify_contact_token(MASTER, token(exp=NOW), "survey-a", NOW).status is ContactTokenStatus.EXPIRED


def test_a_token_living_longer_than_a_day_is_invalid() -> None:
    far = token(exp=NOW + MAX_LIFETIME_SECONDS + 3600)
    assert verify_contact_token(MASTER, far, "survey-a", NOW).status is ContactTokenStatus.INVALID


def test_an_unknown_key_id_is_invalid() -> None:
    other = mint("s9." + "x" * 43, "survey-a", "c-1", NOW + 60)
    assert verify_contact_token(MASTER, other, "survey-a", NOW).status is ContactTokenStatus.INVALID


@pytest.mark.parametrize(
    "bad",
    [
        None,
        42,
        "",
        "v1.s2.x",
        "v2" + token()[2:],
        "v1.s2." + "A" * MAX_TOKEN_LENGTH,
        token() + "=",
        token().replace(".", "..", 1),
    ],
)
def test_malformed_or_oversized_tokens_are_invalid(bad: object) -> None:
    assert verify_contact_token(MASTER, bad, "survey-a", NOW).status is ContactTokenStatus.INVALID


def _signed_payload(claims: dict[str, object], survey: str = "survey-a") -> str:
    """A correctly signed token over arbitrary claims (what a team's buggy backend might send)."""
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    signed = f"v1.s2.{payload}"
    key = site_secret(MASTER, survey).encode()
    signature = base64.urlsafe_b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).rstrip(b"=")
    return f"{signed}.{signature.decode()}"


@pytest.mark.parametrize(
    "claims",
    [
        {"s": "survey-a", "c": "c 1", "exp": NOW + 60},  # contact id outside the id pattern
        {"s": "survey-a", "c": "c-1", "exp": "soon"},
        {"s": "survey-a", "c": "c-1", "exp": True},
        {"s": "survey-a", "c": "c-1", "exp": NOW + 60, "x": 1},  # unknown claim
        {"s": "survey-a", "c": "c-1", "exp": NOW + 60, "a": {"Plan": "pro"}},
        {"s": "survey-a", "c": "c-1", "exp": NOW + 60, "a": {"plan": "x" * 257}},
        {"s": "survey-a", "c": "c-1", "exp": NOW + 60, "a": {f"d{i}": "v" for i in range(21)}},
        {"s": "survey-a", "c": "c-1", "exp": NOW + 60, "l": "<script>"},
        {"s": "survey-a", "c": "c-1", "exp": NOW + 60, "a": {"plan": "pro\n"}},  # a control character
        {"s": "survey-a", "c": "c-1", "exp": NOW + 60, "a": {"plan": "\u202eorp"}},  # a bidi override
        {"s": "survey-a", "c": "c-1", "exp": NOW + 60, "a": {"plan": "pro\u200b"}},  # zero-width space
    ],
)
def test_signed_claims_of_the_wrong_shape_are_invalid(claims: dict[str, object]) -> None:
    assert verify_contact_token(MASTER, _signed_payload(claims), "survey-a", NOW).status is ContactTokenStatus.INVALID


ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=64)


@given(survey=ids, contact=ids, lifetime=st.integers(min_value=1, max_value=MAX_LIFETIME_SECONDS))
def test_round_trip_any_ids(survey: str, contact: str, lifetime: int) -> None:
    minted = token(survey, contact, NOW + lifetime)
    check = verify_contact_token(MASTER, minted, survey, NOW)
    assert check.valid
    assert check.claims is not None
    assert (check.claims.survey_id, check.claims.contact_id, check.claims.expires_at) == (
        survey,
        contact,
        NOW + lifetime,
    )


@given(position=st.integers(min_value=0), replacement=st.characters(min_codepoint=33, max_codepoint=126))
def test_changing_any_one_character_never_yields_a_valid_token(position: int, replacement: str) -> None:
    original = token(attributes={"plan": "pro"})
    index = position % len(original)
    tampered = original[:index] + replacement + original[index + 1 :]
    if tampered == original:
        return
    check = verify_contact_token(MASTER, tampered, "survey-a", NOW)
    assert not check.valid


# -- ask tokens' keyring ---------------------------------------------------------------------------
def test_the_ask_keyring_is_derived_per_key_id_and_differs_from_every_site_key_and_secret() -> None:
    master = Keyring({"s1": b"a" * 40, "s2": b"b" * 40}, "s2")
    asks = ask_keyring(master)
    assert set(asks.keys) == {"s1", "s2"}
    assert asks.active_kid == "s2"
    assert asks == ask_keyring(master)  # deterministic: every instance verifies every other's tokens
    for kid, key in asks.keys.items():
        assert key != master.keys[kid]
        assert key.hex() != site_secret(master, "s", kid)
        assert len(key) == 32
    assert asks.keys["s1"] != asks.keys["s2"]


def test_ask_tokens_in_flight_survive_a_rotation_of_the_site_keys() -> None:
    before = Keyring({"s1": b"a" * 40}, "s1")
    token = sign(ask_keyring(before), Purpose.WEB, "web-x", 2_000_000_000)
    after = Keyring({"s1": b"a" * 40, "s2": b"b" * 40}, "s2")
    assert verify(ask_keyring(after), token, Purpose.WEB, 1_900_000_000).status is TokenStatus.VALID
    retired = Keyring({"s2": b"b" * 40}, "s2")
    assert verify(ask_keyring(retired), token, Purpose.WEB, 1_900_000_000).status is TokenStatus.INVALID
