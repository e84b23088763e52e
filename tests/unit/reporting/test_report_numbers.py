"""Report figures as printed, rendered and returned: no negative zero, a flagged rate, segments with ``=``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.periods import Granularity
from nps.reporting.adapters.reads import split_segment
from nps.reporting.figures import Catalog, Figures, ReportService
from nps.reporting.html import render_report
from nps.reporting.models import FiguresOut, SliceQuery
from nps.reporting.ranges import DateRange
from nps.reporting.text import format_full_report
from nps.scoring.aggregation import AggregateKey
from tests.support.report_source import FakeAggregateSource

#: A negative zero as text: "-0.0", "-0.00" or "-0", not followed by another digit (-0.05 is fine).
NEGATIVE_ZERO = re.compile(r"-0(\.0+)?(?![0-9.])")
DAY = DateRange(date(2026, 3, 2), date(2026, 3, 2))


def one_day(source: FakeAggregateSource, segment: str = "*", **counters: int) -> FakeAggregateSource:
    """The same counters on the day, month and quarter items of 2 March 2026."""
    for granularity, period in ((Granularity.DAY, "2026-03-02"), (Granularity.MONTH, "2026-03"),
                                (Granularity.QUARTER, "2026-Q1")):  # fmt: skip
        key = AggregateKey("s", granularity, period, segment)
        source.items[(key.pk, period)] = dict(counters)
    return source


def test_700_600_701_prints_as_zero_in_text_html_and_api() -> None:
    source = one_day(FakeAggregateSource(), promoters=700, passives=600, detractors=701, invites_sent=2500)
    report = ReportService(source).report("s", DAY, Granularity.DAY)
    text = format_full_report(report)
    page = render_report(report, [], datetime(2026, 3, 3, tzinfo=UTC))
    assert not NEGATIVE_ZERO.search(text)
    assert not NEGATIVE_ZERO.search(page)
    line = next(line for line in text.splitlines() if line.startswith("all responses"))
    assert line.split()[2] == "0.0"
    assert '<div class="value">0.0</div>' in page
    api = FiguresOut(**report.total.as_dict()).model_dump_json()
    assert '"nps":-0.05' in api  # two decimals in the API: not zero, so it keeps its sign
    assert not NEGATIVE_ZERO.search(api)


@given(st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 3000))
def test_no_rendering_shows_negative_zero(promoters: int, passives: int, detractors: int) -> None:
    source = one_day(FakeAggregateSource(), promoters=promoters, passives=passives, detractors=detractors)
    report = ReportService(source).report("s", DAY, Granularity.DAY)
    assert not NEGATIVE_ZERO.search(format_full_report(report))
    assert not NEGATIVE_ZERO.search(FiguresOut(**report.total.as_dict()).model_dump_json())


def test_a_one_day_rate_of_800_percent_says_answers_belong_to_earlier_invites() -> None:
    # Given one day with 8 answers and 1 invite sent (the other 7 were sent before the day)
    source = one_day(FakeAggregateSource(), promoters=5, detractors=3, invites_sent=1)
    report = ReportService(source).report("s", DAY, Granularity.DAY)
    total = report.total
    # Then the rate is 800% and it is flagged, in the API, the text and the HTML report
    assert total.response_rate == 800.0
    assert total.as_dict()["earlier_invites"] is True
    assert total.as_dict()["answers_to_earlier_invites"] == 7
    text = format_full_report(report)
    assert "800.0%  small n  † 7 answer earlier invites" in text
    assert "invites sent before it" in text
    page = render_report(report, [], datetime(2026, 3, 3, tzinfo=UTC))
    assert "includes at least 7 answers to invites sent before this range" in page


def test_a_rate_within_the_invites_sent_has_no_flag() -> None:
    report = ReportService(one_day(FakeAggregateSource(), promoters=5, invites_sent=5)).report("s", DAY)
    assert not report.total.earlier_invites
    assert "earlier invites" not in format_full_report(report)
    assert "invites sent before this range" not in render_report(report, [], datetime(2026, 3, 3, tzinfo=UTC))


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_the_flag_is_raised_exactly_when_answers_outnumber_invites(answers: int, invites: int) -> None:
    figures = Figures.from_counters({"promoters": answers, "invites_sent": invites})
    assert figures.earlier_invites == (answers > invites)
    assert figures.answers_to_earlier_invites == max(0, answers - invites)
    if figures.response_rate is not None and not figures.earlier_invites:
        assert figures.response_rate <= 100


def test_a_segment_value_containing_equals_is_accepted_by_the_api_and_read_as_the_cli_reads_it() -> None:
    # Given a survey with the segment value "a=b" of dimension "plan"
    source = one_day(FakeAggregateSource(), "plan=a=b", promoters=3, invites_sent=3)
    one_day(source, promoters=3, invites_sent=3)
    # When the API model and the report service read segment=plan=a=b
    query = SliceQuery.model_validate({"from": "2026-03-02", "to": "2026-03-02", "segment": "plan=a=b"})
    report = ReportService(source).report("s", DAY, Granularity.DAY, query.segment)
    # Then it is the value "a=b" of "plan" everywhere
    assert split_segment(query.segment) == ("plan", "a=b")
    assert report.total.counts.n == 3
    assert ReportService(source).catalog("s", DAY).dimensions == {"plan": ("a=b",)}


# A query string arrives as UTF-8 text: lone surrogates cannot occur in it.
VALUES = st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=128)
DIMENSIONS = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)


@given(DIMENSIONS, VALUES)
def test_any_segment_splits_on_its_first_equals_sign_everywhere(dimension: str, value: str) -> None:
    segment = f"{dimension}={value}"
    query = SliceQuery.model_validate({"from": "2026-03-02", "to": "2026-03-02", "segment": segment})
    assert split_segment(query.segment) == (dimension, value)
    catalog = Catalog.from_slices("s", {(segment, "*")})
    assert catalog.dimensions == {dimension: (value,)}
    catalog.check_segment(segment)
