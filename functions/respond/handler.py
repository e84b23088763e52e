"""respond λ: one-tap score links and the "why?" comment form, behind the HTTP API.

Thin: parse the request, call :class:`nps.responding.service.ResponseService`, render a page. Typed domain
errors map to friendly pages with the right status; nothing is recorded unless the link is valid.

Two doors lead to the same route code. A request of a link's page (``/r/{token}``, ``/r/{token}/comment``,
``/r/{token}/p``) with a token of URL-safe characters (every link this platform writes, and every
scanner's fetch of one) is answered directly, without the Powertools resolver, by the route of its method
or the 405 page. Any other request (an unknown route, another spelling of the path or token) goes to
:func:`resolver`, the Powertools resolver with the same routes and pages, loaded only when such a request
comes: its package is about a fifth of a cold start (``make bench``; tests/architecture). It also
documents the routes (:mod:`functions.openapi`). Both doors answer the same bytes
(tests/integration/test_respond_doors.py).
"""

# No ``from __future__ import annotations``: the resolver's routes are defined inside a function, and
# Powertools reads their annotations (the ``score`` query, the answer type) as objects to document them.
import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from markupsafe import Markup

from nps.kernel import replies
from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.categories import MAX_COMMENT_LENGTH, ScoreOutOfRange, parse_score
from nps.kernel.config import settings
from nps.kernel.locales import accept_language, resolve_locale, templates_dir
from nps.kernel.rendering import HTML, PAGE_HEADERS, page_headers, render
from nps.kernel.replies import Reply
from nps.kernel.request_bodies import lower_headers
from nps.links.adapters.keyring import load_keyring
from nps.reasons.answers import FollowUpAnswers
from nps.reasons.scales import CES_MAX, CES_MIN, CSAT_MAX, CSAT_MIN
from nps.responding.adapters.invites import DynamoInviteRepository, Invite
from nps.responding.adapters.responses import MAX_COMMENTS_PER_RESPONSE, DynamoResponseRepository, RecordOutcome
from nps.responding.adapters.taxonomy import DynamoThemeTagger
from nps.responding.service import (
    BadScore,
    EmptyComment,
    PayloadTooLarge,
    ResponseError,
    ResponseService,
    TooManyComments,
    UnsupportedMediaType,
)

if TYPE_CHECKING:  # the resolver and its OpenAPI types load only with the resolver
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.openapi.types import (
        OpenAPIResponse,
        OpenAPIResponseContentModel,
        OpenAPIResponseContentSchema,
    )

MAX_BODY_BYTES = 32 * 1024  # a 2,000-character comment, percent-encoded, fits with room to spare
_KNOWN_ROUTES = (
    (re.compile(r"^/r/[^/]+$"), "GET, HEAD, POST"),
    (re.compile(r"^/r/[^/]+/comment$"), "POST"),
    (re.compile(r"^/r/[^/]+/p$"), "GET, HEAD"),
)
_PAGE: "dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel]" = {
    "text/html": {"schema": {"type": "string"}}
}

# What each route answers, one row per route: the statuses and their meaning in the OpenAPI document
# (docs/openapi/responses.json). Every answer is an HTML page (HEAD: its status and headers only).
_LINK_INVALID = "Link invalid"
_LINK_EXPIRED = "Link expired"
_BODY_TOO_LARGE = "Body larger than 32 KiB"
_NOT_A_FORM = "Body not application/x-www-form-urlencoded"
ROUTE_STATUSES: dict[tuple[str, str], dict[int, str]] = {
    ("GET", "/r/<token>"): {
        200: "Thank-you page, or the score picker",
        400: "Score not an integer 0–10, or more than one score",
        403: f"{_LINK_INVALID} (tampered, truncated or signed with an unknown key)",
        410: f"{_LINK_EXPIRED}, or its invite aged out",
    },
    ("POST", "/r/<token>"): {
        200: "Thank-you page",
        400: "Score missing or not an integer 0–10; malformed form body",
        403: _LINK_INVALID,
        410: _LINK_EXPIRED,
        413: _BODY_TOO_LARGE,
        415: _NOT_A_FORM,
    },
    ("HEAD", "/r/<token>"): {
        200: "The link is valid (no body)",
        403: f"{_LINK_INVALID} (no body)",
        410: f"{_LINK_EXPIRED} (no body)",
    },
    ("GET", "/r/<token>/p"): {200: "An empty page", 403: _LINK_INVALID, 410: _LINK_EXPIRED},
    ("POST", "/r/<token>/comment"): {
        200: "Comment saved page",
        400: (
            f"Comment empty with no follow-up answer (the form again, with the text, when a score was sent), "
            f"longer than {MAX_COMMENT_LENGTH:,} characters; a follow-up answer the invite does not ask or "
            f"allow (unknown driver, CSAT not 1–5, CES not 1–7, one ASCII digit); or malformed body"
        ),
        403: _LINK_INVALID,
        409: "No answer on record yet, and no score sent with the comment",
        410: _LINK_EXPIRED,
        413: _BODY_TOO_LARGE,
        415: _NOT_A_FORM,
        429: f"The answer already took its {MAX_COMMENTS_PER_RESPONSE} comments: this one is not saved",
    },
}


