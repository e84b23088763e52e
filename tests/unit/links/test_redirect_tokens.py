"""Referral/review redirect tokens: the invite and the target kind are signed; the address never travels."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.accounts.referrals import TARGETS
from nps.links.tokens import REDIRECT_TARGETS, Keyring, Purpose, TokenStatus, sign, verify

KEYRING = Keyring(keys={"k1": b"a" * 40, "k2": b"b" * 40}, active_kid="k1")
IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
NOW = 1_800_000_000


def test_the_tokens_targets_are_the_ones_the_counters_know() -> None:
    assert REDIRECT_TARGETS == TARGETS


@given(IDS, st.sampled_from(REDIRECT_TARGETS))
def test_a_redirect_token_names_its_invite_and_target(invite_id: str, target: str) -> None:
    check = verify(KEYRING, sign(KEYRING, Purpose.REDIRECT, invite_id, NOW + 60, target), Purpose.REDIRECT, NOW)
    assert check.status is TokenStatus.VALID
    assert check.claims is not None
    assert (check.claims.invite_id, check.claims.target) == (invite_id, target)


@given(IDS, st.sampled_from(REDIRECT_TARGETS))
def test_a_redirect_token_is_no_other_purposes_and_no_other_purpose_is_a_redirect(invite_id: str, target: str) -> None:
    redirect = sign(KEYRING, Purpose.REDIRECT, invite_id, NOW + 60, target)
    respond = sign(KEYRING, Purpose.RESPOND, invite_id, NOW + 60)
    for purpose in (Purpose.RESPOND, Purpose.UNSUBSCRIBE, Purpose.WEB):
        assert verify(KEYRING, redirect, purpose, NOW).status is TokenStatus.INVALID
    assert verify(KEYRING, respond, Purpose.REDIRECT, NOW).status is TokenStatus.INVALID


def test_switching_the_target_breaks_the_signature() -> None:
    token = sign(KEYRING, Purpose.REDIRECT, "inv-1", NOW + 60, "referral")
    kid, payload, signature = token.split(".")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    swapped = base64.urlsafe_b64encode(text.replace("referral", "review").encode()).rstrip(b"=").decode()
    assert verify(KEYRING, f"{kid}.{swapped}.{signature}", Purpose.REDIRECT, NOW).status is TokenStatus.INVALID


def test_an_expired_redirect_token_is_expired_and_still_names_its_invite() -> None:
    check = verify(KEYRING, sign(KEYRING, Purpose.REDIRECT, "inv-1", NOW, "review"), Purpose.REDIRECT, NOW)
    assert check.status is TokenStatus.EXPIRED
    assert check.claims is not None
    assert check.claims.invite_id == "inv-1"


@pytest.mark.parametrize(
    ("purpose", "target"),
    [(Purpose.REDIRECT, None), (Purpose.REDIRECT, "https://evil.example"), (Purpose.RESPOND, "referral")],
)
def test_a_redirect_needs_a_known_target_and_other_tokens_take_none(purpose: Purpose, target: str | None) -> None:
    with pytest.raises(ValueError, match="redirect token"):
        sign(KEYRING, purpose, "inv-1", NOW + 60, target)


@given(st.text(max_size=300))
def test_verifying_any_text_as_a_redirect_never_raises(text: str) -> None:
    assert verify(KEYRING, text, Purpose.REDIRECT, NOW).status in (TokenStatus.INVALID, TokenStatus.VALID)


def test_a_token_signed_with_a_foreign_key_is_invalid() -> None:
    foreign = Keyring(keys={"k1": b"c" * 40}, active_kid="k1")
    token = sign(foreign, Purpose.REDIRECT, "inv-1", NOW + 60, "referral")
    assert verify(KEYRING, token, Purpose.REDIRECT, NOW).status is TokenStatus.INVALID
