"""``make serve``: the real respond function over HTTP on 127.0.0.1, against moto in this process.

Seeds a handful of invites (across locales and channels) and their contacts, writes
``demo-output/inbox.html`` with the messages as they are sent, and serves:

* every request under ``/u/...`` as an API Gateway HTTP API event to ``functions.unsubscribe.handler``,
  every other one to ``functions.respond.handler`` (as the HTTP API's routes do);
* ``/_local/inbox`` — the seeded messages rendered by the real templates in each invite's locale: each
  email (with its score links, hidden preview link and unsubscribe link) and each SMS text, with the
  invite's unsubscribe link beside it (the text itself says STOP), so a person can tap a score or
  unsubscribe;
* ``/_local/messages/<invite_id>`` — one email on its own, as a mail client would show it;
* ``/_local/responses/<invite_id>`` — the stored response as JSON (for checking what a tap did);
* ``/_local/app`` — a customer's web app embedding the web widget (:mod:`local.web_demo`), linked from
  the inbox; open it on ``http://localhost:<port>`` so the widget's API is another origin.
"""

from __future__ import annotations

import argparse
import base64
import errno
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from local import arguments, web_demo
from local.environment import LocalStack, create_stack, prepare_process_environment
from local.lambda_events import LambdaContext, http_event

if TYPE_CHECKING:
    from nps.sending.messages import InviteLinks
    from nps.sending.surveys import Survey

MAX_BODY_BYTES = 64 * 1024
OUTPUT = Path(__file__).resolve().parents[1] / "demo-output"


#: The survey the seeded invites belong to (its brand and wording render the local inbox).
LOCAL_SURVEY: dict[str, Any] = {
    "survey_id": "local-survey",
    "name": "Local survey",
    "brand_name": "Acme Cloud",
    "brand_colour": "#0f766e",
    "sender": "surveys@example.com",
    "channels": ["email", "sms"],
    "locales": ["en", "es", "de"],
    "website_url": "https://acme.example/",
}


@dataclass
class SeededInvite:
    invite_id: str
    locale: str
    channel: str
    token: str
    #: The invite's signed unsubscribe token (``/u/<token>``), as every message carries it.
    unsubscribe_token: str = ""

    def score_url(self, base: str, score: int) -> str:
        return f"{base}/r/{self.token}?score={score}"

    def unsubscribe_url(self, base: str) -> str:
        return f"{base}/u/{self.unsubscribe_token}"

    def links(self, base: str) -> InviteLinks:
        """The links a message of this invite carries, on ``base``."""
        from nps.sending.messages import InviteLinks

        page = f"{base}/r/{self.token}"
        return InviteLinks(
            score_links=tuple(self.score_url(base, score) for score in range(11)),
            score_page=page,
            unsubscribe=self.unsubscribe_url(base),
            preview=f"{page}/p",
        )


