"""A fake customer app for the widget's browser tests: a host page on its own origin under a strict
Content-Security-Policy (no 'unsafe-inline', no 'unsafe-eval'), the widget served from the API origin,
and the widget's HTTP API answered by Playwright route mocks that record every request.

The host page's own script (``/app.js``, allowed by ``script-src 'self'``) calls ``nps.identify`` through
the documented stub before the widget loads, keeps every ``onEvent`` call in ``window.npsEvents`` and
every CSP violation the page reports in ``window.cspViolations``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WIDGET = Path(__file__).resolve().parents[2] / "templates" / "web" / "widget.js"
APP_ORIGIN = "https://app.example"
API_ORIGIN = "https://api.example"
SURVEY_ID = "web-survey"
#: The host's policy: scripts from itself and the API only, fetches to the API only, styles from itself only.
STRICT_CSP = (
    f"default-src 'none'; script-src 'self' {API_ORIGIN}; connect-src {API_ORIGIN}; style-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'self'"
)

HOST_SCRIPT = """
window.npsEvents = [];
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "") + " " + (e.sample || ""));
});
// The documented stub: nps.identify works before the widget has loaded (the call waits in nps.q).
window.nps = window.nps || { q: [] };
["identify", "dismiss", "reset"].forEach(function (m) {
  nps[m] = nps[m] || function () { nps.q.push([m].concat([].slice.call(arguments))); };
});
window.nps.onEvent = function (event) { window.npsEvents.push(event); };
var token = document.body.getAttribute("data-token");
if (token) { nps.identify({ contactToken: token }); }
"""


def contact_token(survey_id: str = SURVEY_ID, contact_id: str = "c-1") -> str:
    """A token shaped like the real ones (``v1.<kid>.<payload>.<signature>``); the mocks do not check the
    signature, the widget only reads the survey id from the payload."""
    payload = json.dumps({"s": survey_id, "c": contact_id, "exp": 4_102_444_800}).encode()
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return f"v1.k1.{encoded}.c2lnbmF0dXJl"


def host_page(token: str | None, before: str = "") -> str:
    """The customer's page: a heading, a link and a button of its own, then its script and the widget's."""
    token_attribute = f' data-token="{token}"' if token else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>Acme app</title>"
        f"<link rel='stylesheet' href='/app.css'></head><body{token_attribute}><main><h1>Acme dashboard</h1>"
        f"<p>Your projects.</p>{before}<button id='help' type='button'>Help</button></main>"
        f"<script src='/app.js'></script><script src='{API_ORIGIN}/w/v1/widget.js' async></script>"
        "</body></html>"
    )


def prompt(**overrides: Any) -> dict[str, Any]:
    """An eligibility answer's prompt as the server sends it (English, left to right, a teal brand)."""
    value: dict[str, Any] = {
        "locale": "en",
        "dir": "ltr",
        "question": "How likely are you to recommend Acme Cloud to a friend or colleague?",
        "follow_up_question": "What is the main reason for your score?",
        "brand": {"name": "Acme Cloud", "colour": "#0f766e", "logo_url": None},
        "labels": {
            "low": "Not at all likely",
            "high": "Extremely likely",
            "close": "Close",
            "send": "Send",
            "skip": "Skip",
            "thanks": "Thank you for your feedback!",
            "comment_label": "Optional. Up to 2,000 characters.",
            "score_label": "{score} out of 10",
            "error": "Your answer was not saved.",
            "retry": "Try again",
        },
    }
    value.update(overrides)
    return value


@dataclass
class Call:
    method: str
    action: str
    body: Any
    origin: str | None


@dataclass
class MockApi:
    """The widget's HTTP API as route mocks. ``eligibility`` is the body answered to eligibility; an
    entry of ``failures`` (an action name) makes the next request for that action fail at the network."""

    eligibility: dict[str, Any] = field(
        default_factory=lambda: {"show": True, "ask_token": "ask-1", "prompt": prompt()}
    )
    failures: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    widget_source: str = field(default_factory=lambda: WIDGET.read_text("utf-8"))

    def posts(self, action: str) -> list[Any]:
        return [call.body for call in self.calls if call.method == "POST" and call.action == action]

    def handle(self, route: Any) -> None:
        request = route.request
        path = request.url.split(API_ORIGIN, 1)[1].split("?", 1)[0]
        if path == "/w/v1/widget.js":
            route.fulfill(
                status=200, body=self.widget_source, headers={"Content-Type": "text/javascript; charset=utf-8"}
            )
            return
        action = path.rsplit("/", 1)[-1]
        origin = request.headers.get("origin")
        cors = {
            "Access-Control-Allow-Origin": origin or "",
            "Vary": "Origin",
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
        }
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return
        body = json.loads(request.post_data or "null")
        self.calls.append(Call(request.method, action, body, origin))
        if action in self.failures:
            self.failures.remove(action)
            route.abort("connectionreset")
            return
        answers: dict[str, Any] = {
            "eligibility": self.eligibility,
            "responses": {"recorded": True, "category": "passive"},
            "comments": {"recorded": True},
            "dismissals": {"recorded": True},
        }
        route.fulfill(
            status=200,
            body=json.dumps(answers[action]),
            headers=cors | {"Content-Type": "application/json", "Cache-Control": "no-store"},
        )


def open_host(
    context: Any,
    api: MockApi,
    token: str | None = None,
    before: str = "",
    css: str = "body{font-family:sans-serif;margin:2rem}",
) -> Any:
    """A new page in ``context`` on the host app (``https://app.example/``) with the mocks routed.
    Returns the page once the widget's script has run."""
    page = context.new_page()
    html = host_page(token if token is not None else contact_token(), before)

    def app(route: Any) -> None:
        path = route.request.url.split(APP_ORIGIN, 1)[1]
        if path.startswith("/app.js"):
            route.fulfill(status=200, body=HOST_SCRIPT, headers={"Content-Type": "text/javascript"})
        elif path.startswith("/app.css"):
            route.fulfill(status=200, body=css, headers={"Content-Type": "text/css"})
        else:
            route.fulfill(
                status=200, body=html, headers={"Content-Type": "text/html", "Content-Security-Policy": STRICT_CSP}
            )

    page.route(f"{APP_ORIGIN}/**", app)
    page.route(f"{API_ORIGIN}/**", api.handle)
    page.goto(f"{APP_ORIGIN}/")
    wait_until(page, lambda: page.evaluate("!!(window.nps && window.nps.version === '1')"))
    return page


def sheet(page: Any) -> Any:
    """The widget's dialog (Playwright locators pierce its open shadow root)."""
    return page.get_by_role("dialog")


def settled(page: Any) -> Any:
    """The widget's dialog, once on screen and its slide-in animation (if any) has finished."""
    dialog = sheet(page)
    dialog.wait_for()
    dialog.evaluate("e => Promise.all(e.getAnimations().map(a => a.finished))")
    return dialog


def wait_until(page: Any, predicate: Callable[[], bool], timeout_ms: int = 5_000) -> None:
    """Poll ``predicate`` (a check on the page or on what the mocks recorded) while the page runs, up to
    ``timeout_ms``. (The host's CSP forbids the string evaluation ``page.wait_for_function`` relies on.)"""
    waited = 0
    while not predicate():
        if waited >= timeout_ms:
            raise AssertionError("the condition did not become true")
        page.wait_for_timeout(50)
        waited += 50