def _documented(method: str, path: str) -> "dict[int, OpenAPIResponse]":
    """The OpenAPI ``responses`` of one route, from :data:`ROUTE_STATUSES`."""
    return {status: {"description": text, "content": _PAGE} for status, text in ROUTE_STATUSES[(method, path)].items()}


logger = Logger(service="respond")
metrics = Metrics(namespace="NPS", service="respond")


@lru_cache(maxsize=1)
def service() -> ResponseService:
    config = settings().require("invites_table", "responses_table", "signing_secret_name")
    return ResponseService(
        keyring=lambda: load_keyring(config.signing_secret_name),
        invites=DynamoInviteRepository(config.invites_table),
        responses=DynamoResponseRepository(config.responses_table),
        edit_window=timedelta(days=config.edit_window_days),
        themes=DynamoThemeTagger(config.surveys_table) if config.surveys_table else None,
    )


@lru_cache(maxsize=1)
def confirm_script() -> tuple[Markup, str]:
    """The score page's confirmation script and the CSP hash that lets exactly it run."""
    script = (templates_dir() / "pages" / "confirm.js").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return Markup(script), f"'sha256-{digest}'"  # noqa: S704 - our own static file, hashed into the CSP


# -- requests --------------------------------------------------------------------------------------------
#: The request this invocation answers (an HTTP API payload 2.0 event; set by :func:`begin`, read by both doors).
_EVENT: ContextVar[dict[str, Any]] = ContextVar("respond_request")


def begin(event: dict[str, Any]) -> None:
    """Make ``event`` the request being answered, by either door."""
    _EVENT.set(event)


def current() -> dict[str, Any]:
    """The request being answered."""
    return _EVENT.get()


def _headers() -> dict[str, str]:
    return lower_headers(current().get("headers"))


def _request_locale(preferred: str | None = None) -> str:
    header = _headers().get("accept-language")
    return resolve_locale(preferred, *accept_language(header), settings().default_locale)


# -- pages -----------------------------------------------------------------------------------------------
def page(
    template: str,
    status: int,
    locale: str,
    brand: PageBrand = NEUTRAL_BRAND,
    headers: dict[str, str] | None = None,
    policy: tuple[str, ...] = (),
    **context: Any,
) -> Reply:
    """An HTML page in ``locale`` showing ``brand``; ``policy`` adds CSP directives (a script's hash)."""
    return Reply(
        status, HTML, render(template, locale, brand, **context), page_headers(brand, *policy) | (headers or {})
    )


def message_page(
    message: str, status: int, locale: str | None = None, brand: PageBrand = NEUTRAL_BRAND, **headers: str
) -> Reply:
    """An end page: what happened (``message``: a catalog key prefix) and a way on."""
    return page("pages/message.html", status, _request_locale(locale), brand, headers=headers, message=message)


def _score_links(token: str) -> list[str]:
    return [f"/r/{token}?score={option}" for option in range(11)]


def _thank_you(
    token: str,
    score: int,
    invite: Invite | None = None,
    *,
    saved: bool = False,
    status: int = 200,
    locale: str | None = None,
    brand: PageBrand = NEUTRAL_BRAND,
    comment_text: str | None = None,
    answers: FollowUpAnswers | None = None,
) -> Reply:
    """The thank-you page for ``score`` (in the invite's locale and brand, or ``locale`` and ``brand``);
    ``saved`` after the answer was confirmed by this request (the page says so, and its script does not
    confirm again); ``comment_text`` re-shows a refused empty comment with a word about it."""
    script, script_hash = confirm_script()
    return page(
        "pages/thank_you.html",
        status,
        _request_locale(invite.locale if invite is not None else locale),
        invite.page if invite is not None else brand,
        policy=(f"script-src {script_hash}", "connect-src 'self'"),
        score=score,
        confirm_action=f"/r/{token}",
        confirm_script=script,
        comment_action=f"/r/{token}/comment",
        score_links=_score_links(token),
        max_comment_length=MAX_COMMENT_LENGTH,
        saved=saved,
        comment_error=comment_text is not None,
        comment_text=comment_text,
        questions=invite.questions if invite is not None else None,
        answers=answers or FollowUpAnswers(),
        csat_values=range(CSAT_MIN, CSAT_MAX + 1),
        ces_values=range(CES_MIN, CES_MAX + 1),
    )


