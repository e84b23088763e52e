"""The web widget end to end: Chromium on the local demo app (``/_local/app`` on ``http://localhost``,
strict CSP), the widget and its API from the local server on ``http://127.0.0.1`` (the real web function
over moto), then the real score function over the responses stream."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from functions.score import handler as score
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext
from local.web_demo import app_origin
from nps.channels.site_tokens import mint
from nps.kernel.periods import Granularity, iso_timestamp, period_key
from nps.scoring.adapters.aggregates import DynamoAggregateStore
from nps.scoring.aggregation import AggregateKey
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.suppression import SuppressionReason, address_hash
from tests.browser.accessibility import assert_accessible

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def app_server(local_server: Any) -> Any:
    """The local server, its web function warmed up: the first AWS call of a test session also prepares
    the permission recorder (it synthesizes the app), which takes longer than the widget waits."""
    token = mint(local_server.stack.site_secret("local-survey"), "local-survey", "warm-up", int(time.time()) + 600)
    request = urllib.request.Request(  # noqa: S310 (the local server)
        f"{local_server.base_url}/w/v1/surveys/local-survey/eligibility",
        data=json.dumps({"contact_token": token, "url": None}).encode(),
        headers={"Content-Type": "application/json", "Origin": local_server.base_url},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=600) as reply:  # noqa: S310
        assert reply.status == 200
    return local_server


def open_app(browser: Any, server: Any, contact: str, locale: str = "en") -> tuple[Any, list[str]]:
    """The demo app signed in as ``contact``; returns the page and the console lines it writes."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    lines: list[str] = []
    page.on("console", lambda message: lines.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: lines.append(f"pageerror: {error}"))
    page.goto(f"{app_origin(server.base_url)}/_local/app?contact={contact}&locale={locale}")
    return page, lines


def widget_events(page: Any, count: int) -> list[dict[str, Any]]:
    """The widget's events on the app page (its ``onEvent`` hook), once there are ``count`` of them."""
    # Polled from here: the app's CSP forbids the string evaluation page.wait_for_function would use.
    for _ in range(300):
        events: list[dict[str, Any]] = page.evaluate("window.npsEvents || []")
        if len(events) >= count:
            return events
        page.wait_for_timeout(50)
    raise AssertionError(f"fewer than {count} widget events: {events}")


def csp_violations(page: Any) -> list[str]:
    violations: list[str] = page.evaluate("window.cspViolationsSeen || []")
    return violations


def watch_csp(page: Any) -> None:
    page.evaluate(
        "window.cspViolationsSeen = [];"
        " document.addEventListener('securitypolicyviolation', e => window.cspViolationsSeen.push(e.violatedDirective))"
    )


def score_the_stream(platform: LocalStack) -> None:
    reader = StreamReader(platform.stream_arns["responses"])
    for event in reader.read_batches():
        assert score.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}


def test_identify_shown_answered_and_scored_with_channel_web(
    browser: Any, app_server: Any, platform: LocalStack
) -> None:
    # Given a person signed in to the customer's app, whose server minted their contact token
    page, lines = open_app(browser, app_server, "web-e2e-1")
    watch_csp(page)
    dialog = page.get_by_role("dialog")
    # When the page identifies them: the platform decides to ask, the widget shows the question
    dialog.wait_for(timeout=15_000)
    question = "How likely are you to recommend us to a friend or colleague?"
    assert page.get_by_role("dialog", name=question).count() == 1
    assert widget_events(page, 1) == [{"type": "shown"}]
    # (axe reads colours as drawn: the sheet's entrance must have finished, or it blends into the page)
    dialog.evaluate("e => Promise.all(e.getAnimations().map(a => a.finished))")
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-demo-app-1280.png"))
    # When they answer 9 and say why
    dialog.get_by_role("button", name="9 out of 10", exact=True).click()
    box = dialog.get_by_role("textbox", name="What is the main reason for your score?")
    box.wait_for()
    box.fill("The new dashboard is great")
    dialog.get_by_role("button", name="Send").click()
    dialog.get_by_role("status").filter(has_text="Thank you for your feedback!").wait_for()
    events = widget_events(page, 3)
    assert [e["type"] for e in events] == ["shown", "answered", "commented"]
    assert events[1]["category"] == "promoter"
    # Then nothing was blocked by the app's CSP and the console stayed quiet
    assert csp_violations(page) == []
    assert lines == []
    page.close()
    # And once the stream is scored, today's aggregates count one promoter on the web channel
    score_the_stream(platform)
    today = period_key(Granularity.DAY, datetime.now(UTC))
    store = DynamoAggregateStore(platform.tables["aggregates"])
    web = store.get(AggregateKey("local-survey", Granularity.DAY, today, channel="web"))
    assert web.get("promoters") == 1
    assert web.get("score_9") == 1
    everyone = store.get(AggregateKey("local-survey", Granularity.DAY, today))
    assert everyone.get("promoters") == 1
    # And the same person is not asked again: they answered this period
    again, _ = open_app(browser, app_server, "web-e2e-1")
    assert widget_events(again, 1) == [{"type": "not_shown", "reason": "answered"}]
    assert again.locator("nps-widget").count() == 0
    again.close()


