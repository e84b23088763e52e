"""The HTML report's drivers section in a real browser (headless Chromium): chart, table with each reason's
trend, and the comments behind each reason — drawn, labelled and accessible on a phone and a desktop.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped without it.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nps.kernel.categories import categorize
from nps.kernel.periods import Granularity
from nps.reporting.adapters.reads import StoredResponse
from nps.reporting.drivers import drivers_report
from nps.reporting.figures import ReportService
from nps.reporting.html import comments_by_reason, render_report
from nps.reporting.ranges import DateRange
from nps.scoring.records import Response
from tests.browser.accessibility import assert_accessible
from tests.support.report_source import aggregated

pytestmark = [pytest.mark.browser]

SPAN = DateRange(date(2026, 1, 1), date(2026, 6, 30))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# (driver, themes, comment): detractors mostly on price, promoters on support
#: The longest id a survey may give a driver or theme (64 characters, no space to wrap at).
LONG_ID = "onboarding-and-data-migration-from-the-previous-vendor-platform-x"
PHRASES: dict[str, list[tuple[str | None, tuple[str, ...], str]]] = {
    "detractor": [
        ("price", ("price",), "Too expensive for what it does"),
        ("support", ("speed",), "Slow <b>app</b>"),
        ("support", (LONG_ID,), "Moving our data over took weeks"),
    ],
    "passive": [("support", ("onboarding",), "Setup took a while"), (None, (), "Fine overall")],
    "promoter": [("support", ("speed",), "Fast and friendly support"), ("features", (), "Reports our board loves")],
}


def _responses() -> list[Response]:
    rng = random.Random(7)
    responses = []
    for i in range(400):
        score = rng.choice([0, 3, 5, 6, 7, 8, 9, 9, 10, 10])
        driver, themes, _ = rng.choice(PHRASES[categorize(score).value])
        responses.append(
            Response(
                invite_id=f"i{i}", survey_id="pulse", wave_id="w", contact_id=f"c{i}", channel="email",
                segments={"plan": "pro"}, score=score, driver=driver, themes=themes,
                csat=rng.choice([None, 2, 4, 5]), ces=rng.choice([None, 3, 6, 7]),
                first_answered_at=datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=rng.randrange(180)),
            )
        )  # fmt: skip
    return responses


def _comments(responses: list[Response]) -> list[StoredResponse]:
    """The latest 300 commented responses as the reader gives them (newest first, answers included)."""
    latest = sorted(responses, key=lambda r: (str(r.first_answered_at), r.invite_id), reverse=True)[:300]
    texts = {(d, t): text for rows in PHRASES.values() for d, t, text in rows}
    return [
        StoredResponse(
            invite_id=r.invite_id, survey_id="pulse", wave_id="w", contact_id=r.contact_id, channel="email",
            locale="en", score=r.score or 0, category=categorize(r.score or 0).value,
            first_answered_at=str(r.first_answered_at), answered_at=str(r.first_answered_at),
            comment=texts[(r.driver, r.themes)], comment_at=None, driver=r.driver, csat=r.csat, ces=r.ces,
            themes=r.themes,
        )
        for r in latest
    ]  # fmt: skip


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    responses = _responses()
    service = ReportService(aggregated(responses))
    report = service.report("pulse", SPAN, Granularity.MONTH, survey_name="Customer pulse")
    drivers = drivers_report(service, "pulse", SPAN, Granularity.MONTH)
    behind = comments_by_reason(drivers, _comments(responses))
    path = tmp_path_factory.mktemp("drivers") / "report.html"
    path.write_text(render_report(report, [], datetime(2026, 7, 1, tzinfo=UTC), {}, drivers, behind), "utf-8")
    return path


@pytest.mark.parametrize(
    "viewport", [{"width": 320, "height": 700}, {"width": 375, "height": 812}, {"width": 1280, "height": 900}]
)
def test_the_drivers_section_is_drawn_labelled_and_accessible(
    browser: Any, report_file: Path, viewport: dict[str, int]
) -> None:
    # Given the report of 400 answers with drivers, themes, CSAT and CES / When Chromium opens it
    page = browser.new_page(viewport=viewport)
    page.goto(report_file.as_uri())
    section = page.locator("section[aria-labelledby=drivers-title]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(SCREENSHOTS / f"report-drivers-{viewport['width']}.png"))
    # Then the chart has one bar per driver and theme, inside the page's width
    bars = page.locator("#drivers-chart rect.bar")
    assert bars.count() == 3 + 4  # price, support, features; speed, onboarding, price (a theme too), LONG_ID
    chart = page.locator("#drivers-chart").bounding_box()
    assert chart is not None
    assert chart["width"] <= viewport["width"]
    # And each table row shows the reason's latest monthly trend points
    trend_cells = page.locator("#drivers td[data-label=Trend]")
    assert trend_cells.count() == 7
    assert "2026-06" in trend_cells.first.inner_text()
    # And the comments behind each reason are shown, escaped, with their answers
    behind = page.locator("details.reason-comments")
    assert behind.count() >= 5
    price = behind.filter(has_text="Driver price")
    assert "Too expensive for what it does" in price.inner_text()
    assert page.locator("details.reason-comments b").count() == 0  # "<b>" stayed text
    # And nothing, not even a 64-character id, makes the page scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # And axe finds nothing to fix
    assert_accessible(page)
    page.close()
