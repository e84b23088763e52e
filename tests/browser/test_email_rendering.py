"""Rendered emails and pages in a real headless browser (Debian's Chromium) at phone width.

Every locale's invite email and the unsubscribe pages are rendered to files and opened at 375 px wide:
the 11 score buttons must all be visible, inside the viewport, large enough to tap and in order.
Screenshots are written next to the files for a person to look at.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from nps.kernel.rendering import render
from nps.links.tokens import Keyring
from nps.sending.messages import invite_links, render_email
from nps.sending.surveys import Survey

PHONE = {"width": 375, "height": 740}

pytestmark = [
    pytest.mark.browser,
]

SURVEY = Survey.model_validate(
    {
        "survey_id": "srv_1",
        "name": "Relationship NPS",
        "brand_name": "Acme Cloud",
        "brand_colour": "#0f766e",
        "sender": "surveys@example.com",
        "channels": ["email"],
        "locales": ["en", "es", "de"],
    }
)
KEYRING = Keyring(keys={"k1": b"k1-secret-0123456789abcdef0123456789"}, active_kid="k1")


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rendered")


def _email_file(folder: Path, locale: str, reminder: bool) -> Path:
    links = invite_links(KEYRING, "https://nps.example", "inv_1", 2_000_000_000, 2_100_000_000)
    email = render_email(SURVEY, locale, links, reminder=reminder)
    path = folder / f"invite-{locale}{'-reminder' if reminder else ''}.html"
    path.write_text(email.html, encoding="utf-8")
    return path


@pytest.mark.parametrize("reminder", [False, True], ids=["invite", "reminder"])
@pytest.mark.parametrize("locale", ["en", "es", "de"])
def test_all_11_score_buttons_are_visible_and_tappable_at_phone_width(
    browser: Any, output: Path, locale: str, reminder: bool
) -> None:
    # Given the email rendered to a file
    path = _email_file(output, locale, reminder)
    page = browser.new_page(viewport=PHONE, device_scale_factor=2, java_script_enabled=False)
    # When it is opened at 375 px (no network: the email has no external assets)
    page.route(
        "**/*",
        lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_(),
    )
    page.goto(path.as_uri())
    page.screenshot(path=str(path.with_suffix(".png")), full_page=True)
    # Then 11 score links, 0..10 in order, each visible, inside the viewport and at least 24 px wide/tall
    buttons = page.locator("a[href*='?score=']")
    assert buttons.count() == 11
    boxes = []
    for index in range(11):
        button = buttons.nth(index)
        assert button.is_visible()
        assert button.inner_text().strip() == str(index)
        box = button.bounding_box()
        assert box is not None
        boxes.append(box)
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        assert box["width"] >= 24
        assert box["height"] >= 24
    # And they sit on one row, left to right, without overlapping
    assert len({round(b["y"]) for b in boxes}) == 1
    assert all(a["x"] + a["width"] <= b["x"] + 0.5 for a, b in itertools.pairwise(boxes))
    # And the page does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.close()


@pytest.mark.parametrize("locale", ["en", "es", "de"])
def test_the_unsubscribe_confirm_page_shows_its_button_at_phone_width(browser: Any, output: Path, locale: str) -> None:
    path = output / f"unsubscribe-{locale}.html"
    path.write_text(render("pages/unsubscribe.html", locale, action="/u/token"), encoding="utf-8")
    page = browser.new_page(viewport=PHONE, java_script_enabled=False)
    page.goto(path.as_uri())
    button = page.locator("button[type=submit]")
    assert button.is_visible()
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["x"] + box["width"] <= PHONE["width"]
    page.close()


@pytest.mark.parametrize("category", ["detractor", "passive", "promoter"])
@pytest.mark.parametrize("locale", ["en", "es", "de"])
def test_follow_up_emails_read_well_at_phone_width(browser: Any, output: Path, locale: str, category: str) -> None:
    from nps.sending.messages import render_follow_up_email

    # Given a survey with a referral and a review link, and each category's email rendered to a file
    survey = SURVEY.model_copy(
        update={
            "follow_ups": SURVEY.follow_ups.model_copy(
                update={
                    "promoter": SURVEY.follow_ups.promoter.model_copy(
                        update={"referral_url": "https://acme.example/refer", "review_url": "https://g.example/r"}
                    )
                }
            )
        }
    )
    email = render_follow_up_email(survey, category, locale, "https://nps.example/u/token")
    path = output / f"follow-up-{category}-{locale}.html"
    path.write_text(email.html, encoding="utf-8")
    page = browser.new_page(viewport=PHONE, device_scale_factor=2, java_script_enabled=False)
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_())
    # When it is opened at 375 px
    page.goto(path.as_uri())
    page.screenshot(path=str(path.with_suffix(".png")), full_page=True)
    # Then the text is visible, nothing scrolls sideways, and the unsubscribe link is there
    assert page.get_by_text("Acme Cloud", exact=True).first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("a[href='https://nps.example/u/token']").is_visible()
    # And promoters get two tappable buttons (referral, review); the others none
    buttons = page.locator("a[href^='https://acme.example'], a[href^='https://g.example']")
    assert buttons.count() == (2 if category == "promoter" else 0)
    for index in range(buttons.count()):
        box = buttons.nth(index).bounding_box()
        assert box is not None
        assert box["height"] >= 40
        assert box["x"] + box["width"] <= PHONE["width"]
    page.close()
