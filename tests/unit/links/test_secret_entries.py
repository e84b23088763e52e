"""Secrets holding text that is valid JSON but no key (a lone surrogate) are refused like any bad entry."""

from __future__ import annotations

import pytest

from nps.links.pseudonyms import IdKey, IdKeyError
from nps.links.tokens import Keyring, Purpose, sign, verify

GOOD = "k" * 40


def test_a_keyring_entry_with_a_lone_surrogate_is_skipped_and_the_good_keys_keep_working() -> None:
    keyring = Keyring.from_secret({"active": "k1", "k1": GOOD, "k2": "\ud800" * 40})
    assert [rejected.name for rejected in keyring.rejected] == ["'k2'"]
    token = sign(keyring, Purpose.RESPOND, "inv-1", 2_000_000_000)
    assert verify(keyring, token, Purpose.RESPOND, 1_000_000_000).claims is not None


def test_an_id_key_with_a_lone_surrogate_is_an_id_key_error() -> None:
    with pytest.raises(IdKeyError, match="lone surrogate"):
        IdKey.from_secret({"key": "\ud800" * 40})
