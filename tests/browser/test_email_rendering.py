"""Rendered follow-up emails and the unsubscribe page in a real headless browser (Debian's Chromium) at
phone width. The invite's score buttons, contrast and accessibility: test_email_accessibility.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nps.kernel.rendering import render
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


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rendered")


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
