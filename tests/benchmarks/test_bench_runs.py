"""``make bench`` runs every section to the end: each benchmark on a tiny workload, through the same entry
point (``python -m benchmarks.run``), writing its JSON where it is told. The figures of so small a run mean
nothing; what is checked is that no section fails (a benchmark whose baseline lacks a call the product
now makes, a section that no longer matches the code it measures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run

#: Every section on the smallest workload that still exercises it (cold starts have their own test).
TINY = [
    "--samples", "0", "--records", "300", "--passes", "1", "--moto-records", "20", "--taps", "3",
    "--report-samples", "1", "--emails", "20", "--contacts", "2000", "--wave-contacts", "20000",
    "--follow-ups", "2", "--web-calls", "3", "--viral-seconds", "2",
]  # fmt: skip


def test_every_bench_section_runs_and_writes_its_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench.json"
    assert run.main([*TINY, "--output", str(output)]) == 0
    document = json.loads(output.read_text(encoding="utf-8"))
    expected = {
        "one_tap_requests", "stream_scoring_throughput", "write_requests_per_response", "viral_survey",
        "report_reads", "email_rendering", "widget_size", "theme_tagging", "wave_planner", "wave_continuation",
        "follow_up_steps", "web_eligibility",
    }  # fmt: skip
    assert expected <= document.keys()
    assert document["follow_up_steps"]["figure"]["baseline"] > 0
    assert str(output) in capsys.readouterr().out
