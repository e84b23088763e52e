"""respond λ: one-tap score links and the "why?" comment form, behind the HTTP API.

Thin: parse the request, call :class:`nps.responding.ResponseService`, render a page. Typed domain
errors map to friendly pages with the right status; nothing is recorded unless the link is valid.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from nps.config import settings
from nps.dal.invites import DynamoInviteRepository
from nps.dal.responses import DynamoResponseRepository
from nps.i18n import accept_language, resolve_locale
from nps.limits import MAX_COMMENT_LENGTH
from nps.rendering import render
from nps.responding import (
    PayloadTooLarge,
    ResponseError,
    ResponseService,
    UnsupportedMediaType,
)
from nps.signing import load_keyring

MAX_BODY_BYTES = 16 * 1024
HTML = "text/html; charset=utf-8"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
_KNOWN_ROUTES = ((re.compile(r"^/r/[^/]+$"), "GET, HEAD"), (re.compile(r"^/r/[^/]+/comment$"), "POST"))

logger = Logger(service="respond")
app = APIGatewayHttpResolver()


@lru_cache(maxsize=1)
def service() -> ResponseService:
    config = settings().require("invites_table", "responses_table", "signing_secret_name")
    return ResponseService(
        keyring=lambda: load_keyring(config.signing_secret_name),
        invites=DynamoInviteRepository(config.invites_table),
        responses=DynamoResponseRepository(config.responses_table),
    )


def _request_locale(preferred: str | None = None) -> str:
    header = app.current_event.headers.get("accept-language")
    return resolve_locale(preferred, *accept_language(header), settings().default_locale)


def page(
    template: str, status: int, locale: str, headers: dict[str, str] | None = None, **context: Any
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=HTML,
        body=render(template, locale, **context),
        headers=PAGE_HEADERS | (headers or {}),
    )


def message_page(message: str, status: int, locale: str | None = None, **headers: str) -> Response[str]:
    return page("pages/message.html", status, _request_locale(locale), headers=headers, message=message)


@app.get("/r/<token>")
def tap(token: str) -> Response[str]:
    result = service().tap(token, app.current_event.get_query_string_value("score"))
    invite = result.invite
    logger.info(
        "score recorded",
        extra={
            "invite_id": invite.invite_id,
            "survey_id": invite.survey_id,
            "outcome": result.recorded.outcome,
        },
    )
    return page(
        "pages/thank_you.html",
        200,
        _request_locale(invite.locale),
        score=result.recorded.score,
        comment_action=f"/r/{token}/comment",
        score_links=[f"/r/{token}?score={option}" for option in range(11)],
        max_comment_length=MAX_COMMENT_LENGTH,
    )


@app.route("/r/<token>", method="HEAD")
def tap_head(token: str) -> Response[str]:
    """HEAD is read-only: link checkers and mail scanners learn the link works, nothing is recorded."""
    return Response(status_code=200, content_type=HTML, body="", headers=PAGE_HEADERS)


@app.post("/r/<token>/comment")
def comment(token: str) -> Response[str]:
    invite = service().comment(token, _form_field("comment"))
    logger.info("comment saved", extra={"invite_id": invite.invite_id, "survey_id": invite.survey_id})
    return page("pages/comment_saved.html", 200, _request_locale(invite.locale))


def _form_field(name: str) -> str | None:
    """One field of a URL-encoded form body, strictly decoded (size, encoding and UTF-8 checked)."""
    event = app.current_event
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in ("", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType("form bodies must be application/x-www-form-urlencoded")
    raw_body = event.get("body") or ""
    if len(raw_body) > MAX_BODY_BYTES * 2:
        raise PayloadTooLarge()
    try:
        body = (
            base64.b64decode(raw_body, validate=True) if event.get("isBase64Encoded") else raw_body.encode()
        )
    except (binascii.Error, ValueError) as error:
        raise ResponseError("the body is not valid base64") from error
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10, errors="strict")
    except (UnicodeDecodeError, ValueError) as error:
        raise ResponseError("the form body is not valid UTF-8 form data") from error
    values = fields.get(name)
    return values[0] if values else None


@app.exception_handler(ResponseError)  # type: ignore[untyped-decorator]
def response_error(error: ResponseError) -> Response[str]:
    logger.info("request refused", extra={"reason": error.reason, "status": error.status})
    return message_page(error.reason, error.status, error.locale)


@app.not_found
def not_found(_: Exception) -> Response[str]:
    path = app.current_event.path
    for pattern, allowed in _KNOWN_ROUTES:
        if pattern.match(path):
            return message_page("method_not_allowed", 405, Allow=allowed)
    return message_page("not_found", 404)


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected(error: Exception) -> Response[str]:
    logger.exception("unexpected error while responding")
    return message_page("server_error", 500)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