@dataclass
class LocalServer:
    httpd: ThreadingHTTPServer
    stack: LocalStack
    invites: list[SeededInvite] = field(default_factory=list)
    thread: threading.Thread | None = None
    #: Requests being handled now (each on its own thread); :meth:`stop` waits for them to end.
    in_flight: int = 0
    idle: threading.Condition = field(default_factory=threading.Condition)
    #: Set when :meth:`stop` begins: a connection accepted before it whose request is read after is refused.
    stopping: bool = False

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop accepting, then wait (up to ``drain_seconds``) for the requests being handled to finish, so
        none runs on against a platform its owner has torn down (request threads are daemons). A request on
        a connection accepted before the stop, read after it, is answered 503 and runs no function."""
        with self.idle:
            self.stopping = True
        self.httpd.shutdown()
        with self.idle:
            self.idle.wait_for(lambda: self.in_flight == 0, timeout=drain_seconds)
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    @contextmanager
    def handling(self) -> Iterator[bool]:
        """Count one request as in flight for the block; yields False (and counts nothing) once :meth:`stop`
        has begun, when the request must not be handled."""
        with self.idle:
            admitted = not self.stopping
            if admitted:
                self.in_flight += 1
        try:
            yield admitted
        finally:
            if admitted:
                with self.idle:
                    self.in_flight -= 1
                    self.idle.notify_all()


def seed(stack: LocalStack, count: int = 6) -> list[SeededInvite]:
    """Issue invites across locales and channels, sent ten minutes ago (as if delivered), each to a
    contact of the default audience with an example address (so an unsubscribe suppresses it)."""
    from nps.kernel.periods import iso_timestamp
    from nps.links.tokens import Purpose, sign
    from nps.responding.adapters.invites import DynamoInviteRepository, Invite
    from nps.sending.adapters.contacts import DynamoContactRepository
    from nps.sending.contacts import Contact

    survey = local_survey()  # no logo: the local pages load nothing external

    repository = DynamoInviteRepository(stack.tables["invites"])
    contacts = DynamoContactRepository(stack.tables["contacts"])
    expires_at = int(time.time()) + 30 * 86400
    seeded = []
    for index in range(count):
        locale = ("en", "es", "de")[index % 3]
        channel = "sms" if index % 2 else "email"
        invite_id = f"local-{index:03d}"
        contact_id = f"contact-{index:03d}"
        if channel == "sms":
            # 555-01xx: the North American numbers set aside for fiction, never a real person's.
            contact = Contact(contact_id=contact_id, locale=locale, phone=f"+1415555{100 + index:04d}")
        else:
            contact = Contact(contact_id=contact_id, locale=locale, email=f"{contact_id}@example.com")
        contacts.upsert(contact)
        repository.put(
            Invite(
                invite_id=invite_id,
                survey_id="local-survey",
                wave_id="local-wave",
                contact_id=contact_id,
                channel=channel,
                locale=locale,
                expires_at=expires_at,
                sent_at=iso_timestamp(datetime.now(UTC) - timedelta(minutes=10)),
                segments={"plan": ("starter", "enterprise")[index % 2]},
                page=survey.page_brand(locale),  # as the planner copies it
            )
        )
        token = sign(stack.keyring, Purpose.RESPOND, invite_id, expires_at)
        unsubscribe = sign(stack.keyring, Purpose.UNSUBSCRIBE, invite_id, expires_at)
        seeded.append(SeededInvite(invite_id, locale, channel, token, unsubscribe))
    return seeded


def seed_web_survey(stack: LocalStack, origins: tuple[str, ...]) -> None:
    """Store :data:`LOCAL_SURVEY` with its web prompt on, allowed on ``origins`` (the local server's own
    origins), so a host page served locally can embed the widget. Mint a contact token for it with
    :func:`nps.channels.site_tokens.mint` and ``stack.site_secret(LOCAL_SURVEY["survey_id"])``."""
    from nps.sending.adapters.surveys import DynamoSurveyRepository
    from nps.sending.surveys import Survey

    definition = LOCAL_SURVEY | {
        "web": {"enabled": True, "allowed_origins": list(origins), "dismissal_delay_days": 30},
        "segment_dimensions": ["plan"],
        # Its anonymous share link too: /s/local-survey (`nps survey share-link local-survey --qr x.svg`).
        "share_link": {"enabled": True},
    }
    DynamoSurveyRepository(stack.tables["surveys"]).put(Survey.model_validate(definition))


def local_survey() -> Survey:
    from nps.sending.surveys import Survey

    return Survey.model_validate(LOCAL_SURVEY)


def email_html(base_url: str, invite: SeededInvite) -> str:
    """The invite's email as it is sent (HTML part), its links on ``base_url``."""
    from nps.sending.messages import render_email

    return render_email(local_survey(), invite.locale, invite.links(base_url)).html


def sms_text(base_url: str, invite: SeededInvite) -> str:
    """The invite's SMS as it is sent, in the invite's locale."""
    from nps.sending.messages import render_sms

    return render_sms(local_survey(), invite.locale, invite.links(base_url))


