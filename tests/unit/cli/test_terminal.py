"""nps.cli.terminal: nothing a command prints can drive the terminal."""

from __future__ import annotations

import io
import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.cli.terminal import PrintableStream, cell, printable, sanitised

# Any C0 control but LF and tab, DEL, any C1 control, and a CR not ending a line.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
CONTROLS = st.characters(min_codepoint=0, max_codepoint=0x9F)
TEXT = st.text(st.one_of(CONTROLS, st.characters()), max_size=60)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("\x1b[2J\x1b[Hcontact-1", "contact-1"),  # clear screen, cursor home
        ("\x1b]0;owned\x07plan=pro", "plan=pro"),  # window title (OSC 0, BEL)
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),  # hyperlink (OSC 8, ST)
        ("\x9b31mred", "red"),  # 8-bit CSI
        ("\x1bPq#0;2;0;0;0\x1b\\sixel", "sixel"),  # DCS
        ("ok\rFORGED", "okFORGED"),  # a lone CR would overwrite the line
        ("a\x08\x08b\x7f\x00", "ab"),  # backspace, DEL, NUL
        ("\x1b]0;unterminated", "0;unterminated"),  # an unterminated OSC loses its introducer: inert text
        ("Zürich\tn=6\r\n", "Zürich\tn=6\r\n"),  # tabs, CRLF and non-ASCII text are kept
    ],
)
def test_stored_text_is_printed_without_its_control_sequences(stored: str, shown: str) -> None:
    assert printable(stored) == shown


@given(TEXT)
def test_no_control_character_survives(text: str) -> None:
    assert not FORBIDDEN.search(printable(text))


@given(TEXT)
def test_printing_twice_changes_nothing(text: str) -> None:
    assert printable(printable(text)) == printable(text)


@given(st.text(st.characters(blacklist_categories=["Cc"])))
def test_text_without_controls_is_printed_as_it_is(text: str) -> None:
    assert printable(text) == text


@given(st.lists(TEXT, max_size=5))
def test_every_print_to_stdout_and_stderr_is_printable(lines: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        with sanitised():
            for line in lines:
                print(line)
                print(line, file=sys.stderr)
    finally:
        sys.stdout, sys.stderr = saved
    expected = "".join(printable(line) + "\n" for line in lines)
    assert out.getvalue() == expected
    assert err.getvalue() == expected


def test_the_stream_reports_the_terminal_it_writes_to() -> None:
    target = io.StringIO()
    stream = PrintableStream(target)
    assert stream.write("\x1b[31mx") == len("\x1b[31mx")
    assert target.getvalue() == "x"
    assert stream.isatty() is False


@given(TEXT)
def test_a_cell_never_ends_its_field_or_row(text: str) -> None:
    # Tab-separated output (`nps survey list`): a stored value cannot add a column or a row
    printed = printable(cell(text))
    assert "\t" not in printed
    assert len(printed.splitlines()) <= 1
    assert cell("Evil\tname\r\nsecond\u2028line") == "Evil name second line"