# -- routes (each given the link's token) ----------------------------------------------------------------
def open_score_link(token: str) -> Reply:
    """``GET /r/{token}``: with ``score``, the thank-you page (records nothing); without, the score picker."""
    event = current()
    raw_score = (event.get("queryStringParameters") or {}).get("score")
    if len(parse_qs(event.get("rawQueryString") or "", keep_blank_values=True).get("score", ())) > 1:
        # Two scores in one link is not a link we sent: refused, as a form with a repeated field is.
        raise BadScore("the link may carry one score")
    if raw_score is None:
        invite = service().open_invite(token)
        return page("pages/score_picker.html", 200, _request_locale(invite.locale), invite.page, score=None,
                    score_links=_score_links(token))  # fmt: skip
    result = service().open_link(token, raw_score, _headers())
    metrics.add_metric(name="ScoreLinksOpened", unit=MetricUnit.Count, value=1)
    return _thank_you(token, result.score, result.invite)


def confirm_answer(token: str) -> Reply:
    """``POST /r/{token}``: record the form's score (or hold it back as automated); the thank-you page."""
    result = service().confirm(token, _form_field(token, "score"), _headers())
    invite = result.invite
    logger.info(
        "answer confirmed",
        extra={
            "invite_id": invite.invite_id,
            "survey_id": invite.survey_id,
            "automated": result.assessment.automated,
            "reasons": list(result.assessment.reasons),
            "confidence": result.assessment.confidence,
            "outcome": result.recorded.outcome if result.recorded else "held",
            "retracted": result.retracted,
        },
    )
    if result.assessment.automated:
        metrics.add_metric(name="AutomatedClicksDiscarded", unit=MetricUnit.Count, value=1)
    elif result.recorded is not None and result.recorded.outcome in (RecordOutcome.RECORDED, RecordOutcome.CHANGED):
        metrics.add_metric(name="AnswersRecorded", unit=MetricUnit.Count, value=1)
    return _thank_you(token, result.score, invite, saved=True)


def check_score_link(token: str) -> Reply:
    """``HEAD /r/{token}``: whether the link works (its status and headers); reads and logs nothing else."""
    service().verify_link(token, service().clock(), explain=False)
    return Reply(200, HTML, "", dict(PAGE_HEADERS))


def fetch_preview(token: str) -> Reply:
    """``GET /r/{token}/p``: the hidden preview link; its fetch marks the invite's link activity automated."""
    invite = service().honeypot(token)
    logger.info("preview link fetched", extra={"invite_id": invite.invite_id, "survey_id": invite.survey_id})
    return Reply(200, HTML, "<!doctype html><title></title>", dict(PAGE_HEADERS))


def save_comment(token: str) -> Reply:
    """``POST /r/{token}/comment``: the comment (and follow-up answers); the comment-saved page."""
    form = _form_of(token, "comment", "score", "driver", "csat", "ces")
    try:
        result = service().comment(
            token, form["comment"], form["score"], driver=form["driver"], csat=form["csat"], ces=form["ces"]
        )
    except EmptyComment as error:
        shown = _shown_score(form["score"])
        if shown is None:
            raise
        # Scripts off (the page's script refuses it first): the form again, with the text and a word
        # about the empty comment, so the way on is the same page, not an error page.
        logger.info("request refused", extra={"reason": error.reason, "status": error.status})
        return _thank_you(
            token, shown, service().open_invite(token), status=error.status, comment_text=form["comment"] or ""
        )
    invite = result.invite
    logger.info(
        "comment saved",
        extra={"invite_id": invite.invite_id, "survey_id": invite.survey_id, "answers_saved": result.answers_saved},
    )
    # Answers sent after the edit window are not saved: the page says so rather than thanking for them.
    return page(
        "pages/comment_saved.html",
        200,
        _request_locale(invite.locale),
        invite.page,
        answers_locked=not result.answers_saved,
        comment_saved=result.comment_saved,
        edit_window_days=service().edit_window.days,
    )


