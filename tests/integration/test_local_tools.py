"""``python -m local.server`` and ``python -m local.moto_server`` (``make serve``, ``make moto``): a port
that is taken and a count that makes no sense are one line each, with no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import moto_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another server listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("tool", ["local.server", "local.moto_server"])
def test_a_taken_port_is_one_line_and_exit_1(tool: str, taken_port: int, tmp_path: Path) -> None:
    # When the tool is started on a port another server holds (a hang would fail on the timeout)
    finished = subprocess.run(  # noqa: S603  # a fixed module name and a port number
        [sys.executable, "-m", tool, "--port", str(taken_port)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'layers'}:{ROOT}", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it says so in one line, with the fix, and exits 1
    assert finished.returncode == 1, finished.stderr
    assert finished.stderr.splitlines() == [
        f"python -m {tool}: port {taken_port} is in use (another server?): stop it, "
        "or pass --port with a free port (0: any)"
    ]


@pytest.mark.parametrize(("argv", "words"), [(["--contacts", "0"], "must be 1 or more, not 0"),
                                             (["--contacts", "-3"], "must be 1 or more, not -3"),
                                             (["--contacts", "many"], "not a whole number"),
                                             (["--port", "99999"], "a port is 0–65535")])  # fmt: skip
def test_moto_server_refuses_counts_and_ports_that_make_no_sense(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        moto_server.main(argv)
    assert exited.value.code == 2
    assert words in capsys.readouterr().err


def test_the_demo_silences_the_warning_for_invocations_without_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools import Metrics

    from local.demo import _quiet_functions

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "nps-demo")
    # (set here so that what _quiet_functions sets is undone after the test)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        # Given the demo's process settings
        _quiet_functions()
        # When a function finishes without adding a metric (as most taps do)
        Metrics().flush_metrics()
    # Then nothing is printed among the demo's tables
    assert [str(w.message) for w in seen] == []
