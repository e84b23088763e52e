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
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.browser.accessibility import assert_accessible
from tests.browser.test_respond_in_chromium import PHONE

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
