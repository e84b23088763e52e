"""Figure 4: items read and time per report over a year of daily aggregates for 10 segment values.

Setup: one survey with a year of daily aggregates (and their ISO week, month and quarter roll-ups) for
one segment dimension with 10 values and two channels, loaded into moto's DynamoDB in-process; and a
second survey with the same slices answered every day for five years (2021–2025).

Measured: a whole report as ``nps report`` builds it (catalog from the index, monthly trend, the year's
total, every segment value and channel): aggregate items read and queries sent; and the time per report
in this process with DynamoDB answering from a recording of moto's answers (so the figure is our
parsing, covers and statistics, not moto's slow in-memory query; a deployed report adds one DynamoDB
round trip per query), plus the time to render it as text and as the HTML report.

Baseline, on the same table in the same run: the same figures summed from the daily items alone (one
query per slice over the year's days), the design without aligned covers.

Survey age: the same report (2025) on the five-year-old survey, items read next to the one-year-old
survey's; they must be equal (the segment catalog is read for the range's quarters only). The detail
gives what a catalog of every quarter the survey ever had would read for each.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from benchmarks.report import Figure, median

SURVEY = "bench-survey"
OLD_SURVEY = "bench-survey-5y"
OLD_FIRST = date(2021, 1, 1)
FIRST = date(2025, 1, 1)
LAST = date(2025, 12, 31)
VALUES = tuple(f"v{index:02d}" for index in range(10))


class _Recording:
    """A DynamoDB client that answers each distinct query once from moto, then from memory."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.pages: dict[str, Any] = {}

    def query(self, **kwargs: Any) -> Any:
        key = json.dumps(kwargs, sort_keys=True)
        if key not in self.pages:
            self.pages[key] = self.real.query(**kwargs)
        return self.pages[key]


@contextlib.contextmanager
def _recorded() -> Iterator[_Recording]:
    from nps.kernel import aws

    recording = _Recording(aws.client("dynamodb"))
    original = aws.client
    aws.client = lambda service: recording  # type: ignore[assignment]
    try:
        yield recording
    finally:
        aws.client = original


@dataclass(slots=True)
class ReportReadResult:
    items: Figure
    time: Figure
    #: Items read by the same report on a five-year-old survey, next to the one-year-old survey's.
    age: Figure
    aggregate_items: int
    render_text_ms: float
    render_html_ms: float
    html_bytes: int
    queries: int


@contextlib.contextmanager
def _moto() -> Iterator[Any]:
    from local.environment import create_stack, prepare_process_environment

    saved = dict(os.environ)
    prepare_process_environment()
    from moto import mock_aws

    from nps.kernel import aws

    with mock_aws():
        aws.reset_clients()
        yield create_stack("bench")
    aws.reset_clients()
    os.environ.clear()
    os.environ.update(saved)


def _load(table: str, items: dict[tuple[str, str], dict[str, int]]) -> int:
    """Aggregate items straight into moto's in-process table (five times faster than batch writes
    through the API; the reports still read through it)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from local.reporting_data import aggregate_item

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    for (pk, period), counters in items.items():
        backend.put_item(table, aggregate_item(pk, period, counters))
    return len(items)


def _quarter_items(items: dict[tuple[str, str], dict[str, int]]) -> int:
    """Quarter items: what a catalog of every quarter a survey ever had reads."""
    return sum(1 for pk, _ in items if "#quarter#" in pk)


def _daily_only(reader: Any, slices: list[tuple[str, str]]) -> tuple[int, int]:
    """Baseline: each slice's year total from its 365 daily items; returns (items read, responses)."""
    from nps.kernel.periods import Granularity
    from nps.scoring.aggregation import AggregateKey

    before = reader.items_read
    responses = 0
    for segment, channel in slices:
        pk = AggregateKey(SURVEY, Granularity.DAY, "", segment, channel).pk
        for counters in reader.read(pk, FIRST.isoformat(), LAST.isoformat()).values():
            responses += counters.get("promoters", 0) + counters.get("passives", 0) + counters.get("detractors", 0)
    return reader.items_read - before, responses


