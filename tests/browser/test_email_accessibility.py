"""Invite, reminder and follow-up emails in Chromium, in every locale, light and dark: tap targets of the
score buttons, text contrast computed from the rendered styles, heading and landmarks, axe-core.

Screenshots at 375 px and 1280 px, light and dark, go to ``test-artifacts/screenshots/`` for a person
to look at (the folder is git-ignored).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nps.kernel.branding import MIN_CONTRAST, contrast_ratio
from nps.links.tokens import Keyring
from nps.sending.messages import RenderedEmail, invite_links, render_email, render_follow_up_email
from nps.sending.surveys import Survey
from tests.browser.accessibility import assert_accessible

pytestmark = [pytest.mark.browser]

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
LOCALES = ["en", "de", "es"]
KINDS = ["invite", "reminder", "follow-up-detractor", "follow-up-passive", "follow-up-promoter"]
#: Minimum width of a score button, and the minimum distance between two buttons' tap boxes (px).
MIN_BUTTON = 40
MIN_GAP = 8
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
KEYRING = Keyring(keys={"k1": b"k1-secret-0123456789abcdef0123456789"}, active_kid="k1")


def survey(brand_colour: str = "#0f766e") -> Survey:
    return Survey.model_validate(
        {
            "survey_id": "srv_1",
            "name": "Relationship NPS",
            "brand_name": "Acme Cloud",
            "brand_colour": brand_colour,
            "sender": "surveys@example.com",
            "channels": ["email"],
            "locales": LOCALES,
            "follow_ups": {
                "promoter": {"referral_url": "https://acme.example/refer", "review_url": "https://g.example/r"}
            },
        }
    )


def render(kind: str, locale: str, brand_colour: str = "#0f766e") -> RenderedEmail:
    links = invite_links(KEYRING, "https://nps.example", "inv_1", 2_000_000_000, 2_100_000_000)
    if kind.startswith("follow-up-"):
        return render_follow_up_email(survey(brand_colour), kind.removeprefix("follow-up-"), locale, links.unsubscribe)
    return render_email(survey(brand_colour), locale, links, reminder=kind == "reminder")


@pytest.fixture
def open_email(browser: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Open a rendered email from a file, offline, at a viewport and colour scheme; JavaScript is on
    only so that axe-core can run (the emails carry no script)."""
    pages: list[Any] = []

    def open_(email: RenderedEmail, viewport: dict[str, int] = PHONE, scheme: str = "light") -> Any:
        path = tmp_path / f"email-{len(pages)}.html"
        path.write_text(email.html, encoding="utf-8")
        page = browser.new_page(viewport=viewport, color_scheme=scheme)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
        page.goto(path.as_uri())
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def gap(a: dict[str, float], b: dict[str, float]) -> float:
    """The shortest distance between two boxes (0 when they touch or overlap)."""
    dx = max(b["x"] - (a["x"] + a["width"]), a["x"] - (b["x"] + b["width"]), 0.0)
    dy = max(b["y"] - (a["y"] + a["height"]), a["y"] - (b["y"] + b["height"]), 0.0)
    return math.hypot(dx, dy)


# Every visible element with text of its own, its text colour and the first opaque background behind it
# (the canvas colour of the scheme when nothing is painted).
_TEXT_COLOURS = """
() => {
  const canvas = matchMedia('(prefers-color-scheme: dark)').matches
    ? getComputedStyle(document.documentElement).backgroundColor : 'rgb(255, 255, 255)';
  const opaque = (c) => c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c);
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join(' ').trim();
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible' || style.display === 'none') continue;
    let bg = null;
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = getComputedStyle(node).backgroundColor;
      if (opaque(c)) { bg = c; break; }
    }
    out.push({text: own.slice(0, 40), tag: el.tagName.toLowerCase(), cls: el.className || '',
              color: style.color, background: bg || (opaque(canvas) ? canvas : 'rgb(255, 255, 255)')});
  }
  return out;
}
"""