def inbox_html(base_url: str, invites: list[SeededInvite]) -> str:
    """A page of messages as their recipients would see them, rendered by the real templates in each
    invite's locale: each email in a frame (its links open in a new tab), each SMS as its text with
    the link made tappable and the invite's unsubscribe link below it."""
    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'><meta name='viewport' content='width=device-width'>",
        "<title>Local inbox</title><body style='font-family:system-ui,sans-serif;margin:1rem;max-width:40rem'>",
        "<main><h1>Local inbox</h1>",
        f"<p><a class='web-app' href='{escape(web_demo.app_origin(base_url))}/_local/app'>A customer's web app with the"
        " in-app survey</a> (the web widget, on another origin under a strict CSP)</p>",
    ]
    for invite in invites:
        heading = f"{invite.invite_id}: {invite.channel}, {invite.locale}"
        parts.append(
            f"<section class='message' data-invite='{escape(invite.invite_id)}' data-channel='{invite.channel}'>"
        )
        parts.append(f"<h2>{escape(heading)}</h2>")
        unsubscribe = escape(invite.unsubscribe_url(base_url))
        if invite.channel == "sms":
            text = sms_text(base_url, invite)
            link = invite.links(base_url).score_page
            body = escape(text).replace(escape(link), f"<a href='{escape(link)}'>{escape(link)}</a>")
            parts.append(f"<p class='sms' lang='{escape(invite.locale)}'>{body}</p>")
            parts.append(
                f"<p>Unsubscribe link of this invite: <a class='unsubscribe' href='{unsubscribe}'>{unsubscribe}</a></p>"
            )
        else:
            html = email_html(base_url, invite).replace("<head>", "<head><base target='_blank'>", 1)
            own = escape(f"{base_url}/_local/messages/{invite.invite_id}")
            parts.append(f"<p><a href='{own}'>Open this email on its own</a></p>")
            parts.append(
                f"<iframe class='email' title='{escape(heading)}' srcdoc='{escape(html)}' "
                "style='width:100%;height:40rem;border:1px solid #6b7280'></iframe>"
            )
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "".join(parts)


class _Handler(BaseHTTPRequestHandler):
    server_version = "nps-local"
    local: LocalServer

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("NPS_LOCAL_ACCESS_LOG"):
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self) -> None:
        with self.local.handling() as admitted:
            if not admitted:
                self._send(503, b"the local server is stopping\n", {"Content-Type": "text/plain; charset=utf-8"})
                return
            self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_local/inbox":
            page = inbox_html(self.local.base_url, self.local.invites).encode()
            self._send(200, page, {"Content-Type": "text/html; charset=utf-8"})
            return
        if url.path.startswith("/_local/app"):
            demo = web_demo.serve(self.local.stack, self.local.base_url, url.path, url.query)
            if demo is not None:
                self._send(*demo)
                return
        if url.path.startswith("/_local/responses/"):
            self._send_response_item(url.path.rsplit("/", 1)[-1])
            return
        if url.path.startswith("/_local/messages/"):
            invite_id = url.path.rsplit("/", 1)[-1]
            invite = next((i for i in self.local.invites if i.invite_id == invite_id and i.channel == "email"), None)
            if invite is None:
                self._send(404, b"no such email", {"Content-Type": "text/plain"})
                return
            page = email_html(self.local.base_url, invite).encode()
            self._send(200, page, {"Content-Type": "text/html; charset=utf-8"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(413, b"request body too large", {"Content-Type": "text/plain"})
            return
        body = self.rfile.read(length) if length else None
        # As API Gateway's HTTP API does: a repeated parameter arrives once, its values joined by commas.
        joined: dict[str, list[str]] = {}
        for name, value in parse_qsl(url.query, keep_blank_values=True):
            joined.setdefault(name, []).append(value)
        query = {name: ",".join(values) for name, values in joined.items()} or None
        headers = {name.lower(): value for name, value in self.headers.items()}
        event = http_event(self.command, url.path, query, body=body, headers=headers, source_ip=self.client_address[0])
        event["rawQueryString"] = url.query
        # The HTTP API's routes: /u/{token} to the unsubscribe function, /w/v1/... to the web prompt's
        # function, /s/{survey_id} to the share link's, everything else to respond.
        if url.path.startswith("/u/"):
            from functions.unsubscribe import handler as unsubscribe

            result = unsubscribe.lambda_handler(event, LambdaContext("unsubscribe"))
        elif url.path.startswith("/w/"):
            from functions.web import handler as web

            result = web.lambda_handler(event, LambdaContext("web"))
        elif url.path.startswith("/s/"):
            from functions.share import handler as share

            result = share.lambda_handler(event, LambdaContext("share"))
        else:
            from functions.respond import handler as respond

            result = respond.lambda_handler(event, LambdaContext("respond"))
        payload = result.get("body") or ""
        raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        response_headers = dict(result.get("headers") or {})
        for cookie in result.get("cookies") or []:
            response_headers.setdefault("Set-Cookie", cookie)
        self._send(int(result["statusCode"]), raw, response_headers)

    def _send_response_item(self, invite_id: str) -> None:
        from boto3.dynamodb.types import TypeDeserializer

        from nps.kernel import aws

        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self.local.stack.tables["responses"], Key={"invite_id": {"S": invite_id}}, ConsistentRead=True
            )
            .get("Item")
        )
        if not item:
            self._send(404, b"{}", {"Content-Type": "application/json"})
            return
        plain = {k: TypeDeserializer().deserialize(v) for k, v in item.items()}
        self._send(200, json.dumps(plain, default=_json_value).encode(), {"Content-Type": "application/json"})

    def __getattr__(self, name: str) -> Any:
        # Every method goes to the function, as API Gateway's $default route sends it (405s come from there).
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value, key=str)
    return str(value)