def run(samples: int = 5) -> ReportReadResult:
    from local.reporting_data import synthetic_aggregates
    from nps.kernel.periods import Granularity
    from nps.reporting.adapters.reads import DynamoAggregateReader
    from nps.reporting.figures import ReportService
    from nps.reporting.html import render_report
    from nps.reporting.ranges import DateRange
    from nps.reporting.text import format_full_report

    span = DateRange(FIRST, LAST)
    with _moto() as stack:
        table = stack.tables["aggregates"]
        young = synthetic_aggregates(SURVEY, FIRST, LAST, seed=4, dimensions={"plan": VALUES})
        old = synthetic_aggregates(OLD_SURVEY, OLD_FIRST, LAST, seed=4, dimensions={"plan": VALUES})
        written = _load(table, young)
        old_written = _load(table, old)
        report_ms: list[float] = []
        items_read = queries = 0
        report = None
        slices = [("*", "*"), *((f"plan={v}", "*") for v in VALUES), ("*", "email"), ("*", "sms")]
        baseline_ms: list[float] = []
        baseline_items = 0
        with _recorded():
            # The first (untimed) pass of each design records moto's answers; the timed passes replay them.
            for sample in range(samples + 1):
                reader = DynamoAggregateReader(table)
                started = time.perf_counter()
                report = ReportService(reader).report(SURVEY, span, Granularity.MONTH)
                if sample:
                    report_ms.append(1000 * (time.perf_counter() - started))
                items_read, queries = reader.items_read, reader.queries
            for sample in range(samples + 1):
                reader = DynamoAggregateReader(table)
                started = time.perf_counter()
                baseline_items, responses = _daily_only(reader, slices)
                if sample:
                    baseline_ms.append(1000 * (time.perf_counter() - started))
        assert report is not None
        old_reader = DynamoAggregateReader(table)
        ReportService(old_reader).report(OLD_SURVEY, span, Granularity.MONTH)
        # The two designs must agree on what they count.
        summed = report.total.counts.n + sum(r.figures.counts.n for r in report.segments["plan"])
        summed += sum(r.figures.counts.n for r in report.channels)
        assert summed == responses, (summed, responses)
        started = time.perf_counter()
        text = format_full_report(report)
        text_ms = 1000 * (time.perf_counter() - started)
        started = time.perf_counter()
        html = render_report(report, [], datetime.now(UTC))
        html_ms = 1000 * (time.perf_counter() - started)
    assert text
    detail = {"aggregate_items_in_table": written, "samples": samples, "report_ms": report_ms,
              "baseline_ms": baseline_ms, "slices": len(slices)}  # fmt: skip
    age_detail = {
        "range": span.label(),
        "one_year_survey_items": written,
        "five_year_survey_items": old_written,
        "queries": {"one_year": queries, "five_year": old_reader.queries},
        "whole_history_catalog_items": {"one_year": _quarter_items(young), "five_year": _quarter_items(old)},
    }
    return ReportReadResult(
        items=Figure(
            name="items read per report (1 year, 10 segments)",
            unit="items",
            measured=float(items_read),
            baseline_name="daily items only",
            baseline=float(baseline_items),
            target=300,
            detail=detail,
        ),
        time=Figure(
            name="time per report (DynamoDB replayed)",
            unit="ms",
            measured=median(report_ms),
            baseline_name="daily items only",
            baseline=median(baseline_ms),
            target=1000,
            detail=detail,
        ),
        age=Figure(
            name="items read per report, 5-year-old survey",
            unit="items",
            measured=float(old_reader.items_read),
            baseline_name="1-year-old survey, same range",
            baseline=float(items_read),
            target=float(items_read),
            detail=age_detail,
        ),
        aggregate_items=written,
        render_text_ms=text_ms,
        render_html_ms=html_ms,
        html_bytes=len(html.encode()),
        queries=queries,
    )
