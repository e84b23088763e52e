"""Bidirectional controls never reach the terminal: they would reorder how a printed line reads."""

from __future__ import annotations

import pytest

from nps.cli.terminal import printable


@pytest.mark.parametrize("control", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u061c"])
def test_bidirectional_controls_are_stripped(control: str) -> None:
    assert printable(f"contact {control}evil{control} id") == "contact evil id"
