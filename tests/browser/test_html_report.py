"""The HTML report in a real browser (headless Chromium): the charts are drawn, sized and labelled.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped without it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from nps.kernel.periods import Granularity
from nps.reporting.adapters.reads import StoredResponse
from nps.reporting.figures import ReportService
from nps.reporting.html import render_report
from nps.reporting.ranges import DateRange
from tests.support.report_source import FakeAggregateSource, daily_history

pytestmark = [
    pytest.mark.browser,
]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = FakeAggregateSource()
    daily_history(source, "pulse", date(2026, 1, 1), date(2026, 6, 30), seed=3)
    report = ReportService(source).report("pulse", DateRange(date(2026, 1, 1), date(2026, 6, 30)), Granularity.MONTH)
    comments = [
        StoredResponse(
            invite_id="inv-1", survey_id="pulse", wave_id="w", contact_id="c", channel="email", locale="en",
            score=2, category="detractor", first_answered_at="2026-06-29T10:00:00.000Z",
            answered_at="2026-06-29T10:00:00.000Z", comment="<script>alert('x')</script> too slow & pricey",
            comment_at=None, segments={"plan": "starter"},
        )
    ]  # fmt: skip
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_report(report, comments, datetime(2026, 7, 1, tzinfo=UTC)), encoding="utf-8")
    return path


def test_the_trend_chart_is_drawn_with_its_band_points_and_labels(browser: Any, report_file: Path) -> None:
    # Given the report of six months of answers / When Chromium opens the file offline
    page = browser.new_page(viewport={"width": 1024, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report_file.as_uri())
    chart = page.locator("#trend-chart")
    box = chart.bounding_box()
    shot = page.screenshot(full_page=True, path=str(report_file.with_suffix(".png")))
    # Then the chart has a real size, a band, a line and one point per month, labelled by period
    assert box is not None
    assert box["width"] > 500
    assert box["height"] > 180
    assert page.locator("#trend-chart polygon.band").count() >= 1
    assert page.locator("#trend-chart polyline.line").count() >= 1
    assert page.locator("#trend-chart circle.dot").count() == 6
    labels = page.locator("#trend-chart text").all_text_contents()
    assert {"2026-01", "2026-06"} <= set(labels)
    # And the headline, histogram and segment table are there; nothing was fetched from elsewhere
    assert "NPS" in page.locator("#headline-nps").inner_text()
    assert page.locator("#score-histogram rect").count() == 11
    assert page.locator("#segments tbody tr").count() >= 4
    assert [url for url in requests if not url.startswith("file:")] == []
    assert len(shot) > 20_000  # a PNG of a drawn page, not a blank one


def test_comments_are_shown_as_text_never_run(browser: Any, report_file: Path) -> None:
    # Given a detractor comment containing markup / When the page loads
    page = browser.new_page()
    dialogs: list[str] = []

    def record(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    page.goto(report_file.as_uri())
    # Then the markup is displayed literally and no script ran
    assert "<script>alert('x')</script> too slow & pricey" in page.locator("blockquote").first.inner_text()
    assert page.locator("script").count() == 0
    assert dialogs == []


def test_the_report_fits_a_phone_screen(browser: Any, report_file: Path) -> None:
    # Given a phone-sized viewport / When the page loads
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto(report_file.as_uri())
    # Then the chart scales to the screen and the page does not scroll sideways
    box = page.locator("#trend-chart").bounding_box()
    assert box is not None
    assert 300 < box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
