"""The in-app/website widget in Chromium, on a customer page under a strict CSP, against route mocks of
the widget API: what it shows, how it is operated by keyboard and pointer, what it posts, and that it
stays inside the host page's rules (CSP, console, layout)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.web import handler as web_function
from local.lambda_events import LambdaContext, http_event
from nps.channels.site_tokens import mint
from nps.kernel import aws
from nps.kernel.locales import catalog
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.browser.accessibility import assert_accessible
from tests.browser.widget_host import (
    API_ORIGIN,
    APP_ORIGIN,
    SURVEY_ID,
    Call,
    MockApi,
    contact_token,
    open_host,
    prompt,
    settled,
    sheet,
    wait_until,
)
from tests.support.web import REASONS_EN_DE_ES

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    yield context
    context.close()


def console_lines(page: Any) -> list[str]:
    lines: list[str] = []
    page.on("console", lambda message: lines.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: lines.append(f"pageerror: {error}"))
    return lines


def own_lines(lines: list[str]) -> list[str]:
    """The console lines the page's scripts wrote (without Chromium's own "Failed to load resource" line,
    which it logs for any failed request, caught or not)."""
    return [line for line in lines if "Failed to load resource" not in line]


def events(page: Any) -> list[str]:
    return [event["type"] for event in page.evaluate("window.npsEvents")]


def test_the_prompt_shows_the_question_eleven_named_scores_and_the_scale_ends(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    dialog = settled(page)
    # Then the dialog is named by the question, in the survey's language and direction
    assert dialog.get_attribute("aria-labelledby") == "nps-q"
    assert page.get_by_role("dialog", name=prompt()["question"]).count() == 1
    assert (dialog.get_attribute("lang"), dialog.get_attribute("dir")) == ("en", "ltr")
    # And eleven buttons, each named "N out of 10", with the scale's ends written under them
    group = dialog.get_by_role("group", name=prompt()["question"])
    for score in range(11):
        assert group.get_by_role("button", name=f"{score} out of 10", exact=True).inner_text() == str(score)
    assert group.get_by_role("button").count() == 11
    assert dialog.get_by_text("Not at all likely").is_visible()
    assert dialog.get_by_text("Extremely likely").is_visible()
    assert dialog.get_by_role("button", name="Close").is_visible()
    # And the eligibility request named the survey, carried the token and the page without its query
    (asked,) = api.posts("eligibility")
    assert asked == {"contact_token": contact_token(), "url": "https://app.example/"}
    assert api.calls[0].origin == "https://app.example"
    assert events(page) == ["shown"]
    assert_accessible(page)
    page.close()


def test_score_then_comment_then_thanks_that_closes_itself(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    dialog = sheet(page)
    # When the person taps 7
    dialog.get_by_role("button", name="7 out of 10").click()
    # Then the answer is posted with the ask token, and the "why?" question follows, focused
    box = dialog.get_by_role("textbox", name="What is the main reason for your score?")
    box.wait_for()
    assert api.posts("responses") == [{"ask_token": "ask-1", "score": 7}]
    assert box.evaluate("e => e.getRootNode().activeElement === e")
    assert box.get_attribute("maxlength") == "2000"
    assert_accessible(page)
    # When they write why (markup stays text) and send it
    box.fill("Setup was <b>quick</b>")
    dialog.get_by_role("button", name="Send").click()
    # Then the comment is posted with the score, and the thanks is announced in the live region
    status = dialog.get_by_role("status")
    status.filter(has_text="Thank you for your feedback!").wait_for()
    assert api.posts("comments") == [{"ask_token": "ask-1", "comment": "Setup was <b>quick</b>", "score": 7}]
    assert status.get_attribute("aria-live") == "polite"
    assert_accessible(page)
    # And the sheet closes by itself a few seconds later, with nothing dismissed
    dialog.wait_for(state="detached", timeout=10_000)
    assert api.posts("dismissals") == []
    assert events(page) == ["shown", "answered", "commented", "closed"]
    page.close()


def test_skip_records_no_comment(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    dialog = sheet(page)
    dialog.get_by_role("button", name="10 out of 10", exact=True).click()
    dialog.get_by_role("button", name="Skip").click()
    dialog.get_by_role("status").filter(has_text="Thank you").wait_for()
    assert api.posts("comments") == []
    assert api.posts("responses") == [{"ask_token": "ask-1", "score": 10}]
    page.close()


def test_keyboard_only_tab_is_trapped_and_escape_dismisses_and_returns_focus(context: Any) -> None:
    api = MockApi()
    # Given the person is on the app's Help button when the prompt appears (it does not steal focus)
    page = open_host(context, api, token="")
    page.focus("#help")
    page.evaluate(f"nps.identify({{contactToken: {contact_token()!r}}})")
    dialog = sheet(page)
    dialog.wait_for()
    assert page.evaluate("document.activeElement.id") == "help"
    assert dialog.get_attribute("aria-modal") == "false"

    def focused() -> str:
        return str(
            page.evaluate(
                "(() => { const a = document.activeElement;"
                " return a.shadowRoot ? (a.shadowRoot.activeElement.getAttribute('aria-label')"
                " || a.shadowRoot.activeElement.textContent) : a.id; })()"
            )
        )

    # When they Tab into it: the close button, then the scores in order, and the dialog becomes modal
    page.keyboard.press("Tab")
    assert focused() == "Close"
    assert dialog.get_attribute("aria-modal") == "true"
    visited = []
    for _ in range(11):
        page.keyboard.press("Tab")
        visited.append(focused())
    assert visited == [f"{score} out of 10" for score in range(11)]
    # Then Tab after the last score wraps to the first control, and Shift+Tab wraps back
    page.keyboard.press("Tab")
    assert focused() == "Close"
    page.keyboard.press("Shift+Tab")
    assert focused() == "10 out of 10"
    # When they press Escape: the prompt closes, a dismissal is posted, focus is back on Help
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    wait_until(page, lambda: api.posts("dismissals") == [{"ask_token": "ask-1"}])
    assert page.evaluate("document.activeElement.id") == "help"
    assert events(page) == ["shown", "dismissed", "closed"]
    page.close()


def test_keyboard_only_answer_and_comment(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    dialog = sheet(page)
    dialog.wait_for()
    # The prompt appeared while nothing had focus: it takes focus, so a keyboard user is in it at once
    assert page.evaluate("document.activeElement.tagName") == "NPS-WIDGET"
    for _ in range(4):  # Close, 0, 1, 2
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    dialog.get_by_role("textbox").wait_for()
    assert api.posts("responses") == [{"ask_token": "ask-1", "score": 2}]
    page.keyboard.type("Too slow")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    dialog.get_by_role("status").filter(has_text="Thank you").wait_for()
    assert api.posts("comments") == [{"ask_token": "ask-1", "comment": "Too slow", "score": 2}]
    # Escape after answering only closes: no dismissal
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert api.posts("dismissals") == []
    page.close()


def test_the_close_button_dismisses(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    sheet(page).get_by_role("button", name="Close").click()
    sheet(page).wait_for(state="detached")
    wait_until(page, lambda: len(api.posts("dismissals")) == 1)
    page.close()


def test_api_dismiss_and_reset(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    sheet(page).wait_for()
    # reset removes the prompt and records nothing (e.g. the person signs out)
    page.evaluate("nps.reset()")
    sheet(page).wait_for(state="detached")
    page.evaluate(f"nps.identify({{contactToken: {contact_token()!r}}})")
    sheet(page).wait_for()
    # dismiss closes as the close button does
    page.evaluate("nps.dismiss()")
    sheet(page).wait_for(state="detached")
    wait_until(page, lambda: len(api.posts("dismissals")) == 1)
    assert len(api.posts("eligibility")) == 2
    page.close()


def test_not_eligible_shows_nothing(context: Any) -> None:
    api = MockApi(eligibility={"show": False, "reason": "fatigue"})
    page = open_host(context, api)
    wait_until(page, lambda: len(api.posts("eligibility")) == 1)
    wait_until(page, lambda: len(page.evaluate("window.npsEvents")) == 1)
    assert page.evaluate("window.npsEvents") == [{"type": "not_shown", "reason": "fatigue"}]
    assert page.locator("nps-widget").count() == 0
    page.close()


@pytest.mark.parametrize(("motion", "animation"), [("reduce", "none"), ("no-preference", "up")])
def test_reduced_motion_means_no_slide(browser: Any, motion: str, animation: str) -> None:
    context = browser.new_context(reduced_motion=motion)
    page = open_host(context, MockApi())
    dialog = sheet(page)
    dialog.wait_for()
    assert dialog.evaluate("e => getComputedStyle(e).animationName") == animation
    context.close()


def _within_viewport(page: Any, width: int) -> None:
    dialog = sheet(page)
    box = dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    tops = set()
    for score in range(11):
        button = dialog.get_by_role("button", name=f"{score} out of 10", exact=True).bounding_box()
        assert button is not None
        assert button["x"] >= 0
        assert button["x"] + button["width"] <= width
        assert button["width"] >= 24  # WCAG 2.5.8 minimum target; 44 where there is room
        assert button["height"] >= 44
        tops.add(round(button["y"]))
    assert len(tops) == 1  # one row
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_it_fits_a_320_px_screen_with_every_score_reachable(browser: Any) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 568}, is_mobile=True, has_touch=True)
    page = open_host(context, MockApi())
    settled(page)
    _within_viewport(page, 320)
    close = sheet(page).get_by_role("button", name="Close").bounding_box()
    assert close is not None
    assert close["width"] >= 44
    assert close["height"] >= 44
    context.close()


def test_targets_are_44_px_on_a_desktop_and_the_host_page_does_not_move(context: Any) -> None:
    page = open_host(context, MockApi(), token="")
    before = page.locator("h1").bounding_box()
    page.evaluate(f"nps.identify({{contactToken: {contact_token()!r}}})")
    settled(page)
    _within_viewport(page, 1280)
    for score in range(11):
        box = sheet(page).get_by_role("button", name=f"{score} out of 10", exact=True).bounding_box()
        assert box is not None
        assert box["width"] >= 44
    assert page.locator("nps-widget").evaluate("e => getComputedStyle(e).position") == "fixed"
    assert page.locator("h1").bounding_box() == before
    page.close()


def test_right_to_left_locale(context: Any) -> None:
    rtl = prompt(locale="ar", dir="rtl", question="ما مدى احتمال أن توصي بنا؟")
    page = open_host(context, MockApi(eligibility={"show": True, "ask_token": "ask-1", "prompt": rtl}))
    dialog = settled(page)
    assert (dialog.get_attribute("lang"), dialog.get_attribute("dir")) == ("ar", "rtl")
    zero = dialog.get_by_role("button", name="0 out of 10", exact=True).bounding_box()
    ten = dialog.get_by_role("button", name="10 out of 10", exact=True).bounding_box()
    assert zero is not None
    assert ten is not None
    assert zero["x"] > ten["x"]  # the scale reads from the right
    assert_accessible(page)
    page.close()


def test_server_strings_are_text_never_markup(context: Any) -> None:
    hostile = prompt(
        question="<img src=x onerror=window.pwned=1>Recommend us?",
        brand={"name": "<b>Acme</b>", "colour": "red;background:url(x)", "logo_url": None},
    )
    page = open_host(context, MockApi(eligibility={"show": True, "ask_token": "ask-1", "prompt": hostile}))
    dialog = sheet(page)
    dialog.wait_for()
    assert dialog.locator("h2").inner_text() == "<img src=x onerror=window.pwned=1>Recommend us?"
    assert dialog.locator("img, b").count() == 0
    assert dialog.get_by_text("<b>Acme</b>").count() == 1
    assert page.evaluate("window.pwned") is None
    # A colour that is not #rrggbb falls back to the default brand colour instead of reaching the CSS
    dialog.get_by_role("button", name="3 out of 10").click()
    dialog.get_by_role("textbox").wait_for()
    assert dialog.locator(".go").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(29, 78, 216)"
    page.close()


def test_dark_colour_scheme_is_accessible(browser: Any) -> None:
    context = browser.new_context(color_scheme="dark")
    page = open_host(context, MockApi(), css="body{background:#111827;color:#f9fafb;font-family:sans-serif}")
    dialog = settled(page)
    assert dialog.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 41, 55)"
    assert_accessible(page)
    dialog.get_by_role("button", name="5 out of 10").click()
    dialog.get_by_role("textbox").wait_for()
    assert_accessible(page)
    context.close()


def test_an_answer_refused_for_good_offers_no_retry(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    # Given the ask token has expired (the prompt was left open for hours)
    page.route(
        "https://api.example/w/v1/surveys/*/responses",
        lambda route: (
            route.fulfill(
                status=401,
                body='{"error": {"code": "token_expired", "message": "expired"}}',
                headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": "https://app.example"},
            )
            if route.request.method == "POST"
            else route.fallback()
        ),
    )
    dialog = sheet(page)
    dialog.get_by_role("button", name="4 out of 10").click()
    # Then the person is told, no retry is offered, and the close button has focus
    dialog.get_by_role("status").filter(has_text="Your answer was not saved.").wait_for()
    assert dialog.get_by_role("button", name="Try again").is_hidden()
    close = dialog.get_by_role("button", name="Close")
    assert close.evaluate("e => e.getRootNode().activeElement === e")
    page.close()


def test_text_on_a_light_brand_colour_is_dark(context: Any) -> None:
    yellow = prompt(brand={"name": "Sunny", "colour": "#facc15", "logo_url": None})
    page = open_host(context, MockApi(eligibility={"show": True, "ask_token": "ask-1", "prompt": yellow}))
    dialog = sheet(page)
    dialog.get_by_role("button", name="9 out of 10").click()
    send = dialog.get_by_role("button", name="Send")
    send.wait_for()
    assert send.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(250, 204, 21)"
    assert send.evaluate("e => getComputedStyle(e).color") == "rgb(26, 26, 26)"
    assert_accessible(page)
    page.close()


def test_under_a_strict_csp_nothing_is_blocked_and_the_console_stays_quiet(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    lines = console_lines(page)
    dialog = sheet(page)
    dialog.wait_for()
    # The styles applied (the sheet is styled, not raw markup) although the host allows no inline style
    assert page.locator("nps-widget").evaluate("e => getComputedStyle(e).position") == "fixed"
    assert dialog.evaluate("e => getComputedStyle(e).borderTopWidth") == "4px"
    dialog.get_by_role("button", name="8 out of 10").click()
    dialog.get_by_role("textbox").fill("Fine")
    dialog.get_by_role("button", name="Send").click()
    dialog.get_by_role("status").filter(has_text="Thank you").wait_for()
    assert page.evaluate("window.cspViolations") == []
    assert lines == []
    # And the page does report violations: an inline style attribute set now is refused and reported
    page.evaluate("document.querySelector('h1').setAttribute('style', 'color:red')")
    wait_until(page, lambda: len(page.evaluate("window.cspViolations")) > 0)
    assert "style-src" in page.evaluate("window.cspViolations")[0]
    page.close()


def test_a_network_failure_offers_a_retry_that_resends_the_answer(context: Any) -> None:
    api = MockApi(failures=["responses"])
    page = open_host(context, api)
    lines = console_lines(page)
    dialog = sheet(page)
    # When the answer cannot reach the server
    dialog.get_by_role("button", name="6 out of 10").click()
    status = dialog.get_by_role("status")
    status.filter(has_text="Your answer was not saved.").wait_for()
    retry = dialog.get_by_role("button", name="Try again")
    # Then the retry is offered and focused, the chosen score stays pressed, and nothing was thrown
    assert retry.evaluate("e => e.getRootNode().activeElement === e")
    assert dialog.get_by_role("button", name="6 out of 10").get_attribute("aria-pressed") == "true"
    assert_accessible(page)
    # When they retry: the same answer is sent again and the follow-up question comes
    retry.click()
    dialog.get_by_role("textbox").wait_for()
    assert api.posts("responses") == [{"ask_token": "ask-1", "score": 6}, {"ask_token": "ask-1", "score": 6}]
    assert retry.is_hidden()
    assert status.inner_text() == ""
    # The person saw the failure; the console got nothing from the widget
    assert own_lines(lines) == []
    page.close()


def test_a_failed_comment_keeps_the_text_for_the_retry(context: Any) -> None:
    api = MockApi(failures=["comments"])
    page = open_host(context, api)
    dialog = sheet(page)
    dialog.get_by_role("button", name="0 out of 10", exact=True).click()
    dialog.get_by_role("textbox").fill("It crashed twice")
    dialog.get_by_role("button", name="Send").click()
    dialog.get_by_role("button", name="Try again").click()
    dialog.get_by_role("status").filter(has_text="Thank you").wait_for()
    assert api.posts("comments") == [{"ask_token": "ask-1", "comment": "It crashed twice", "score": 0}] * 2
    page.close()


def test_an_unreachable_api_is_one_warning_and_no_prompt(context: Any) -> None:
    api = MockApi(failures=["eligibility"])
    page = open_host(context, api, token="")
    lines = console_lines(page)
    page.evaluate(f"nps.identify({{contactToken: {contact_token()!r}}})")
    wait_until(page, lambda: any(line.startswith("warning") for line in lines))
    # Bad calls from the host never throw into it either, and add nothing to the console
    page.evaluate("nps.identify(); nps.identify({contactToken: 'garbage'}); nps.dismiss(); nps.reset()")
    page.wait_for_timeout(200)
    assert len(own_lines(lines)) == 1
    assert own_lines(lines)[0] == "warning: nps widget: eligibility request failed (0)"
    assert page.locator("nps-widget").count() == 0
    page.close()


def test_calls_queued_before_the_script_loads_and_the_script_loaded_twice(context: Any) -> None:
    api = MockApi()
    page = open_host(context, api)
    sheet(page).wait_for()
    # A second copy of the script changes nothing and shows nothing more
    page.evaluate(
        "new Promise(r => { const s = document.createElement('script');"
        " s.src = 'https://api.example/w/v1/widget.js'; s.onload = r; document.body.appendChild(s); })"
    )
    page.evaluate(f"nps.q.push(['identify', {{contactToken: {contact_token()!r}}}])")
    page.wait_for_timeout(200)
    assert page.locator("nps-widget").count() == 1
    assert len(api.posts("eligibility")) == 1
    page.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_screenshots(browser: Any, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 720})
    page = open_host(context, MockApi())
    dialog = settled(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"widget-score-{width}.png"))
    dialog.get_by_role("button", name="9 out of 10").click()
    dialog.get_by_role("textbox").wait_for()
    page.screenshot(path=str(SCREENSHOTS / f"widget-comment-{width}.png"))
    assert (SCREENSHOTS / f"widget-comment-{width}.png").stat().st_size > 0
    context.close()


# -- the follow-up questions after the score, against the real web function on moto ----------------------

SUPPORT = {"en": "Support", "de": "Kundendienst", "es": "Atención al cliente"}


class RealApi(MockApi):
    """The widget's API answered by the real web function in-process (on the test's moto platform); the
    requests are still recorded in ``calls``."""

    def handle(self, route: Any) -> None:
        request = route.request
        path = request.url.split(API_ORIGIN, 1)[1].split("?", 1)[0]
        if path == "/w/v1/widget.js":
            super().handle(route)
            return
        headers = {"content-type": request.headers.get("content-type", ""), "origin": request.headers.get("origin")}
        if request.method == "POST":
            body = json.loads(request.post_data or "null")
            self.calls.append(Call(request.method, path.rsplit("/", 1)[-1], body, headers["origin"]))
        event = http_event(
            request.method, path, body=request.post_data, headers={k: v for k, v in headers.items() if v}
        )
        result = web_function.lambda_handler(event, LambdaContext("web"))
        route.fulfill(status=int(result["statusCode"]), body=result.get("body") or "", headers=result.get("headers"))


@pytest.fixture
def web_survey(platform: Any) -> Iterator[Any]:
    """The web survey asking a driver, CSAT and CES, its prompt allowed on the host app's origin."""
    web_function.service.cache_clear()
    survey = Survey.model_validate(
        {
            "survey_id": SURVEY_ID,
            "name": "Web survey",
            "brand_name": "Acme Cloud",
            "brand_colour": "#0f766e",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "locales": ["en", "de", "es"],
            "web": {"enabled": True, "allowed_origins": [APP_ORIGIN]},
            "reasons": REASONS_EN_DE_ES,
        }
    )
    DynamoSurveyRepository(platform.tables["surveys"]).put(survey)
    # Warm up: the first AWS call of a session also prepares the permission recorder (it synthesizes the
    # app), which takes longer than the widget waits for an answer.
    web_function.lambda_handler(http_event("OPTIONS", f"/w/v1/surveys/{SURVEY_ID}/eligibility"), LambdaContext("web"))
    yield platform
    web_function.service.cache_clear()


