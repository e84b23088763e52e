"""Cells written for spreadsheets: text that Excel, LibreOffice or Google Sheets would run as a formula.

A CSV cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is evaluated as a formula
when the file is opened (CSV or formula injection, OWASP "CSV Injection"). Every CSV a person may open —
the response export, the contact import's error report — writes its cells through :func:`safe_cell`.
"""

from __future__ import annotations

# A cell starting with one of these is a formula in spreadsheet applications (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` with a leading apostrophe when a spreadsheet would run it as a formula, else unchanged.

    ``"=HYPERLINK(...)"`` → ``"'=HYPERLINK(...)"``, ``"+1-2"`` → ``"'+1-2"``; ``"Zürich"`` → ``"Zürich"``.
    """
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value
