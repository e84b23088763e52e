"""The share link's pages in Chromium at phone widths: one line of eleven targets, no axe-core violation on
the question and thank-you pages, the browser id kept in localStorage (no cookie) so a second answer from the
same browser edits the first, and the page still answering with scripts off."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from functions.share import handler as share
from local.environment import LocalStack
from nps.kernel import aws
from nps.kernel.locales import catalog
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.browser.accessibility import assert_accessible
from tests.browser.test_respond_in_chromium import PHONE
from tests.support.web import REASONS_EN_DE_ES

pytestmark = pytest.mark.browser

SURVEY_ID = "kiosk"
WIDTHS = (320, 375)


@pytest.fixture
def server(local_server: Any, platform: LocalStack) -> Any:
    for cached in (share.settings, share.surveys, share.limiter, share.service, share.browser_script):
        cached.cache_clear()
    survey = Survey.model_validate(
        {
            "survey_id": SURVEY_ID,
            "name": "Kiosk",
            "brand_name": "Acme Café",
            "brand_colour": "#7c2d12",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "locales": ["en", "de", "es"],
            "follow_up_question": {"en": "What made your visit good or bad?"},
            "share_link": {"enabled": True},
        }
    )
    DynamoSurveyRepository(platform.tables["surveys"]).put(survey)
    # Warm up: the first AWS call of a test session also prepares the permission recorder (it synthesizes
    # the app), which takes longer than a page load waits.
    with urllib.request.urlopen(f"{local_server.base_url}/s/{SURVEY_ID}", timeout=600) as reply:  # noqa: S310
        assert reply.status == 200
    return local_server


def _answers(platform: LocalStack) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=platform.tables["responses"])["Items"]
    return [i for i in items if i.get("channel", {}).get("S") == "link_anonymous"]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_pages_fit_a_phone_and_pass_axe(browser: Any, server: Any, platform: LocalStack, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 740}, user_agent=PHONE, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{server.base_url}/s/{SURVEY_ID}")
    # Eleven targets on one line, each at least 24 px wide and 48 px tall, no horizontal scrolling
    boxes = [page.locator(f"button[name=score][value='{n}']").bounding_box() for n in range(11)]
    assert all(box is not None for box in boxes)
    tops = {round(box["y"]) for box in boxes if box}
    assert len(tops) == 1
    assert min(box["width"] for box in boxes if box) >= 24
    assert min(box["height"] for box in boxes if box) >= 48
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The script ran under the page's CSP: the browser id is in localStorage and in the form, no cookie
    stored_id = page.evaluate("localStorage.getItem('nps-share-browser-id')")
    assert stored_id
    assert page.locator("input[name=b]").input_value() == stored_id
    assert context.cookies() == []
    assert not [e for e in errors if "Content Security Policy" in e]
    assert_accessible(page)
    page.locator("button[name=score][value='8']").click()
    page.wait_for_selector("#comment")
    assert "What made your visit good or bad?" in page.content()
    assert_accessible(page)
    context.close()


def test_a_second_answer_from_the_same_browser_edits_the_first(browser: Any, server: Any, platform: LocalStack) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, user_agent=PHONE)
    page = context.new_page()
    page.goto(f"{server.base_url}/s/{SURVEY_ID}")
    page.locator("button[name=score][value='3']").click()
    page.wait_for_selector("#comment")
    page.goto(f"{server.base_url}/s/{SURVEY_ID}")  # a new page, the same browser
    page.locator("button[name=score][value='10']").click()
    page.wait_for_selector("#comment")
    (item,) = _answers(platform)
    assert item["score"] == {"N": "10"}
    assert item["version"] == {"N": "2"}
    # Another browser (a fresh context: its own localStorage) adds an answer
    other = browser.new_context(user_agent=PHONE).new_page()
    other.goto(f"{server.base_url}/s/{SURVEY_ID}")
    other.locator("button[name=score][value='6']").click()
    other.wait_for_selector("#comment")
    assert len(_answers(platform)) == 2
    context.close()


def test_without_scripts_the_page_answers_and_the_comment_is_saved(
    browser: Any, server: Any, platform: LocalStack
) -> None:
    context = browser.new_context(java_script_enabled=False, user_agent=PHONE)
    page = context.new_page()
    page.goto(f"{server.base_url}/s/{SURVEY_ID}")
    page.locator("button[name=score][value='5']").click()
    page.wait_for_selector("#comment")
    page.fill("#comment", "Slow coffee")
    page.locator("#comment-form button[type=submit]").click()
    page.wait_for_load_state()
    (item,) = _answers(platform)
    assert item["score"] == {"N": "5"}
    assert item["comment"] == {"S": "Slow coffee"}
    assert json.dumps(item).count("Slow coffee") >= 1
    context.close()


# -- the follow-up questions after the score --------------------------------------------------------------

REASONS_SURVEY_ID = "kiosk-reasons"
SUPPORT = {"en": "Support", "de": "Kundendienst", "es": "Atención al cliente"}


@pytest.fixture
def reasons_server(server: Any, platform: LocalStack) -> Any:
    """The server, with a share link whose survey asks a driver, CSAT and CES in en, de and es."""
    survey = Survey.model_validate(
        {
            "survey_id": REASONS_SURVEY_ID,
            "name": "Kiosk reasons",
            "brand_name": "Acme Café",
            "brand_colour": "#7c2d12",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "locales": ["en", "de", "es"],
            "share_link": {"enabled": True},
            "reasons": REASONS_EN_DE_ES,
        }
    )
    DynamoSurveyRepository(platform.tables["surveys"]).put(survey)
    return server


def _questions(locale: str) -> tuple[str, str, str]:
    texts = catalog(locale)
    return (
        texts["reason_driver_question"],
        texts["reason_csat_question"].format(brand="Acme Café"),
        texts["reason_ces_statement"].format(brand="Acme Café"),
    )


def _reasons_answers(platform: LocalStack) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=platform.tables["responses"], ConsistentRead=True)["Items"]
    return [i for i in items if i.get("survey_id", {}).get("S") == REASONS_SURVEY_ID]


@pytest.mark.parametrize("locale", ["en", "de", "es"])
def test_the_follow_up_questions_pass_axe_at_phone_and_desktop_width_and_are_stored(
    browser: Any, reasons_server: Any, platform: LocalStack, locale: str
) -> None:
    questions = _questions(locale)
    for width in (320, 1280):
        # Given a person of that language at a phone's or a desktop's width
        context = browser.new_context(viewport={"width": width, "height": 740}, user_agent=PHONE, locale=locale)
        page = context.new_page()
        page.goto(f"{reasons_server.base_url}/s/{REASONS_SURVEY_ID}")
        # When they answer 4
        page.locator("button[name=score][value='4']").click()
        page.wait_for_selector("#comment")
        # Then the page asks each question as a group named by it, in their language, fits and passes axe
        for name in questions:
            assert page.get_by_role("group", name=name).count() == 1
        assert page.get_by_role("group", name=questions[0]).get_by_role("radio").count() == 3
        assert page.get_by_role("group", name=questions[1]).get_by_role("radio").count() == 5
        assert page.get_by_role("group", name=questions[2]).get_by_role("radio").count() == 7
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert_accessible(page)
        # When they choose a driver, CSAT 4 and CES 6 and send the form without a comment
        page.get_by_role("group", name=questions[0]).get_by_role("radio", name=SUPPORT[locale]).check()
        page.get_by_role("group", name=questions[1]).get_by_role("radio", name="4", exact=True).check()
        page.get_by_role("group", name=questions[2]).get_by_role("radio", name="6", exact=True).check()
        page.locator("#comment-form button[type=submit]").click()
        page.wait_for_url("**/comment")
        assert_accessible(page)
        context.close()
    # Then each browser's answer holds them (two browsers: two anonymous answers)
    stored = _reasons_answers(platform)
    assert len(stored) == 2
    for item in stored:
        assert (item["score"], item["driver"], item["csat"], item["ces"]) == (
            {"N": "4"},
            {"S": "support"},
            {"N": "4"},
            {"N": "6"},
        )


def test_without_scripts_the_answers_and_the_comment_are_saved(
    browser: Any, reasons_server: Any, platform: LocalStack
) -> None:
    questions = _questions("de")
    context = browser.new_context(java_script_enabled=False, user_agent=PHONE, locale="de")
    page = context.new_page()
    page.goto(f"{reasons_server.base_url}/s/{REASONS_SURVEY_ID}")
    page.locator("button[name=score][value='2']").click()
    page.wait_for_selector("#comment")
    page.get_by_role("group", name=questions[0]).get_by_role("radio", name="Preis").check()
    page.get_by_role("group", name=questions[1]).get_by_role("radio", name="1", exact=True).check()
    page.fill("#comment", "Viel zu teuer")
    page.locator("#comment-form button[type=submit]").click()
    page.wait_for_url("**/comment")
    (item,) = _reasons_answers(platform)
    assert (item["driver"], item["csat"], item["comment"]) == ({"S": "price"}, {"N": "1"}, {"S": "Viel zu teuer"})
    assert item["themes"] == {"L": [{"S": "price"}]}
    assert "ces" not in item
    context.close()