def _web_response(platform: Any, contact_id: str) -> dict[str, Any]:
    items = aws.client("dynamodb").scan(TableName=platform.tables["responses"], ConsistentRead=True)["Items"]
    (item,) = [i for i in items if i["contact_id"]["S"] == contact_id]
    return {k: next(iter(v.values())) for k, v in item.items()}


@pytest.mark.parametrize("locale", ["en", "de", "es"])
def test_the_follow_up_questions_pass_axe_at_phone_and_desktop_width_and_are_stored(
    browser: Any, web_survey: Any, locale: str
) -> None:
    texts = catalog(locale)
    questions = (
        texts["reason_driver_question"],
        texts["reason_csat_question"].format(brand="Acme Cloud"),
        texts["reason_ces_statement"].format(brand="Acme Cloud"),
    )
    for width in (320, 1280):
        # Given a contact of that language on the app, at a phone's or a desktop's width
        contact = f"c-{locale}-{width}"
        token = mint(web_survey.site_secret(SURVEY_ID), SURVEY_ID, contact, int(time.time()) + 600, locale=locale)
        context = browser.new_context(viewport={"width": width, "height": 740 if width == 320 else 800})
        api = RealApi()
        page = open_host(context, api, token=token)
        dialog = settled(page)
        # When they tap 4
        dialog.get_by_role("button", name=texts["web_score_label"].replace("{score}", "4"), exact=True).click()
        # Then the comment step asks each question as a group named by it (the texts came with eligibility)
        for name in questions:
            dialog.get_by_role("group", name=name).wait_for()
        assert [call.action for call in api.calls] == ["eligibility", "responses"]
        driver_group = dialog.get_by_role("group", name=questions[0])
        assert driver_group.get_by_role("radio").count() == 3
        assert dialog.get_by_role("group", name=questions[1]).get_by_role("radio").count() == 5
        assert dialog.get_by_role("group", name=questions[2]).get_by_role("radio").count() == 7
        # focus is on the first choice, the sheet fits the screen, and axe finds nothing
        assert driver_group.get_by_role("radio").first.evaluate("e => e.getRootNode().activeElement === e")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        box = dialog.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        assert_accessible(page)
        # When they choose a driver (by keyboard: arrows move within the group), CSAT 4 and CES 6, write
        # a comment and send
        page.keyboard.press("ArrowDown")
        assert driver_group.get_by_role("radio", name=SUPPORT[locale]).is_checked()
        dialog.get_by_role("group", name=questions[1]).get_by_role("radio", name="4", exact=True).check()
        dialog.get_by_role("group", name=questions[2]).get_by_role("radio", name="6", exact=True).check()
        dialog.get_by_role("textbox").fill({"en": "Too expensive", "de": "Zu teuer", "es": "Muy caro"}[locale])
        dialog.get_by_role("button", name=texts["web_send"]).click()
        dialog.get_by_role("status").filter(has_text=texts["web_thanks"]).wait_for()
        assert_accessible(page)
        # Then one request carried them with the comment, and they are on the contact's one response
        (sent,) = api.posts("comments")
        assert {key: sent[key] for key in ("driver", "csat", "ces", "score")} == {
            "driver": "support",
            "csat": 4,
            "ces": 6,
            "score": 4,
        }
        stored = _web_response(web_survey, contact)
        assert (stored["driver"], stored["csat"], stored["ces"], stored["score"]) == ("support", "4", "6", "4")
        assert stored["themes"] == [{"S": "price"}]
        context.close()


def test_choices_alone_are_sent_without_a_comment_and_an_unanswered_question_is_left_out(context: Any) -> None:
    questions = {
        "driver": {"question": "What mattered most?", "choices": [{"id": "price", "label": "Price"}]},
        "csat": {"question": "How satisfied are you?", "low": "1 = very dissatisfied", "high": "5 = very satisfied"},
    }
    api = MockApi(eligibility={"show": True, "ask_token": "ask-1", "prompt": prompt(questions=questions)})
    page = open_host(context, api)
    dialog = sheet(page)
    dialog.get_by_role("button", name="3 out of 10").click()
    group = dialog.get_by_role("group", name="How satisfied are you?")
    group.wait_for()
    # The scale's meaning describes the group; a question the survey does not ask is not shown
    assert group.get_attribute("aria-describedby") == "nps-csat-h"
    assert dialog.get_by_role("group").count() == 2
    group.get_by_role("radio", name="2", exact=True).check()
    dialog.get_by_role("button", name="Send").click()
    dialog.get_by_role("status").filter(has_text="Thank you").wait_for()
    assert api.posts("comments") == [{"ask_token": "ask-1", "score": 3, "csat": 2}]
    page.close()
