"""One bad entry in the signing secret must not break every link: it is skipped, reported, and the rest work."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps.links.tokens import Keyring, KeyringError, Purpose, TokenStatus, key_problem, sign, verify
from tests.support.fakes import KEY_1, KEY_2, NOW_EPOCH

EXPIRES = NOW_EPOCH + 3600
GOOD_K1 = KEY_1.decode()
GOOD_K2 = KEY_2.decode()


def test_a_badly_named_key_is_skipped_and_the_good_keys_keep_verifying_links() -> None:
    # Given the reported secret: the active key k1, a retired k2, and a key someone named "k3 (2024)"
    secret: dict[str, object] = {"active": "k1", "k1": GOOD_K1, "k2": GOOD_K2, "k3 (2024)": "c" * 48}
    before = Keyring(keys={"k1": KEY_1, "k2": KEY_2}, active_kid="k2")
    old_link = sign(before, Purpose.RESPOND, "inv_1", EXPIRES)
    # When the keyring is built
    ring = Keyring.from_secret(secret)
    # Then it is built (no error, so no 500), the bad entry is reported by name and reason, not used
    assert set(ring.keys) == {"k1", "k2"}
    assert [(r.name, r.reason) for r in ring.rejected] == [
        ("'k3 (2024)'", "the key id must be 1-16 characters of A-Z a-z 0-9 _ -")
    ]
    # And new links (k1) and links already in inboxes (k2) verify
    assert verify(ring, sign(ring, Purpose.RESPOND, "inv_2", EXPIRES), Purpose.RESPOND, NOW_EPOCH).valid
    assert verify(ring, old_link, Purpose.RESPOND, NOW_EPOCH).status is TokenStatus.VALID


def test_a_short_or_non_string_retired_key_is_skipped_too() -> None:
    ring = Keyring.from_secret({"active": "k1", "k1": GOOD_K1, "k0": "short", "k9": ["not", "a", "key"]})
    assert set(ring.keys) == {"k1"}
    assert {r.name: r.reason for r in ring.rejected} == {
        "'k0'": "the key must be at least 32 bytes",
        "'k9'": "the key must be a string",
    }


def test_an_unusable_active_key_fails_loudly_with_the_reason() -> None:
    with pytest.raises(KeyringError, match=r"the active signing key 'k1' is unusable: .*at least 32 bytes"):
        Keyring.from_secret({"active": "k1", "k1": "short", "k2": GOOD_K2})
    with pytest.raises(KeyringError, match=r"'k9' is unusable: no key has that id"):
        Keyring.from_secret({"active": "k9", "k1": GOOD_K1})


def test_a_rejected_name_that_may_be_a_pasted_key_is_not_echoed() -> None:
    # A 64-character name is more likely a key pasted in the wrong place than a key id: never log it.
    pasted = "Zx" * 32
    ring = Keyring.from_secret({"active": "k1", "k1": GOOD_K1, pasted: GOOD_K2})
    assert ring.rejected[0].name == "(a name of 64 characters)"
    assert pasted not in repr(ring)


_ENTRY_NAMES = st.one_of(st.text(max_size=20), st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True))
_ENTRY_VALUES = st.one_of(
    st.text(max_size=60), st.integers(), st.none(), st.booleans(), st.lists(st.integers(), max_size=2)
)


@settings(max_examples=300, deadline=None, database=None)
@given(extra=st.dictionaries(_ENTRY_NAMES, _ENTRY_VALUES, max_size=6))
def test_any_other_entries_never_stop_the_active_key(extra: dict[str, object]) -> None:
    # Given a usable active key plus any other entries at all
    secret = {**{k: v for k, v in extra.items() if k not in ("active", "k1")}, "active": "k1", "k1": GOOD_K1}
    # When the keyring is built
    ring = Keyring.from_secret(secret)
    # Then exactly the well-formed entries are keys, every other one is reported once
    usable = {
        name
        for name, value in secret.items()
        if name != "active" and isinstance(value, str) and key_problem(name, value.encode()) is None
    }
    assert set(ring.keys) == usable
    assert len(ring.rejected) == len(secret) - 1 - len(usable)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,16}", kid) for kid in ring.keys)
    # And a link signed now verifies
    assert verify(ring, sign(ring, Purpose.RESPOND, "inv_p", EXPIRES), Purpose.RESPOND, NOW_EPOCH).valid
