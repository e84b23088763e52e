"""Cells a spreadsheet would run as a formula get a leading apostrophe; everything else is unchanged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.spreadsheets import safe_cell


def test_formula_like_cells_are_neutralised() -> None:
    # Given cells a spreadsheet would evaluate / When written / Then they start with an apostrophe
    assert safe_cell('=HYPERLINK("https://evil.example","x")') == '\'=HYPERLINK("https://evil.example","x")'
    assert safe_cell("+1-2") == "'+1-2"
    assert safe_cell("-3") == "'-3"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("Zürich") == "Zürich"
    assert safe_cell("") == ""


@given(st.text())
def test_no_cell_comes_out_starting_a_formula_and_text_is_kept(value: str) -> None:
    cell = safe_cell(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.removeprefix("'") == value or cell == value
