"""``is_id``: the contract's id (1–64 letters, digits, ``_`` or ``-``), matched whole."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.events.details import is_id
from nps.events.names import ID_PATTERN


@pytest.mark.parametrize("value", ["abc\n", "abc\r\n", "\nabc", "a" * 65, "", "é", "a b", None, 7])
def test_a_value_outside_the_contract_is_not_an_id(value: object) -> None:
    # A trailing line break passes re.match with "$"; the contract (pydantic's pattern) refuses it
    assert not is_id(value)


@given(st.text(max_size=70))
def test_is_id_agrees_with_the_contract_pattern_matched_whole(value: str) -> None:
    assert is_id(value) == (re.fullmatch(ID_PATTERN, value) is not None)