def test_dismissed_is_not_shown_again_within_the_delay(browser: Any, app_server: Any) -> None:
    page, _ = open_app(browser, app_server, "web-e2e-2", locale="es")
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=15_000)
    assert dialog.get_attribute("lang") == "es"
    # When the person presses Escape without answering
    dialog.focus()
    with page.expect_response(lambda response: response.url.endswith("/dismissals")) as posted:
        page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert posted.value.status == 200
    events = widget_events(page, 3)
    assert [e["type"] for e in events] == ["shown", "dismissed", "closed"]
    # Then the dismissal is recorded: the next page load asks the server, which says not to show it
    page.close()
    again, lines = open_app(browser, app_server, "web-e2e-2", locale="es")
    assert widget_events(again, 1) == [{"type": "not_shown", "reason": "dismissed"}]
    assert again.locator("nps-widget").count() == 0
    assert lines == []
    again.close()


def test_a_suppressed_contact_is_not_shown_the_prompt(browser: Any, app_server: Any, platform: LocalStack) -> None:
    # Given a seeded contact (contact-000, with an email address) who unsubscribed from surveys
    suppressions = DynamoSuppressionRepository(platform.tables["suppressions"])
    key = address_hash("email", "contact-000@example.com", platform.id_key)
    now = iso_timestamp(datetime.now(UTC))
    suppressions.suppress(key, SuppressionReason.UNSUBSCRIBED, now, contact_id="contact-000")
    # When the app identifies them / Then the widget is told not to show and shows nothing
    page, lines = open_app(browser, app_server, "contact-000")
    assert widget_events(page, 1) == [{"type": "not_shown", "reason": "suppressed"}]
    assert page.locator("nps-widget").count() == 0
    assert lines == []
    page.close()


def test_the_inbox_links_to_the_demo_app(browser: Any, app_server: Any) -> None:
    page = browser.new_page()
    page.goto(f"{app_server.base_url}/_local/inbox")
    link = page.locator("a.web-app")
    assert link.get_attribute("href") == f"{app_origin(app_server.base_url)}/_local/app"
    link.click()
    page.get_by_role("dialog").wait_for(timeout=15_000)
    page.close()


def test_the_demo_app_page_has_a_strict_csp_and_refuses_a_bad_contact_id(local_server: Any) -> None:
    app = app_origin(local_server.base_url)
    with urllib.request.urlopen(f"{app}/_local/app", timeout=30) as reply:  # noqa: S310 (the local server)
        policy = reply.headers["Content-Security-Policy"]
        page = reply.read().decode()
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert f"script-src 'self' {local_server.base_url};" in policy
    assert f"connect-src {local_server.base_url};" in policy
    assert f"<script src='{local_server.base_url}/w/v1/widget.js' async>" in page
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{app}/_local/app?contact=%3Cscript%3E", timeout=30)  # noqa: S310
    assert refused.value.code == 400
