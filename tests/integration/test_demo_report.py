"""``make demo`` ends with one terminal report that tells the story first, and the HTML report.

The whole demo runs (a smaller campaign, three history months of about 36 answers each), as
``make demo`` runs it, with its output captured.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local import demo, demo_reporting
from local import demo_sending as ds
from tests.reliability.test_privacy import _clear_function_state

SURVEY_NAME = str(ds.DEMO_SURVEY["name"])


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    saved = dict(os.environ)
    here = Path.cwd()
    folder = tmp_path_factory.mktemp("demo")
    patch = pytest.MonkeyPatch()
    patch.setattr(demo, "CONTACTS", 24)
    patch.setattr(demo, "EMAILS_FOLDER", folder / "emails")
    patch.setattr(demo_reporting, "HISTORY_INVITES_PER_DAY", 30)
    _clear_function_state()
    out = io.StringIO()
    try:
        os.chdir(folder)  # the demo writes demo-output/ where it runs
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = demo.main()
        html = (folder / "demo-output" / f"{demo.SURVEY_ID}-report.html").read_text(encoding="utf-8")
        yield {"status": status, "stdout": out.getvalue(), "html": html}
    finally:
        os.chdir(here)
        patch.undo()
        os.environ.clear()
        os.environ.update(saved)
        _clear_function_state()


def test_the_demo_prints_one_terminal_report_with_one_header_style(demo_output: dict[str, Any]) -> None:
    assert demo_output["status"] == 0, demo_output["stdout"][-2000:]
    text = demo_output["stdout"]
    assert text.count("NPS report —") == 1
    assert len(re.findall(r"^slice\s+NPS\s+95% interval\s+n\s", text, re.MULTILINE)) == 1
    assert "± 95%" not in text
    assert "Check: the aggregates for" in text


def test_the_report_starts_with_the_story(demo_output: dict[str, Any]) -> None:
    text = demo_output["stdout"]
    report = text[text.index("NPS report —") :].splitlines()
    # Given the survey's name, its NPS with bounds, the latest month's change and the response rate
    assert report[0].startswith(f"NPS report — {SURVEY_NAME} ({demo.SURVEY_ID}), ")
    assert re.match(r"NPS [+-]?\d+\.\d, likely between [+-]?\d+ and [+-]?\d+ \(95% interval .+ to .+\)", report[2])
    assert re.match(r"Latest month: \d{4}-\d{2}( \(so far\))? vs \d{4}-\d{2}: ", report[3])
    assert re.search(r"— (not )?significant", report[3])
    assert re.match(r"Response rate \d+\.\d%: \d+ responses to \d+ invites sent", report[4])
    # And the trend's step was chosen (one wave a month: months, not weeks)
    assert "Trend by month (step chosen from the range and the responses per period)" in text


def test_the_html_report_has_the_same_headline(demo_output: dict[str, Any]) -> None:
    page = demo_output["html"]
    assert f"<h1>{SURVEY_NAME}</h1>" in page
    assert 'id="story"' in page
    assert "likely between" in page
    assert "Trend by month" in page
    assert 'dir="auto"' in page
