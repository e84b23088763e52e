"""The in-app/website widget in Chromium, on a customer page under a strict CSP, against route mocks of
the widget API: what it shows, how it is operated by keyboard and pointer, what it posts, and that it
stays inside the host page's rules (CSP, console, layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.accessibility import assert_accessible
from tests.browser.widget_host import MockApi, contact_token, open_host, prompt, settled, sheet, wait_until

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
