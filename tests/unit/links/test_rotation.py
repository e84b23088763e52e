"""nps.links.rotation: a rotation adds an active key and keeps the others; a retirement removes one that is
not active; tokens signed under a kept id keep verifying."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.links.rotation import KeyIds, RotationError, next_key_id, retired, rotated
from nps.links.tokens import Keyring, Purpose, TokenStatus, sign, verify

OLD_KEY = "o" * 40


def test_rotation_adds_the_next_id_active_and_keeps_the_old_key() -> None:
    secret = {"active": "s1", "s1": OLD_KEY}
    new = rotated(secret)
    assert new["active"] == "s2"
    assert new["s1"] == OLD_KEY
    assert isinstance(new["s2"], str)
    assert len(new["s2"]) == 64
    assert secret == {"active": "s1", "s1": OLD_KEY}  # the input is not changed


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ({"active": "k9", "k9": OLD_KEY, "k10": OLD_KEY}, "k11"),
        ({"active": "main", "main": OLD_KEY}, "main2"),
        ({"active": "s1", "s1": OLD_KEY, "x7": OLD_KEY}, "s2"),
    ],
)
def test_the_next_id_follows_the_active_ids_prefix(secret: dict[str, object], expected: str) -> None:
    assert next_key_id(secret) == expected


@pytest.mark.parametrize(
    ("secret", "kid"),
    [
        ({"active": "s1", "s1": OLD_KEY}, "s1"),  # taken
        ({"active": "s1", "s1": OLD_KEY}, "has space"),  # not a key id
        ({"active": "s1"}, None),  # no active key
        ({"s1": OLD_KEY}, None),  # no active entry
        ({"active": "abcdefghijklmnop", "abcdefghijklmnop": OLD_KEY}, None),  # no next id fits 16 characters
    ],
)
def test_a_rotation_that_cannot_be_made_says_why(secret: dict[str, object], kid: str | None) -> None:
    with pytest.raises(RotationError):
        rotated(secret, kid)


def test_retiring_removes_one_id_but_never_the_active_one_or_an_unknown_one() -> None:
    secret = rotated({"active": "s1", "s1": OLD_KEY})
    assert KeyIds.of(retired(secret, "s1")) == KeyIds("s2", ("s2",))
    with pytest.raises(RotationError, match="active"):
        retired(secret, "s2")
    with pytest.raises(RotationError, match="no key id"):
        retired(secret, "s9")


@given(st.integers(min_value=1, max_value=6))
def test_tokens_verify_through_every_rotation_until_their_key_is_retired(rotations: int) -> None:
    # Given a token signed under the first key
    secret: dict[str, object] = {"active": "s1", "s1": OLD_KEY}
    token = sign(Keyring.from_secret(secret), Purpose.RESPOND, "inv-1", 2_000_000_000)
    # When the keyring rotates any number of times, the token keeps verifying
    for _ in range(rotations):
        secret = rotated(secret)
        assert verify(Keyring.from_secret(secret), token, Purpose.RESPOND, 0).status is TokenStatus.VALID
    # Then once its key is retired it is invalid, and the active key signs new tokens
    secret = retired(secret, "s1")
    assert verify(Keyring.from_secret(secret), token, Purpose.RESPOND, 0).status is TokenStatus.INVALID
    assert Keyring.from_secret(secret).active_kid == f"s{rotations + 1}"
