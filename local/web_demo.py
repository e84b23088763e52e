"""``make serve``: a fake customer app that embeds the web widget, as a team's app would.

``/_local/app`` is the app's page. It is served on ``http://localhost:<port>`` while the widget and its
API answer on ``http://127.0.0.1:<port>``: two origins, so the demo goes through CORS and the survey's
allow-list exactly as a real deployment does. The page carries a strict Content-Security-Policy (no
``'unsafe-inline'``, no ``'unsafe-eval'``; scripts from itself and the API origin only) and mints a
contact token on the server for each page load, as the team's backend would (the browser never sees the
site secret). Query parameters: ``contact`` (a contact id, default ``web-demo-1``; any id is allowed, also
one nobody imported), ``locale`` (``en``, ``es`` or ``de``; the token's ``l`` claim).

``/_local/app.js``, ``/_local/app.css`` and ``/_local/app.svg`` are the app's own script, styles and icon
(allowed by ``'self'``): the script queues ``nps.identify`` before the widget loads and lists the
widget's events on the page.
"""

from __future__ import annotations

import re
import time
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode

if TYPE_CHECKING:
    from local.environment import LocalStack

SURVEY_ID = "local-survey"
DEFAULT_CONTACT = "web-demo-1"
LOCALES = ("en", "es", "de")
#: How long a minted token lives (seconds): a token is minted per page load, so minutes are plenty.
TOKEN_LIFETIME_SECONDS = 3600
_CONTACT_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")

APP_SCRIPT = """\
(function () {
  "use strict";
  // The documented snippet: queue the call; the widget replays it once it has loaded.
  window.nps = window.nps || { q: [] };
  var log = document.getElementById("events");
  window.npsEvents = [];
  window.nps.onEvent = function (event) {
    window.npsEvents.push(event);
    var item = document.createElement("li");
    item.textContent = JSON.stringify(event);
    log.appendChild(item);
  };
  var token = document.body.getAttribute("data-contact-token");
  if (token) { window.nps.q.push(["identify", { contactToken: token }]); }
  var again = document.getElementById("again");
  if (again) {
    again.addEventListener("click", function () { window.nps.identify({ contactToken: token }); });
  }
})();
"""

APP_STYLES = """\
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f3f4f6}
header{background:#0f766e;color:#fff;padding:1rem 1.5rem}
header h1{margin:0;font-size:1.25rem}
main{max-width:48rem;margin:0 auto;padding:1.5rem}
section{background:#fff;border-radius:8px;padding:1rem 1.5rem;margin-bottom:1rem}
code{background:#e5e7eb;padding:0 .25rem;border-radius:4px}
button{font:inherit;min-height:44px;padding:0 1rem}
"""

#: The app's icon (so the browser's icon request finds one on the app's own origin).
APP_ICON = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
    "<rect width='16' height='16' rx='3' fill='#0f766e'/></svg>"
)


def app_policy(api_origin: str) -> str:
    """The demo page's Content-Security-Policy: the two entries the widget needs (``script-src`` and
    ``connect-src`` for the API origin), and nothing inline."""
    return (
        f"default-src 'none'; script-src 'self' {api_origin}; connect-src {api_origin}; style-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def app_origin(api_base: str) -> str:
    """The app's origin for an API on ``http://127.0.0.1:<port>``: ``http://localhost:<port>``."""
    return api_base.replace("://127.0.0.1:", "://localhost:", 1)


def app_page(stack: LocalStack, api_base: str, query: str, now: float | None = None) -> tuple[int, str]:
    """The app's page (status, HTML) for the query string ``query``; 400 with a short page when the
    contact id or locale is not acceptable."""
    from nps.channels.site_tokens import mint

    params = parse_qs(query)
    contact = params.get("contact", [DEFAULT_CONTACT])[0]
    locale = params.get("locale", ["en"])[0]
    if not _CONTACT_RE.fullmatch(contact) or locale not in LOCALES:
        body = "<!doctype html><html lang='en'><title>Bad request</title><p>contact: 1-64 of A-Z a-z 0-9 _ -; "
        return 400, body + f"locale: one of {', '.join(LOCALES)}.</p></html>"
    expires_at = int(now if now is not None else time.time()) + TOKEN_LIFETIME_SECONDS
    token = mint(stack.site_secret(SURVEY_ID), SURVEY_ID, contact, expires_at, locale=locale)
    others = " · ".join(
        f"<a href='/_local/app?{escape(urlencode({'contact': f'web-demo-{n}', 'locale': code}))}'>"
        f"web-demo-{n} ({code})</a>"
        for n, code in ((1, "en"), (2, "es"), (3, "de"))
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Acme Cloud — dashboard (demo app)</title><link rel='stylesheet' href='/_local/app.css'>"
        "<link rel='icon' href='/_local/app.svg' type='image/svg+xml'></head>"
        f"<body data-contact-token='{escape(token)}'>"
        "<header><h1>Acme Cloud</h1></header><main>"
        f"<section><h2>Signed in as {escape(contact)} ({escape(locale)})</h2>"
        "<p>This page stands for a customer's web app. Its server minted a contact token for the person "
        "(valid one hour) and the page calls <code>nps.identify</code>; the platform decides whether to ask.</p>"
        f"<p>Sign in as someone else: {others}</p>"
        "<p><button id='again' type='button'>Identify again</button></p></section>"
        "<section><h2>Widget events</h2><ol id='events'></ol></section>"
        "<section><h2>Embedding</h2><p>This page's Content-Security-Policy has no <code>'unsafe-inline'</code>; "
        f"the widget needs only <code>script-src {escape(api_base)}</code> and "
        f"<code>connect-src {escape(api_base)}</code> (docs/web-widget.md).</p></section>"
        "</main><script src='/_local/app.js'></script>"
        f"<script src='{escape(api_base)}/w/v1/widget.js' async></script></body></html>"
    )
    return 200, page


def serve(stack: LocalStack, api_base: str, path: str, query: str) -> tuple[int, bytes, dict[str, str]] | None:
    """The response to ``path`` if it belongs to the demo app (status, body, headers), else ``None``."""
    common = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if path == "/_local/app":
        status, page = app_page(stack, api_base, query)
        headers = common | {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": app_policy(api_base)}
        return status, page.encode(), headers
    if path == "/_local/app.js":
        return 200, APP_SCRIPT.encode(), common | {"Content-Type": "text/javascript; charset=utf-8"}
    if path == "/_local/app.svg":
        return 200, APP_ICON.encode(), common | {"Content-Type": "image/svg+xml"}
    if path == "/_local/app.css":
        return 200, APP_STYLES.encode(), common | {"Content-Type": "text/css; charset=utf-8"}
    return None
