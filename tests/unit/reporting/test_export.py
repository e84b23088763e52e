"""nps.reporting.export: the CSV export opens safely in a spreadsheet (BOM, quoting, no formula cell)."""

from __future__ import annotations

import csv
import io

import pytest

from nps.kernel.spreadsheets import starts_formula
from nps.reporting.adapters.reads import StoredResponse
from nps.reporting.export import to_csv


def response(comment: str, plan: str = "pro") -> StoredResponse:
    return StoredResponse(
        "inv-1", "pulse", "w-1", "c-1", "email", "de", 9, "promoter", "2026-03-01T10:00:00.000Z",
        "2026-03-01T10:00:00.000Z", comment, "2026-03-01T10:01:00.000Z", {"city": plan},
    )  # fmt: skip


def test_the_export_starts_with_a_byte_order_mark_so_excel_shows_zurich() -> None:
    body, rows = to_csv([response("gut", plan="Zürich")], ["city"])
    assert rows == 1
    data = body.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    assert "Zürich" in data.decode("utf-8-sig")


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_comment_good_semicolon_formula_is_no_formula_cell_under_either_separator(delimiter: str) -> None:
    body, _ = to_csv([response("good;=1+2"), response('=HYPERLINK("http://x")'), response("-2+3")], ["city"])
    text = body.removeprefix("\ufeff")
    assert '"good;\'=1+2"' in text
    cells = [c for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for c in row]
    assert not any(starts_formula(c) for c in cells)


def test_every_field_is_quoted_and_reads_back_with_its_column() -> None:
    body, _ = to_csv([response("a, b; c")], ["city"])
    header, row = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline="")))
    assert body.removeprefix("\ufeff").startswith('"invite_id","survey_id"')
    assert dict(zip(header, row, strict=True))["comment"] == "a, b; c"
    assert dict(zip(header, row, strict=True))["segment.city"] == "pro"


def test_figures_we_computed_stay_numbers_while_text_that_looks_like_one_is_defused() -> None:
    # Given a negative NPS difference we computed, and the same characters typed by a respondent
    from nps.reporting.export import _cell

    # Then the figure is a number a spreadsheet can sum; the typed text cannot start a formula
    assert _cell(-33.33) == "-33.33"
    assert _cell(-5) == "-5"
    assert _cell("-33.33") == "'-33.33"
    assert _cell("-2+3") == "'-2+3"
    assert _cell(None) == ""
    assert _cell(True) == "True"