def start(port: int = 0, invites: int = 6) -> LocalServer:
    """Start the moto-backed platform and the HTTP server in background threads (call inside mock_aws)."""
    from nps.kernel import aws

    aws.reset_clients()
    return start_on(create_stack("nps-local"), port, invites)


def start_on(stack: LocalStack, port: int = 0, invites: int = 6) -> LocalServer:
    """Serve an existing local stack (the tests' moto platform, for instance)."""
    from functions.unsubscribe import handler as unsubscribe
    from functions.web import handler as web

    unsubscribe.service.cache_clear()  # its tables and secrets are this stack's
    web.service.cache_clear()
    handler: type[_Handler] = type("Handler", (_Handler,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    bound = httpd.server_address[1]
    seed_web_survey(stack, (f"http://127.0.0.1:{bound}", f"http://localhost:{bound}"))
    server = LocalServer(httpd, stack, seed(stack, invites))
    handler.local = server
    server.thread = threading.Thread(target=httpd.serve_forever, name="nps-local-http", daemon=True)
    server.thread.start()
    return server


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C (exit status 0); a taken port is one line on stderr and exit status 1."""
    parser = argparse.ArgumentParser(
        prog="python -m local.server", description="Serve the response pages locally on moto."
    )
    parser.add_argument(
        "--port", type=arguments.port, default=8080, help="port to listen on (default 8080; 0: any free port)"
    )
    parser.add_argument("--invites", type=arguments.positive_int, default=6, help="invites to seed (default 6)")
    args = parser.parse_args(argv)
    prepare_process_environment()
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from moto import mock_aws

    with mock_aws():
        try:
            server = start(args.port, args.invites)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            print(arguments.port_in_use("python -m local.server", args.port), file=sys.stderr)
            return 1
        OUTPUT.mkdir(exist_ok=True)
        inbox = OUTPUT / "inbox.html"
        inbox.write_text(inbox_html(server.base_url, server.invites), "utf-8")
        print(f"Serving the response API on {server.base_url} (moto in-process). Ctrl-C stops it.")
        print(f"Open {server.base_url}/_local/inbox (also written to {inbox}) and tap a score.")
        print(f"The in-app survey on a customer's page: {web_demo.app_origin(server.base_url)}/_local/app")
        for invite in server.invites:
            print(f"  {invite.invite_id} {invite.channel:<5} {invite.locale}: {invite.score_url(server.base_url, 9)}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
