"""CSV that spreadsheets open safely: no cell starts a formula, whatever the list separator.

A spreadsheet application opening a CSV file runs a cell beginning with ``=``, ``+``, ``-`` or ``@`` (and
some runs after a leading tab or carriage return) as a formula: CSV injection
(https://owasp.org/www-community/attacks/CSV_Injection). Excel splits a CSV file on the locale's list
separator, ``;`` where the decimal mark is a comma, so a file written with ``,`` may be split on ``;``
(and the other way round); quotes then no longer line up with cells. Three things make every cell safe:

* :func:`writer` quotes *every* field, so a spreadsheet splitting on the file's own separator sees each
  value as one text cell, ``;`` and ``,`` included;
* :func:`safe_cell` puts an apostrophe before a formula character at the start of a value (OWASP), and
  also after every ``,``, ``;`` or line break inside it, where a spreadsheet splitting on the *other*
  separator starts a cell: ``good;=1+2`` → ``good;'=1+2``;
* files written for people start with :data:`BOM` (a UTF-8 byte order mark) so that Excel reads them as
  UTF-8 and shows ``Zürich``, not ``ZÃ¼rich``.

Pure: used by the reporting export and the contact import's error report.
"""

from __future__ import annotations

import csv
import re
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from _csv import Writer

#: Written first in a CSV file meant for spreadsheets (U+FEFF, EF BB BF in UTF-8).
BOM = "\ufeff"

# OWASP's list, plus the full-width forms some East Asian locales of Excel also read as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PREFIX_CLASS = "".join(re.escape(c) for c in FORMULA_PREFIXES)
# Where a cell may start when the file is split on any separator (``,``, ``;`` or tab): the value's
# start, or just after a separator or a line break inside it; spaces and a stray quote before the
# formula character do not stop a spreadsheet from reading one.
_CELL_STARTS = re.compile(rf"(^|[,;\t\r\n])(?=[\s\"\u3000]*[{_PREFIX_CLASS}])")
# Control characters other than tab and line breaks: nothing a person wrote needs them, and a terminal
# or viewer that drops them would join what follows onto a cell start (``\x00=1+2`` → ``=1+2``).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def starts_formula(value: str) -> bool:
    """Whether a spreadsheet would read a cell holding ``value`` as a formula."""
    return value.startswith(FORMULA_PREFIXES)


def safe_cell(value: str) -> str:
    """``value`` without control characters (tab and line breaks kept), with an apostrophe wherever a
    cell read from it could start a formula; otherwise unchanged.

    ``"=1+2"`` → ``"'=1+2"``; ``"good;=1+2"`` → ``"good;'=1+2"``; ``"\x00=1+2"`` → ``"'=1+2"``;
    ``"Zürich, 9/10"`` → unchanged.
    """
    return _CELL_STARTS.sub(r"\1'", _CONTROLS.sub("", value))


def writer(target: TextIO) -> Writer:
    """A ``csv`` writer that quotes every field and ends lines with CRLF (RFC 4180).

    Pass values through :func:`safe_cell` first; the writer does not change them.
    """
    return csv.writer(target, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
