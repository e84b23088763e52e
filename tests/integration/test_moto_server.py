"""``make moto``: a moto server that still holds the seeded survey when the ``nps --local`` commands read it.

The server runs as its own process, as ``make moto`` starts it; the report is read through its HTTP
endpoint (``AWS_ENDPOINT_URL``), exactly as the README tells a person to do from another shell.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.demo import SURVEY_ID
from local.moto_server import READY
from nps.cli.main import main as cli
from nps.kernel import aws

ROOT = Path(__file__).resolve().parents[2]
# The report's columns before n: slice, NPS and its 95% interval (fixed widths, see nps.reporting.text).
_HEADER_BEFORE_N = " " * (24 + 1 + 6 + 1 + 15)


@pytest.fixture
def seeded_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The server on a free port, seeded with a small campaign (the history is the demo's): (its endpoint,
    what it printed up to the line to export)."""
    stderr = (tmp_path / "stderr.txt").open("w")
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "local.moto_server", "--port", "0", "--contacts", "40"],
        cwd=tmp_path,  # the seed writes demo-output/emails/ under the working directory
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'layers'}:{ROOT}", "HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed: list[str] = []
        for line in process.stdout:  # until the server says it is ready, or exits
            printed.append(line)
            if READY in line:
                break
        ready = [line for line in printed if READY in line]
        assert ready, "".join(printed) + (tmp_path / "stderr.txt").read_text()
        yield ready[0].split(READY, 1)[1].strip(), printed
    finally:
        process.terminate()
        process.wait(timeout=60)
        stderr.close()


def test_the_seeded_survey_is_served_to_nps_local_over_http(
    seeded_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given `make moto` running and the endpoint it printed exported in another shell
    endpoint, printed = seeded_server
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", endpoint)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    aws.reset_clients()
    try:
        # When the README's command runs
        status = cli(["--local", "report", SURVEY_ID])
    finally:
        aws.reset_clients()
    out, err = capsys.readouterr()
    # Then it prints the seeded survey's report, read from the server
    assert status == 0, err
    overall = next(line for line in out.splitlines() if line.startswith("all responses"))
    respondents = int(overall[len(_HEADER_BEFORE_N) :].split()[0])
    assert respondents > 100, overall  # the campaign's answers and the demo's history
    assert "read from local environment 'nps-demo'" in out
    # And the functions' metrics (Powertools EMF JSON) never reached the server's terminal
    assert not [line for line in printed if '"_aws"' in line or "CloudWatchMetrics" in line]
    assert len(printed) < 10, printed