def hex_colour(css: str) -> str:
    """``rgb(r, g, b)`` (or ``rgba`` with alpha 1) as ``#rrggbb``."""
    inside = css[css.index("(") + 1 : css.index(")")]
    r, g, b = (round(float(part)) for part in inside.split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def text_contrasts(page: Any) -> list[tuple[str, str, float]]:
    """(element, text, contrast ratio) for every visible piece of text on the page."""
    found = page.evaluate(_TEXT_COLOURS)
    assert found, "no visible text found"
    return [
        (
            f"{item['tag']}.{item['cls']}",
            item["text"],
            contrast_ratio(hex_colour(item["color"]), hex_colour(item["background"])),
        )
        for item in found
    ]


@pytest.mark.parametrize("kind", ["invite", "reminder"])
@pytest.mark.parametrize("locale", LOCALES)
def test_score_buttons_are_40px_wide_and_8px_apart_at_phone_width(open_email: Any, locale: str, kind: str) -> None:
    # Given the invite opened at 375 px
    page = open_email(render(kind, locale))
    buttons = page.locator("a[href*='?score=']")
    assert buttons.count() == 11
    boxes = []
    for index in range(11):
        assert buttons.nth(index).inner_text().strip() == str(index)
        box = buttons.nth(index).bounding_box()
        assert box is not None
        boxes.append(box)
    # Then every button is at least 40 px wide and 44 px tall, inside the viewport
    for box in boxes:
        assert box["width"] >= MIN_BUTTON, box
        assert box["height"] >= 44, box
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    # And no two tap boxes are closer than 8 px (horizontally or vertically)
    closest = min(gap(a, b) for a, b in itertools.combinations(boxes, 2))
    assert closest >= MIN_GAP, closest
    # And the scale reads in two rows, 0-5 then 6-10, left to right, with 6 under 0
    rows = [boxes[:6], boxes[6:]]
    assert [len({round(b["y"]) for b in row}) for row in rows] == [1, 1]
    assert rows[0][0]["y"] < rows[1][0]["y"]
    assert all(a["x"] < b["x"] for row in rows for a, b in itertools.pairwise(row))
    assert rows[1][0]["x"] == pytest.approx(rows[0][0]["x"], abs=1)
    # And the page does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_text_reaches_4_5_to_1_in_light_and_dark(open_email: Any, kind: str, locale: str, scheme: str) -> None:
    # Given the email opened at 375 px in the colour scheme
    page = open_email(render(kind, locale), scheme=scheme)
    contrasts = text_contrasts(page)
    # Then the footer is among the text checked, and every text reaches 4.5:1 on what is behind it
    assert any("nps-footer" in element for element, _, _ in contrasts)
    low = [(element, text, round(ratio, 2)) for element, text, ratio in contrasts if ratio < MIN_CONTRAST]
    assert not low, low


@pytest.mark.parametrize("brand_colour", ["#0f766e", "#facc15", "#1e3a8a", "#ffffff", "#000000"])
def test_dark_mode_keeps_the_brand_name_and_digits_readable_for_any_brand(open_email: Any, brand_colour: str) -> None:
    # Given a light, a dark and a mid brand colour, the invite in dark mode
    page = open_email(render("invite", "en", brand_colour), scheme="dark")
    # Then the card is dark (the dark palette applied) and every text, brand name included, reaches 4.5:1
    card = hex_colour(page.evaluate("getComputedStyle(document.querySelector('.nps-card')).backgroundColor"))
    assert card == "#1f2937"
    ratios = {element: ratio for element, _, ratio in text_contrasts(page)}
    assert "td.nps-brand" in ratios
    assert min(ratios.values()) >= MIN_CONTRAST, ratios


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_the_email_has_one_h1_a_main_landmark_and_its_language(open_email: Any, kind: str, locale: str) -> None:
    page = open_email(render(kind, locale))
    # Then one h1 (the question, or the follow-up's subject), inside the main landmark
    assert page.locator("h1").count() == 1
    assert page.locator("[role=main] h1").count() == 1
    assert page.get_by_role("main").count() == 1
    assert page.get_by_role("contentinfo").get_by_role("link").count() == 1
    # And the language and direction on <html> and again on the wrapper that webmail keeps
    assert page.locator("html").get_attribute("lang") == locale
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator(f"body > div[lang='{locale}'][dir='ltr'] [role=main]").count() == 1
    # And the score buttons, when there are any, are all inside the main landmark
    assert page.locator("[role=main] a[href*='?score=']").count() == page.locator("a[href*='?score=']").count()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_axe_reports_no_violation(open_email: Any, kind: str, locale: str, scheme: str) -> None:
    assert_accessible(open_email(render(kind, locale), scheme=scheme))


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_screenshots_at_phone_and_desktop_width_in_light_and_dark(open_email: Any, kind: str, locale: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    email = render(kind, locale)
    for (width_name, viewport), scheme in itertools.product((("375", PHONE), ("1280", DESKTOP)), ("light", "dark")):
        page = open_email(email, viewport=viewport, scheme=scheme)
        # The email never scrolls sideways and its card stays at most 560 px wide
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert page.locator("[role=main]").bounding_box()["width"] <= 560
        path = SCREENSHOTS / f"{kind}-{locale}-{width_name}-{scheme}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
