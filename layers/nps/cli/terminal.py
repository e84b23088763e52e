"""Terminal output without control characters: stored and imported text cannot drive the terminal.

A contact id, segment value or comment may hold escape sequences that clear the screen, retitle the
window (OSC 0), write hyperlinks (OSC 8) or move the cursor to hide or forge lines. :func:`printable`
removes them: whole escape sequences (CSI ``ESC [``, OSC ``ESC ]``, DCS/SOS/PM/APC and their 8-bit C1
forms, terminated by BEL or ST; ECMA-48 §5) and then every remaining C0 and C1 control character and
DEL, except the line feed and tab that lay text out and a carriage return directly before a line feed
(the CSV export's line ending). :func:`sanitised` routes ``sys.stdout`` and ``sys.stderr`` through it
for the whole of a ``nps`` command, so no output path can forget it.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from nps.kernel.normalising import BIDI_CONTROLS

# Complete sequences only: an unterminated one loses its introducer below, leaving inert text.
_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]       # CSI: parameters, intermediates, final
    | (?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f]) [^\x1b\x07\x9c]*   # OSC, DCS, SOS, PM, APC: a string …
      (?:\x07|\x1b\\|\x9c)                                        # … ended by BEL or ST
    | \x1b [\x20-\x2f]* [\x30-\x7e]                               # any other escape sequence
    """,
    re.VERBOSE,
)
# Also the bidirectional controls (:data:`nps.kernel.normalising.BIDI_CONTROLS`), which reorder a line.
_CONTROLS = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{''.join(sorted(BIDI_CONTROLS))}]|\r(?!\n)")


# What would end a tab-separated field or line: tab, the line breaks and Unicode's line separators.
_FIELD_BREAKS = re.compile(r"[\t\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")


def cell(text: str) -> str:
    """``text`` as one field of a tab-separated line: each run of tabs and line breaks becomes one space,
    so stored text cannot forge a column or a row (``"a\tb\nc"`` → ``"a b c"``)."""
    return _FIELD_BREAKS.sub(" ", text)


def printable(text: str) -> str:
    """``text`` without escape sequences or control characters (keeps ``\\n``, ``\\t`` and ``\\r\\n``).

    ``"\\x1b]0;owned\\x07plan=pro"`` → ``"plan=pro"``; ``"a\\rb"`` → ``"ab"``; ``"a\\r\\n"`` unchanged.
    """
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


class PrintableStream(io.TextIOBase):
    """A text stream that writes :func:`printable` text to another one (a terminal, a pipe)."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        """Write ``text`` without its control characters; returns ``len(text)`` as callers expect."""
        self.target.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding


@contextmanager
def sanitised() -> Iterator[None]:
    """Within the block, everything written to ``sys.stdout`` and ``sys.stderr`` is :func:`printable`."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = PrintableStream(stdout)
    sys.stderr = PrintableStream(stderr)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = stdout, stderr
