"""A person in a real browser, and a scanner that is a real browser, against the local server."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.respond import handler as respond
from functions.score import handler as score
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext
from nps.kernel.periods import Granularity, period_key
from nps.scoring.adapters.aggregates import DynamoAggregateStore
from nps.scoring.aggregation import AggregateKey

pytestmark = pytest.mark.browser

# People use ordinary browsers, and scanners pretend to: neither sends "HeadlessChrome".
PHONE = (
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"
)
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"


def stored(server: Any, invite_id: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{server.base_url}/_local/responses/{invite_id}", timeout=5) as reply:  # noqa: S310
            result: dict[str, Any] = json.loads(reply.read())
            return result
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def test_a_person_taps_a_score_and_writes_a_comment(browser: Any, local_server: Any) -> None:
    invite = next(i for i in local_server.invites if i.channel == "email")
    page = browser.new_page(locale="en-GB", user_agent=PHONE)
    # When the person taps 7 in the email
    page.goto(invite.score_url(local_server.base_url, 7))
    # Then the page thanks them and its script records the answer, with no further click
    page.get_by_role("status").filter(has_text="Saved.").wait_for(timeout=10_000)
    response = stored(local_server, invite.invite_id)
    assert response is not None
    assert (response["score"], response["counted"]) == (7, True)
    # When they explain their score
    page.get_by_label("What is the main reason for your score?").fill("Onboarding was quick <3")
    page.get_by_role("button", name="Send").click()
    # Then the comment is saved and shown escaped nowhere as markup
    page.get_by_role("heading", name="Thanks for telling us").wait_for()
    response = stored(local_server, invite.invite_id)
    assert response is not None
    assert response["comment"] == "Onboarding was quick <3"
    page.close()


def test_a_comment_sent_in_the_first_second_keeps_the_score_and_the_comment(browser: Any, local_server: Any) -> None:
    invite = local_server.invites[1]
    page = browser.new_page(locale="en-GB", user_agent=PHONE)
    # When the person taps 2 and sends the "why?" at once, before the page's automatic confirmation
    page.goto(invite.score_url(local_server.base_url, 2))
    page.locator("#comment").fill("Billing was wrong")
    page.locator("form[action$='/comment'] button").click()
    page.wait_for_url("**/comment")
    # Then the comment is saved, and so is the score the page showed: nothing is lost
    response = stored(local_server, invite.invite_id)
    assert response is not None
    assert (response["score"], response["comment"]) == (2, "Billing was wrong")
    page.close()


def test_an_empty_comment_is_refused_in_the_page(browser: Any, local_server: Any) -> None:
    invite = local_server.invites[2]
    page = browser.new_page(locale="en-GB", user_agent=PHONE)
    page.goto(invite.score_url(local_server.base_url, 8))
    # When "Send" is pressed with nothing written / Then the page stays, the field says it is required
    page.locator("form[action$='/comment'] button").click()
    assert page.locator("#comment").evaluate("e => e.validity.valueMissing")
    assert not page.url.endswith("/comment")
    page.close()


def test_a_scanning_browser_counts_nothing_and_the_person_counts_once(
    browser: Any, local_server: Any, platform: LocalStack
) -> None:
    reader = StreamReader(platform.stream_arns["responses"])
    invite = next(i for i in local_server.invites if i.channel == "email")
    base = local_server.base_url
    # Given a scanner: a headless browser that loads every link of the message, preview link included,
    # runs each page's script and waits without interacting
    scanner = browser.new_context(user_agent=DESKTOP)
    pages = []
    for value in range(11):
        page = scanner.new_page()
        page.goto(invite.score_url(base, value))
        pages.append(page)
    preview = scanner.new_page()
    preview.goto(f"{base}/r/{invite.token}/p")
    pages[0].wait_for_timeout(4_000)
    scanner.close()
    response = stored(local_server, invite.invite_id)
    assert response is not None
    assert response["counted"] is False
    # When the person taps 9 half an hour later (the server's clock moves on)
    later = datetime.now(UTC) + timedelta(minutes=30)
    respond.service().clock = lambda: later
    person = browser.new_page(user_agent=PHONE)
    person.goto(invite.score_url(base, 9))
    person.get_by_role("status").filter(has_text="Saved.").wait_for(timeout=10_000)
    person.close()
    # Then, once the stream is scored, exactly the person's answer counts, once
    for event in reader.read_batches():
        assert score.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}
    key = AggregateKey("local-survey", Granularity.DAY, period_key(Granularity.DAY, later))
    counters = DynamoAggregateStore(platform.tables["aggregates"]).get(key)
    assert {k: v for k, v in counters.items() if v} == {"promoters": 1, "score_9": 1}


def test_pages_render_at_phone_width_with_every_score_reachable(browser: Any, local_server: Any) -> None:
    invite = next(i for i in local_server.invites if i.channel == "sms")
    page = browser.new_page(viewport={"width": 360, "height": 740}, locale=invite.locale, user_agent=PHONE)
    page.goto(f"{local_server.base_url}/r/{invite.token}")
    links = page.get_by_role("link")
    assert links.count() == 11
    # One row of eleven: each target at least 24 CSS px wide (WCAG 2.5.8) and 44 tall, none off screen
    tops = set()
    for index in range(11):
        box = links.nth(index).bounding_box()
        assert box is not None
        assert box["width"] >= 24
        assert box["height"] >= 44
        assert box["x"] + box["width"] <= 360
        tops.add(round(box["y"]))
    assert len(tops) == 1
    assert page.evaluate("document.documentElement.lang") == invite.locale
    page.close()


def _luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_thank_you_page_is_keyboard_reachable_labelled_and_readable(browser: Any, local_server: Any) -> None:
    invite = next(i for i in local_server.invites if i.channel == "email")
    page = browser.new_page(user_agent=PHONE, locale="en-GB")
    page.goto(invite.score_url(local_server.base_url, 4))
    # The comment box has a label, and Tab walks through the form before the score links, in order
    assert page.get_by_label("What is the main reason for your score?").count() == 1
    focused = []
    for _ in range(4):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate("document.activeElement.tagName + ':' + (document.activeElement.textContent || '')")
        )
    assert focused[0].startswith("TEXTAREA")
    assert focused[1] == "BUTTON:Send"
    assert focused[2:] == ["A:0", "A:1"]
    # Text, hints and buttons meet WCAG AA contrast (4.5:1)
    for selector in ("h1", "label", ".hint", "button", ".scores a"):
        colours = page.eval_on_selector(
            selector,
            """element => {
                let node = element, background = 'rgba(0, 0, 0, 0)';
                while (node && background === 'rgba(0, 0, 0, 0)') {
                    background = getComputedStyle(node).backgroundColor; node = node.parentElement;
                }
                return [getComputedStyle(element).color, background];
            }""",
        )
        assert _contrast(*colours) >= 4.5, (selector, colours)
    page.close()
