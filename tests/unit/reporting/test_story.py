"""The story first: headline, bounds, segments against the rest, the chosen step and the sparkline."""

from __future__ import annotations

from datetime import date

import pytest

from nps.kernel.periods import Granularity
from nps.reporting.figures import ReportService, headline
from nps.reporting.ranges import DateRange
from nps.reporting.text import SPARK_MIN_SPAN, format_full_report, sparkline
from nps.scoring.aggregation import AggregateKey
from tests.support.report_source import FakeAggregateSource

_SPARK = "▁▂▃▄▅▆▇█"
AUTUMN = DateRange(date(2026, 7, 1), date(2026, 10, 31))


def put(
    source: FakeAggregateSource, granularity: Granularity, period: str, segment: str = "*", **counters: int
) -> None:
    key = AggregateKey("s", granularity, period, segment)
    source.items[(key.pk, period)] = dict(counters)


def monthly(source: FakeAggregateSource, months: dict[str, dict[str, int]], segment: str = "*") -> FakeAggregateSource:
    """Month items and a quarter item holding their sum (what the scorer writes), for one segment."""
    quarters: dict[str, dict[str, int]] = {}
    for month, counters in months.items():
        put(source, Granularity.MONTH, month, segment, **counters)
        quarter = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
        total = quarters.setdefault(quarter, {})
        for name, value in counters.items():
            total[name] = total.get(name, 0) + value
    for quarter, counters in quarters.items():
        put(source, Granularity.QUARTER, quarter, segment, **counters)
    return source


# A survey that started in August: July is empty; October falls by about 35 points.
MONTHS = {
    "2026-08": {"promoters": 40, "passives": 20, "detractors": 15, "invites_sent": 120},
    "2026-09": {"promoters": 38, "passives": 22, "detractors": 18, "invites_sent": 120},
    "2026-10": {"promoters": 25, "passives": 20, "detractors": 33, "invites_sent": 130},
}


@pytest.fixture
def story() -> FakeAggregateSource:
    return monthly(FakeAggregateSource(), MONTHS)


def test_a_29_point_fall_is_the_full_height_of_the_sparkline() -> None:
    # Given the demo's monthly series: +33.3, +3.8, +6.1, +1.4
    line = sparkline([33.3, 3.8, 6.1, 1.4])
    # Then the fall spans the sparkline (on a fixed −100…+100 scale it moved one level of eight)
    assert line[0] == _SPARK[-1]
    assert _SPARK.index(line[1]) <= 1
    assert _SPARK.index(line[0]) - _SPARK.index(line[1]) >= 6


def test_a_small_wobble_stays_small_and_gaps_stay_blank() -> None:
    line = sparkline([5.0, None, 6.0, 5.5])
    assert line[1] == " "
    levels = [_SPARK.index(c) for c in line if c != " "]
    # 1 point of difference on a span of at least SPARK_MIN_SPAN points moves at most one level
    assert max(levels) - min(levels) <= round(1 / SPARK_MIN_SPAN * 7 + 0.5)
    assert 2 <= min(levels) <= max(levels) <= 5
    assert sparkline([None, None]) == "  "


def test_leading_empty_periods_are_trimmed_and_the_step_is_chosen(story: FakeAggregateSource) -> None:
    # Given no explicit granularity over July–October, with answers from August
    report = ReportService(story).report("s", AUTUMN, survey_name="Onboarding")
    # Then months are chosen (every month with answers holds 75+), and July is not shown
    assert report.granularity is Granularity.MONTH
    assert report.granularity_chosen
    assert [p.period.key for p in report.trend] == ["2026-08", "2026-09", "2026-10"]


def test_an_explicit_granularity_wins(story: FakeAggregateSource) -> None:
    report = ReportService(story).report("s", AUTUMN, Granularity.QUARTER)
    assert report.granularity is Granularity.QUARTER
    assert not report.granularity_chosen


def test_the_headline_tells_name_nps_bounds_change_and_response_rate(story: FakeAggregateSource) -> None:
    report = ReportService(story).report("s", AUTUMN, survey_name="Onboarding")
    told = headline(report)
    assert told.title == "Onboarding"
    assert told.latest is not None
    assert told.latest.period.key == "2026-10"
    assert told.change is not None
    assert told.change.significant
    text = format_full_report(report)
    first_lines = text.splitlines()[:5]
    assert first_lines[0].startswith("NPS report — Onboarding (s), 2026-07-01 – 2026-10-31")
    # (103 promoters and 66 detractors of 231: +16.0; October: (25 − 33) / 78 = −10.3, from +25.6)
    assert first_lines[2] == "NPS +16.0, likely between +5 and +27 (95% interval +5.1 to +26.6), from 231 responses"
    assert first_lines[3].startswith("Latest month: 2026-10 vs 2026-09: -34.6 points, 95% interval -60.1 to -9.0")
    assert first_lines[3].endswith("— significant (p = 0.008)")
    assert first_lines[4] == "Response rate 62.4%: 231 responses to 370 invites sent"


def test_without_a_name_the_report_is_titled_by_the_survey_id(story: FakeAggregateSource) -> None:
    text = format_full_report(ReportService(story).report("s", AUTUMN))
    assert text.startswith("NPS report — s, 2026-07-01")


def test_one_promoter_prints_its_real_interval_in_the_terminal() -> None:
    source = monthly(FakeAggregateSource(), {"2026-08": {"promoters": 1}})
    text = format_full_report(ReportService(source).report("s", AUTUMN))
    row = next(line for line in text.splitlines() if line.startswith("all responses"))
    assert row.split()[2:6] == ["+100.0", "-48.5", "to", "+98.5"]
    assert "±" not in text


def test_a_segment_far_below_the_rest_is_marked_and_a_typical_one_is_not() -> None:
    # Given plan=starter (-30) well below the others, enterprise (+60) above, team (+15) as its rest (+15)
    source = FakeAggregateSource()
    monthly(source, {"2026-09": {"promoters": 135, "passives": 75, "detractors": 90}})
    monthly(source, {"2026-09": {"promoters": 20, "passives": 30, "detractors": 50}}, "plan=starter")
    monthly(source, {"2026-09": {"promoters": 70, "passives": 20, "detractors": 10}}, "plan=enterprise")
    monthly(source, {"2026-09": {"promoters": 45, "passives": 25, "detractors": 30}}, "plan=team")
    report = ReportService(source).report("s", AUTUMN)
    rows = {row.value: row for row in report.segments["plan"]}
    # Then starter is marked below the rest, enterprise above, and team not at all
    assert rows["starter"].differs == "below"
    assert rows["enterprise"].differs == "above"
    assert rows["team"].differs == ""
    text = format_full_report(report)
    starter_line = next(line for line in text.splitlines() if "plan=starter" in line)
    assert "▼ below the rest" in starter_line
    team_line = next(line for line in text.splitlines() if "plan=team" in line)
    assert "the rest" not in team_line
    assert rows["starter"].as_dict()["versus_rest"]["significant"] is True


def test_equal_segments_are_not_marked() -> None:
    source = FakeAggregateSource()
    monthly(source, {"2026-09": {"promoters": 100, "passives": 60, "detractors": 40}})
    for plan in ("a", "b"):
        monthly(source, {"2026-09": {"promoters": 50, "passives": 30, "detractors": 20}}, f"plan={plan}")
    report = ReportService(source).report("s", AUTUMN)
    assert [row.differs for row in report.segments["plan"]] == ["", ""]
    assert "the rest" not in format_full_report(report)
