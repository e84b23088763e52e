"""nps.kernel.spreadsheets: no CSV cell starts a formula, under ``,`` or ``;`` splitting."""

from __future__ import annotations

import csv
import io
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.spreadsheets import BOM, safe_cell, starts_formula, writer

FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r", "\uff1d"]


def written(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    out = writer(buffer)
    for row in rows:
        out.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def cells(text: str, delimiter: str) -> list[str]:
    """Every cell a spreadsheet splitting on ``delimiter`` (honouring quotes) would see."""
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_comment_with_a_formula_after_a_semicolon_starts_no_formula_cell(delimiter: str) -> None:
    # Given the comment of the bug report, written as the export writes it
    text = written([["inv-1", "good;=1+2"]])
    # Then it is quoted, the formula after the separator is defused, and no cell starts a formula
    assert text == '"inv-1","good;\'=1+2"\r\n'
    assert not any(starts_formula(cell) for cell in cells(text, delimiter))


def test_splitting_on_the_file_separator_gives_each_value_back() -> None:
    assert cells(written([["inv-1", "good;=1+2", "a, b"]]), ",") == ["inv-1", "good;'=1+2", "a, b"]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_cell_starting_a_formula_gets_an_apostrophe(start: str) -> None:
    assert safe_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


def test_ordinary_text_is_unchanged() -> None:
    assert safe_cell("Zürich, 9/10") == "Zürich, 9/10"
    assert safe_cell("") == ""
    assert BOM.encode("utf-8") == b"\xef\xbb\xbf"


def runs_formula(cell: str) -> bool:
    """A formula once a spreadsheet drops the tabs and line breaks a misaligned split leaves in front."""
    return starts_formula(cell.lstrip("\t\r\n"))


@given(st.lists(st.lists(st.text(), min_size=1, max_size=5), min_size=1, max_size=5))
def test_no_cell_starts_a_formula_under_either_separator(rows: list[list[str]]) -> None:
    text = written(rows)
    # Split on the file's own separator, every cell is one whole value: none starts a formula
    assert not any(starts_formula(cell) for cell in cells(text, ","))
    # Split on ";" the quotes no longer line up with the values: still no cell runs a formula
    assert not any(runs_formula(cell) for cell in cells(text, ";"))


@given(st.lists(st.lists(st.text(), min_size=1, max_size=5), min_size=1, max_size=5))
def test_every_value_reads_back_as_written_whatever_it_contains(rows: list[list[str]]) -> None:
    # csv normalises no line ending inside a quoted field, so a comment reads back exactly
    read = list(csv.reader(io.StringIO(written(rows), newline="")))
    assert read == [[safe_cell(cell) for cell in row] for row in rows]


@given(st.text())
def test_a_safe_cell_is_the_value_without_controls_with_apostrophes_added_only(value: str) -> None:
    safe = safe_cell(value)
    controls = {c for c in value if unicodedata.category(c) == "Cc" and c not in "\t\r\n"}
    assert safe.replace("'", "") == "".join(c for c in value if c not in controls).replace("'", "")
    assert safe_cell(safe) == safe


@given(st.text(), st.sampled_from(["=", "+", "-", "@"]), st.sampled_from(["", ";", ",", "\t", "\n"]))
def test_no_control_character_or_space_hides_a_formula_start(prefix: str, formula: str, separator: str) -> None:
    # Given a formula after a separator, behind control characters, spaces or a quote that a terminal,
    # a viewer or a spreadsheet drops
    for hiding in ("\x00", "\x1b", "\x7f", "\x85", " ", "\u3000", '"', "  \x1b"):
        cell = safe_cell(f"{prefix}{separator}{hiding}{formula}1+2")
        # Then every place a cell can start, once controls, spaces and quotes are dropped, is defused
        for piece in re.split(r"[,;\t\r\n]", cell):
            shown = "".join(c for c in piece if unicodedata.category(c) != "Cc").lstrip(' "\u3000')
            assert not starts_formula(shown), (prefix, separator, hiding, cell)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('\x1b[0m=HYPERLINK("http://evil","x")', '[0m=HYPERLINK("http://evil","x")'),
        ("\x00=1+2", "'=1+2"),
        ("ok;\x7f=1+2", "ok;'=1+2"),
        ('good;"=1+2', "good;'\"=1+2"),
        ("x\t=1+2", "x\t'=1+2"),
        ("  =1+2", "'  =1+2"),
    ],
)
def test_the_reviewed_examples_are_defused(value: str, safe: str) -> None:
    assert safe_cell(value) == safe


def test_the_contact_import_reports_examples_are_neutralised() -> None:
    # Given cells a spreadsheet would evaluate (from rejected import rows) / Then they start with an apostrophe
    assert safe_cell('=HYPERLINK("https://evil.example","x")') == '\'=HYPERLINK("https://evil.example","x")'
    assert safe_cell("+1-2") == "'+1-2"
    assert safe_cell("-3") == "'-3"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("Zürich") == "Zürich"
    assert safe_cell("") == ""
