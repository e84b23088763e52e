"""The HTML report in a real browser (headless Chromium): drawn, sized and labelled, on a phone and on paper.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped without it.
Screenshots at 375 and 1280 CSS px are written to ``test-artifacts/screenshots/`` for people to look at.
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
from tests.browser.accessibility import assert_accessible
from tests.support.report_source import FakeAggregateSource, daily_history

pytestmark = [
    pytest.mark.browser,
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}


def _comment(category: str, score: int, text: str, day: int) -> StoredResponse:
    at = f"2026-06-{day:02d}T10:00:00.000Z"
    return StoredResponse(
        invite_id=f"inv-{category}-{day}", survey_id="pulse", wave_id="w", contact_id="c", channel="email",
        locale="en", score=score, category=category, first_answered_at=at, answered_at=at, comment=text,
        comment_at=None, segments={"plan": "starter"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = FakeAggregateSource()
    daily_history(source, "pulse", date(2026, 1, 1), date(2026, 6, 30), seed=3)
    report = ReportService(source).report(
        "pulse", DateRange(date(2026, 1, 1), date(2026, 6, 30)), Granularity.MONTH, survey_name="Customer pulse"
    )
    comments = [
        _comment("detractor", 2, "<script>alert('x')</script> too slow & pricey", 29),
        _comment("detractor", 4, "الإعداد استغرق وقتًا أطول من الموعود", 28),
        _comment("passive", 7, "Good, but the export is clumsy", 27),
        _comment("promoter", 10, "The reports are exactly what our board needs", 26),
    ]
    path = tmp_path_factory.mktemp("report") / "report.html"
    counts = {"detractor": 31, "passive": 1, "promoter": 1}
    path.write_text(render_report(report, comments, datetime(2026, 7, 1, tzinfo=UTC), counts), encoding="utf-8")
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
    assert page.locator("h1").inner_text() == "Customer pulse"
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
    assert "<script>alert('x')</script> too slow & pricey" in page.locator("blockquote.detractor").first.inner_text()
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


def _chart_text_sizes(page: Any, selector: str) -> list[float]:
    """Rendered font size (CSS px) of every visible text of an SVG: its font size times the SVG's scale."""
    sizes: list[float] = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector + ' text')]
            .filter((t) => getComputedStyle(t).display !== 'none')
            .map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)""",
        selector,
    )
    return sizes


def test_on_a_375_px_phone_nothing_scrolls_sideways_and_every_label_is_readable(
    browser: Any, report_file: Path
) -> None:
    # Given an iPhone-sized viewport / When the report loads
    page = browser.new_page(viewport=PHONE, device_scale_factor=2)
    page.goto(report_file.as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(full_page=True, path=str(SCREENSHOTS / "report-375.png"))
    # Then the document does not scroll sideways, nor does any table inside it
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    overflowing = page.evaluate(
        "[...document.querySelectorAll('table, figure, section')].filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.id || e.tagName)"
    )
    assert overflowing == []
    # And every chart label renders at 12 CSS px or more
    trend_sizes = _chart_text_sizes(page, "#trend-chart")
    histogram_sizes = _chart_text_sizes(page, "#score-histogram")
    assert len(trend_sizes) >= 6
    assert len(histogram_sizes) == 22
    assert min(trend_sizes + histogram_sizes) >= 12
    # And the category bar and its legend are whole, inside the screen
    bar = page.locator("#category-bar").bounding_box()
    assert bar is not None
    assert bar["x"] >= 0
    assert bar["x"] + bar["width"] <= PHONE["width"]
    legend = page.locator("#category-legend li").all()
    assert len(legend) == 3
    for item in legend:
        box = item.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= PHONE["width"]


def test_each_point_value_is_text_without_hovering(browser: Any, report_file: Path) -> None:
    # Given the six-month report on a phone
    page = browser.new_page(viewport=PHONE)
    page.goto(report_file.as_uri())
    # Then each month's NPS is written on the chart and in the trend table, visible without hover
    values = page.locator("#trend-chart text.value")
    assert values.count() == 6
    assert all(v.is_visible() for v in values.all())
    rows = page.locator("#trend-values tbody tr")
    assert rows.count() == 6
    for index in range(6):
        chart_value = (values.nth(index).text_content() or "").rstrip("▲▼")
        table_value = rows.nth(index).locator("td").first.inner_text()
        assert table_value.startswith(chart_value) or round(float(table_value)) == int(chart_value)
    assert "to" in rows.nth(1).locator("td").nth(1).inner_text()  # intervals as bounds


def test_on_a_phone_the_segment_table_stacks_into_labelled_cards(browser: Any, report_file: Path) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(report_file.as_uri())
    row = page.locator("#segments tbody tr:not(.group)").first
    # Each cell is on its own line with its column's name (drawn before it), within the screen
    labels = row.evaluate(
        "r => [...r.querySelectorAll('td')].slice(1).map(c => getComputedStyle(c, '::before').content)"
    )
    assert labels[:3] == ['"NPS"', '"95% interval"', '"n"']
    assert '"Passives"' in labels
    assert '"Against the rest"' in labels
    tops = row.evaluate("r => [...r.querySelectorAll('td')].map(c => Math.round(c.getBoundingClientRect().top))")
    assert tops == sorted(set(tops))  # one cell per line
    box = row.bounding_box()
    assert box is not None
    assert box["width"] <= PHONE["width"]


def test_at_1280_px_the_table_is_a_table(browser: Any, report_file: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(report_file.as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(full_page=True, path=str(SCREENSHOTS / "report-1280.png"))
    assert page.locator("#segments thead").is_visible()
    headers = page.locator("#segments thead th").all_text_contents()
    assert headers[:4] == ["Segment", "NPS", "95% interval", "n"]
    assert "Passives" in headers
    assert min(_chart_text_sizes(page, "#trend-chart")) >= 12


def test_printed_the_page_has_margins_and_no_orphaned_headings(browser: Any, report_file: Path) -> None:
    # Given the report emulated for print
    page = browser.new_page()
    page.goto(report_file.as_uri())
    page.emulate_media(media="print")
    # Then the stylesheet sets @page margins
    margins = page.evaluate(
        "[...document.styleSheets].flatMap(s => [...s.cssRules]).filter(r => r instanceof CSSPageRule)"
        ".map(r => r.style.marginTop || r.style.margin)"
    )
    assert margins
    assert all(m and m != "0px" for m in margins)
    # And headings stay with what follows them, figures and rows are not split across pages
    for heading in page.locator("h1, h2, h3").all():
        assert heading.evaluate("h => getComputedStyle(h).breakAfter") == "avoid"
    assert page.locator("figure").first.evaluate("f => getComputedStyle(f).breakInside") == "avoid"
    assert page.locator("#segments tbody tr").first.evaluate("r => getComputedStyle(r).breakInside") == "avoid"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


def test_comments_of_every_category_with_counts_and_their_own_direction(browser: Any, report_file: Path) -> None:
    page = browser.new_page()
    page.goto(report_file.as_uri())
    assert page.locator("#comments-detractor").inner_text() == "Detractors — 31 comments (latest 2 shown)"
    assert page.locator("#comments-passive").inner_text() == "Passives — 1 comment"
    assert page.locator("#comments-promoter").inner_text() == "Promoters — 1 comment"
    arabic = page.locator("blockquote", has_text="الإعداد")
    assert arabic.get_attribute("dir") == "auto"
    # An Arabic comment reads right to left, an English one left to right
    assert arabic.evaluate("b => getComputedStyle(b).direction") == "rtl" or arabic.evaluate(
        "b => b.matches(':dir(rtl)')"
    )
    english = page.locator("blockquote.promoter")
    assert english.evaluate("b => b.matches(':dir(ltr)')")


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["375px", "1280px"])
def test_axe_core_finds_no_violation(browser: Any, report_file: Path, viewport: dict[str, int]) -> None:
    page = browser.new_page(viewport=viewport)
    page.goto(report_file.as_uri())
    assert_accessible(page)


def test_a_change_that_is_not_significant_is_not_coloured_as_a_rise_or_a_fall(browser: Any, report_file: Path) -> None:
    # Given the report whose latest month changed by a few points, not significantly
    page = browser.new_page(viewport=PHONE)
    page.goto(report_file.as_uri())
    card = page.locator("#headline-change")
    assert "not significant" in card.inner_text()
    # Then the big change figure has the card's text colour, not the promoter green or detractor red
    value, card_colour = card.locator(".value").evaluate(
        "v => [getComputedStyle(v).color, getComputedStyle(v.parentElement).color]"
    )
    palette = page.evaluate(
        "() => { const s = document.createElement('span'); document.body.append(s);"
        " const seen = ['up', 'down'].map(c => { s.className = c; return getComputedStyle(s).color; });"
        " s.remove(); return seen; }"
    )
    assert value == card_colour
    assert value not in palette