def _shown_score(raw: str | None) -> int | None:
    """The score a comment form carried, when it is one (0–10)."""
    try:
        return parse_score(raw)
    except ScoreOutOfRange:
        return None


def _form_field(token: str, name: str) -> str | None:
    """The one field of a URL-encoded form body that may carry only ``name`` (see :func:`_form_of`)."""
    return _form_of(token, name)[name]


def _form_of(token: str, *names: str) -> dict[str, str | None]:
    """:func:`_form_fields` for a request to ``token``'s pages. A malformed body sent with a valid link
    is refused in the invite's locale and brand: the token names the invite, and this rare path reads it
    (one read; an invalid or expired link reads nothing here and keeps the request's language)."""
    try:
        return _form_fields(*names)
    except ResponseError as error:
        try:
            invite = service().invites.get(service().verify_link(token, service().clock(), explain=False))
        except ResponseError:
            invite = None
        if invite is not None:
            error.locale, error.page = invite.locale, invite.page
        raise


def _form_fields(*names: str) -> dict[str, str | None]:
    """The fields ``names`` of a URL-encoded form body, strictly decoded (size, encoding and UTF-8
    checked): each at most once, no other field; a missing one is None."""
    event = current()
    content_type = (_headers().get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in ("", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType("form bodies must be application/x-www-form-urlencoded")
    raw_body = event.get("body") or ""
    if len(raw_body) > MAX_BODY_BYTES * 2:
        raise PayloadTooLarge()
    try:
        body = base64.b64decode(raw_body, validate=True) if event.get("isBase64Encoded") else raw_body.encode()
    except (binascii.Error, ValueError) as error:
        raise ResponseError("the body is not valid base64") from error
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10, errors="strict")
    except (UnicodeDecodeError, ValueError) as error:
        raise ResponseError("the form body is not valid UTF-8 form data") from error
    if set(fields) - set(names) or any(len(values) > 1 for values in fields.values()):
        allowed = " and ".join(f"`{name}`" for name in names)
        raise ResponseError(f"the form may only carry one {allowed} field each")
    return {name: fields[name][0] if fields.get(name) else None for name in names}


# -- refusals --------------------------------------------------------------------------------------------
def too_many_comments(error: TooManyComments) -> Reply:
    # Counted, so a person (or a script) filling one answer with comments shows on the dashboard.
    metrics.add_metric(name="CommentsRefused", unit=MetricUnit.Count, value=1)
    logger.info("request refused", extra={"reason": error.reason, "status": error.status})
    return message_page(error.reason, error.status, error.locale, error.page)


def response_error(error: ResponseError) -> Reply:
    logger.info("request refused", extra={"reason": error.reason, "status": error.status})
    return message_page(error.reason, error.status, error.locale, error.page)


def not_found(path: str) -> Reply:
    """No route for the request: 405 (with ``Allow``) on a link's path, the 404 page elsewhere."""
    for pattern, allowed in _KNOWN_ROUTES:
        if pattern.match(path):
            return message_page("method_not_allowed", 405, Allow=allowed)
    return message_page("not_found", 404)


def unexpected(_: Exception) -> Reply:
    logger.exception("unexpected error while responding")
    return message_page("server_error", 500)


#: What answers each kind of error a route raises (the most specific class of its MRO wins).
REFUSALS: dict[type[Exception], Callable[[Any], Reply]] = {
    TooManyComments: too_many_comments,
    ResponseError: response_error,
    Exception: unexpected,
}


# -- the direct door: a link's pages, written the way the links are --------------------------------------
#: A route's code, given the link's token.
Route = Callable[[str], Reply]
_URL_SAFE = r"([A-Za-z0-9_.~-]+)"  # every link token, and every fetch of one
#: Each link path and its routes by method (any other method: the 405 page, as the resolver answers it).
_DIRECT: tuple[tuple[re.Pattern[str], dict[str, Route]], ...] = (
    (re.compile(rf"/r/{_URL_SAFE}"), {"GET": open_score_link, "HEAD": check_score_link, "POST": confirm_answer}),
    (re.compile(rf"/r/{_URL_SAFE}/comment"), {"POST": save_comment}),
    (re.compile(rf"/r/{_URL_SAFE}/p"), {"GET": fetch_preview}),
)


def direct_route(event: dict[str, Any]) -> tuple[Route, str] | None:
    """The route code answering ``event`` and its token without the resolver, or ``None`` for a request
    :func:`resolver` must route (another path, stage or spelling)."""
    context = event.get("requestContext") or {}
    if context.get("stage") != "$default":  # the resolver routes the path without another stage's prefix
        return None
    method = context.get("http", {}).get("method")
    path = event.get("rawPath") or ""
    for pattern, routes in _DIRECT:
        match = pattern.fullmatch(path)
        if match is not None:
            return routes.get(method, lambda _: not_found(path)), match[1]
    return None


def answer_directly(route: Route, token: str) -> dict[str, Any]:
    """Run ``route``; an error is answered by its refusal in :data:`REFUSALS`, as the resolver does."""
    return replies.answer_directly(route, token, REFUSALS)


# -- the resolver door (Powertools): every other request, and the OpenAPI document -----------------------
@lru_cache(maxsize=1)
def resolver() -> "APIGatewayHttpResolver":
    """The Powertools resolver with the same routes and refusals, for every request :func:`direct_route`
    leaves to it; its routes' names, parameters and descriptions make the OpenAPI document."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

    app = APIGatewayHttpResolver()

    def response(reply: Reply) -> Response[str]:
        return Response(reply.status, reply.content_type, reply.body, dict(reply.headers))

    @app.get(
        "/r/<token>",
        summary="Open a score link",
        description=(
            "With `score` (0–10): shows the thank-you page, whose script confirms the answer with a POST to "
            "the same URL after a short pause (a button does it when scripts are off). The GET itself never "
            "records an answer. Without `score`: shows the 0–10 score picker (the page SMS links open)."
        ),
        responses=_documented("GET", "/r/<token>"),
        tags=["Responses"],
    )
    def open_link(token: str, score: str | None = None) -> Response[str]:  # score: read from the event
        return response(open_score_link(token))

    @app.post(
        "/r/<token>",
        summary="Confirm an answer",
        description=(
            "Form field `score` (0–10). Records the answer unless the invite's link activity looks automated "
            "(a mail scanner): then it is kept aside and never counted. The latest human answer wins within "
            "the edit window. The response does not say which it was."
        ),
        responses=_documented("POST", "/r/<token>"),
        tags=["Responses"],
    )
    def confirm(token: str) -> Response[str]:
        return response(confirm_answer(token))

    @app.route(
        "/r/<token>",
        method="HEAD",
        summary="Check a score link",
        description="Read-only: link checkers and mail scanners learn whether the link works; nothing is logged.",
        responses=_documented("HEAD", "/r/<token>"),
        tags=["Responses"],
    )
    def open_link_head(token: str) -> Response[str]:
        return response(check_score_link(token))

    @app.get(
        "/r/<token>/p",
        summary="Message preview link",
        description=(
            "A link hidden in every email that no person sees or follows. Its fetch marks the invite's link "
            "activity around it as automated (and retracts an answer recorded seconds before)."
        ),
        responses=_documented("GET", "/r/<token>/p"),
        tags=["Responses"],
    )
    def preview(token: str) -> Response[str]:
        return response(fetch_preview(token))

    @app.post(
        "/r/<token>/comment",
        summary="Save the comment",
        description=(
            "Form field `comment` (1–2,000 characters) for the answer on record. The page also sends `score` "
            "(0–10), the answer it showed, which is the person's answer: it is recorded before the comment "
            "when no answer is on record yet (the comment came before the page's automatic confirmation, or "
            "scripts are off), when it differs from the one on record within the edit window, and in place "
            "of a score held back as automated. Every comment is kept; the latest is the response's comment. "
            "Optional fields `driver` (one of the invite's driver ids), `csat` (1–5) and `ces` (1–7) answer "
            "the invite's follow-up questions on the same response (each replaces the one on record within "
            "the edit window); with one of them, `comment` may be empty. The comment is tagged with the "
            "survey's themes."
        ),
        responses=_documented("POST", "/r/<token>/comment"),
        tags=["Responses"],
    )
    def comment(token: str) -> Response[str]:
        return response(save_comment(token))

    for kind, refusal in REFUSALS.items():
        app.exception_handler(kind)(lambda error, refusal=refusal: response(refusal(error)))
    app.not_found(lambda _: response(not_found(app.current_event.path)))
    return app


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    begin(event)
    route = direct_route(event)
    if route is None:
        return resolver().resolve(event, context)
    return answer_directly(*route)
