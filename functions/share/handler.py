"""share λ: a survey's shareable link (``/s/{survey_id}``): the 0–10 question page, the answer, the "why?"
comment (docs/share-link.md).

Thin: parse the request, call :class:`nps.channels.share_links.ShareService`, render a page. GET and HEAD
never record (scanners and link previews fetch links); the page's form POSTs the answer. Every refusal is a
page with the right status and nothing recorded: link off or unknown survey 404, bad score 400, bad or
expired contact token 403/410, body over 32 KiB 413, not a form 415, comment over 2,000 characters 422,
too many answers or page views from one client 429 (with ``Retry-After``), the rate limiter's counter not
writable 503 (with ``Retry-After``). Every request is counted against its client's minute first, before
the survey or the form is read: answers and comments on one budget (``SHARE_RATE_LIMIT_PER_MINUTE``, 20),
page views on another (``SHARE_VIEW_RATE_LIMIT_PER_MINUTE``, 120).

Two doors lead to the same route code. A request of a route the link's pages use, written the one way
they use it (``GET``, ``HEAD`` or ``POST`` of ``/s/{survey_id}``, ``POST`` of ``/s/{survey_id}/comment``,
with a well-formed survey id) is answered directly, without the Powertools resolver. Any other request
(an unknown route or method, another spelling of the path) goes to :func:`resolver`, the Powertools
resolver with the same routes and error pages, loaded only when such a request comes: its package is
about a fifth of a cold start (``make bench``; tests/architecture). Both doors answer the same bytes
(tests/integration/test_share_doors.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from markupsafe import Markup

from nps.channels.adapters.share import ShareContacts, ShareInvites, ShareSurveys
from nps.channels.adapters.store import WebStore
from nps.channels.service import LimiterUnavailable, RateLimited, WebService
from nps.channels.share_links import (
    Answer,
    EmptyComment,
    LinkExpired,
    LinkInvalid,
    Respondent,
    ShareError,
    ShareNotFound,
    ShareService,
    ShareSurvey,
    WrongSurvey,
)
from nps.channels.site_tokens import ContactTokenStatus, verify_contact_token
from nps.events.names import ID_PATTERN
from nps.kernel import replies
from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.categories import MAX_COMMENT_LENGTH
from nps.kernel.config import int_environment, required_environment
from nps.kernel.locales import accept_language, resolve_locale, templates_dir
from nps.kernel.on_demand import on_demand
from nps.kernel.rendering import HTML, PAGE_HEADERS, page_headers, render
from nps.kernel.replies import Reply
from nps.kernel.request_bodies import FORM_TYPE, BodyRefused, check_content_type, lower_headers, raw_body
from nps.links.adapters.keyring import load_id_key, load_keyring
from nps.reasons.answers import FollowUpAnswers
from nps.reasons.scales import CES_MAX, CES_MIN, CSAT_MAX, CSAT_MIN
from nps.responding.adapters.invites import DynamoInviteRepository
from nps.responding.adapters.responses import DynamoResponseRepository, RecordOutcome

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from nps.responding.adapters.taxonomy import DynamoThemeTagger

MAX_BODY_BYTES = 32 * 1024
#: Answers and comments one client (source address) may post per minute to the share pages.
DEFAULT_SHARE_RATE_LIMIT_PER_MINUTE = 20
#: Page views (GET and HEAD) one client may make per minute: higher than answers, since people behind one
#: address (an office, a shop's Wi-Fi, carrier-grade NAT) open a printed link's page without answering.
DEFAULT_SHARE_VIEW_RATE_LIMIT_PER_MINUTE = 120
_SURVEY_ID = re.compile(ID_PATTERN)

logger = Logger(service="share")
metrics = Metrics(namespace="NPS", service="share")


@dataclass(frozen=True, slots=True)
class FunctionSettings:
    """The share function's environment (a plain dataclass: no pydantic on the cold start)."""

    surveys_table: str
    contacts_table: str
    invites_table: str
    responses_table: str
    site_keys_secret_name: str
    id_key_secret_name: str
    edit_window_days: int
    rate_limit_per_minute: int
    view_rate_limit_per_minute: int = DEFAULT_SHARE_VIEW_RATE_LIMIT_PER_MINUTE

    @classmethod
    def from_env(cls) -> FunctionSettings:
        """Raises :class:`~nps.kernel.config.ConfigurationError` for a missing or malformed variable."""
        values = required_environment(
            {
                "surveys_table": "SURVEYS_TABLE",
                "contacts_table": "CONTACTS_TABLE",
                "invites_table": "INVITES_TABLE",
                "responses_table": "RESPONSES_TABLE",
                "site_keys_secret_name": "SITE_KEYS_SECRET_NAME",
                "id_key_secret_name": "ID_KEY_SECRET_NAME",
            }
        )
        return cls(
            **values,
            edit_window_days=int_environment("EDIT_WINDOW_DAYS", 7),
            rate_limit_per_minute=int_environment(
                "SHARE_RATE_LIMIT_PER_MINUTE", DEFAULT_SHARE_RATE_LIMIT_PER_MINUTE, 1
            ),
            view_rate_limit_per_minute=int_environment(
                "SHARE_VIEW_RATE_LIMIT_PER_MINUTE", DEFAULT_SHARE_VIEW_RATE_LIMIT_PER_MINUTE, 1
            ),
        )


@lru_cache(maxsize=1)
def settings() -> FunctionSettings:
    return FunctionSettings.from_env()


@lru_cache(maxsize=1)
def surveys() -> ShareSurveys:
    return ShareSurveys(settings().surveys_table)


@lru_cache(maxsize=1)
def limiter() -> WebService:
    """The web channel's per-client rate limiter (its counters in the invites table), scope ``share``. Only
    :meth:`WebService.check_rate` is used: the other stores are never called from this function."""
    config = settings()
    return WebService(
        store=WebStore(config.surveys_table, "", config.invites_table, "", ""),
        site_keyring=lambda: load_keyring(config.site_keys_secret_name),
        id_key=lambda: load_id_key(config.id_key_secret_name),
        invites=DynamoInviteRepository(config.invites_table),
        responses=DynamoResponseRepository(config.responses_table),
        rate_limit_per_minute=config.rate_limit_per_minute,
    )


def verify_contact(
    token: str, survey_id: str, now: float, max_lifetime: int
) -> tuple[str, str | None, Mapping[str, str]]:
    """A contact token of ``survey_id`` (the web prompt's format, a longer lifetime): its contact, locale and
    signed attributes; raises the share errors (a token of another survey is refused like a forged one)."""
    check = verify_contact_token(
        load_keyring(settings().site_keys_secret_name), token, survey_id, now, max_lifetime_seconds=max_lifetime
    )
    if check.status is ContactTokenStatus.WRONG_SURVEY:
        raise WrongSurvey()
    if check.status is ContactTokenStatus.EXPIRED:
        raise LinkExpired()
    if check.claims is None or check.status is not ContactTokenStatus.VALID:
        raise LinkInvalid()
    return check.claims.contact_id, check.claims.locale, check.claims.attributes


@lru_cache(maxsize=1)
def service() -> ShareService:
    config = settings()
    return ShareService(
        surveys=surveys().get,
        responses=DynamoResponseRepository(config.responses_table),
        id_key=lambda: load_id_key(config.id_key_secret_name),
        verify_contact=verify_contact,
        edit_window=timedelta(days=config.edit_window_days),
        contacts=ShareContacts(config.contacts_table, config.invites_table, config.responses_table),
        invites=ShareInvites(config.invites_table),
        # The survey's theme tagger (and its stemmers) load with the first comment: a page view never tags.
        themes=on_demand(lambda: _theme_tagger(config.surveys_table)),
    )


def _theme_tagger(surveys_table: str) -> DynamoThemeTagger:
    from nps.responding.adapters.taxonomy import DynamoThemeTagger

    return DynamoThemeTagger(surveys_table)


@lru_cache(maxsize=1)
def browser_script() -> tuple[Markup, str]:
    """The page's browser-id script and the CSP hash that lets exactly it run."""
    script = (templates_dir() / "share" / "browser_id.js").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return Markup(script), f"'sha256-{digest}'"  # noqa: S704 - our own static file, hashed into the CSP


# -- requests --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """The request being answered (an HTTP API payload 2.0 event), read as the Powertools resolver reads it."""

    event: dict[str, Any]

    @property
    def method(self) -> str:
        method: str = self.event["requestContext"]["http"]["method"]
        return method

    @property
    def path(self) -> str:
        """The path without the stage's prefix (none for ``$default``)."""
        stage: str = self.event["requestContext"]["stage"]
        raw: str = self.event["rawPath"]
        return raw if stage == "$default" else raw[len("/" + stage) :]

    @property
    def source_ip(self) -> str:
        address: str = self.event["requestContext"]["http"]["sourceIp"]
        return address

    def query(self, name: str) -> str | None:
        """The query parameter ``name`` (repeated ones arrive comma-joined), or None."""
        value: str | None = (self.event.get("queryStringParameters") or {}).get(name)
        return value


#: The request this invocation answers (set by :func:`lambda_handler`, read by both doors).
_REQUEST: ContextVar[Request] = ContextVar("share_request")


def current() -> Request:
    """The request being answered."""
    return _REQUEST.get()


def begin(event: dict[str, Any]) -> None:
    """Make ``event`` the request being answered, by either door."""
    _REQUEST.set(Request(event))


def _headers() -> dict[str, str]:
    return lower_headers(current().event.get("headers"))


def _locale(survey: ShareSurvey | None = None, preferred: str | None = None) -> str:
    languages = accept_language(_headers().get("accept-language"))
    if survey is not None:
        return survey.locale_for(preferred, *languages)
    return resolve_locale(*languages, "en")


def _survey(survey_id: str) -> ShareSurvey:
    if not _SURVEY_ID.fullmatch(survey_id):
        raise ShareNotFound()
    return service().survey(survey_id)


def _client() -> str | None:
    return current().source_ip


def _count_post() -> None:
    """Count an answer or comment against its client's minute (scope ``share``), before the form or the
    survey is read."""
    limiter().check_rate(_client(), scope="share")


def _count_view() -> None:
    """Count a page view (GET, HEAD) against its client's minute (scope ``share-view``, its own higher
    budget), before the survey is read: unknown survey ids are limited too."""
    limiter().check_rate(_client(), scope="share-view", limit=settings().view_rate_limit_per_minute)


def _action(survey_id: str, suffix: str = "") -> str:
    return f"/s/{quote(survey_id)}{suffix}"


class _BadForm(ShareError):
    status, reason = 400, "bad_request"


class _TooLarge(ShareError):
    status, reason = 413, "too_large"


class _NotAForm(ShareError):
    status, reason = 415, "bad_request"


#: The share page of each body refusal's status.
_REFUSED: dict[int, type[ShareError]] = {400: _BadForm, 413: _TooLarge, 415: _NotAForm}


def _form(*names: str) -> dict[str, str | None]:
    """The fields ``names`` of a URL-encoded form body, strictly decoded: each at most once, no other
    field, at most :data:`MAX_BODY_BYTES`, UTF-8 (a declared charset other than utf-8 is a 415); a
    missing one is None. Media type, charset, size and base64 are checked as for every function's body
    (:mod:`nps.kernel.request_bodies`)."""
    try:
        check_content_type(_headers(), "", FORM_TYPE)
        body = raw_body(current().event, MAX_BODY_BYTES)
    except BodyRefused as error:
        raise _REFUSED[error.status](error.message) from error
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10, errors="strict")
    except (UnicodeDecodeError, ValueError) as error:
        raise _BadForm("the form body is not valid UTF-8 form data") from error
    if set(fields) - set(names) or any(len(values) > 1 for values in fields.values()):
        raise _BadForm("unexpected or repeated form fields")
    return {name: fields[name][0] if fields.get(name) else None for name in names}


# -- pages -----------------------------------------------------------------------------------------------
def page(
    template: str, status: int, locale: str, brand: PageBrand = NEUTRAL_BRAND, headers: dict[str, str] | None = None,
    policy: tuple[str, ...] = (), **context: Any,
) -> Reply:  # fmt: skip
    """An HTML page in ``locale`` showing ``brand``; ``policy`` adds CSP directives (a script's hash)."""
    return Reply(
        status, HTML, render(template, locale, brand, **context), page_headers(brand, *policy) | (headers or {})
    )


def message_page(
    message: str, status: int, survey: ShareSurvey | None = None, headers: dict[str, str] | None = None
) -> Reply:
    """An end page: what happened (``message``: a catalog key prefix) and a way on, in the survey's brand
    when the survey is known."""
    locale = _locale(survey)
    brand = survey.page(locale) if survey is not None else NEUTRAL_BRAND
    return page("pages/message.html", status, locale, brand, headers=headers, message=message)


def _thank_you(
    survey: ShareSurvey, respondent: Respondent, browser_id: str, token: str | None, score: int, locale: str,
    *, locked: bool = False, status: int = 200, comment_text: str | None = None,
) -> Reply:  # fmt: skip
    return page(
        "share/thank_you.html",
        status,
        locale,
        survey.page(locale),
        score=score,
        locked=locked,
        action=_action(survey.survey_id),
        comment_action=_action(survey.survey_id, "/comment"),
        browser_id=browser_id,
        token=token if respondent.identified else None,
        max_comment_length=MAX_COMMENT_LENGTH,
        comment_error=comment_text is not None,
        comment_text=comment_text,
        questions=survey.follow_up_questions(locale),
        answers=FollowUpAnswers(),
        csat_values=range(CSAT_MIN, CSAT_MAX + 1),
        ces_values=range(CES_MIN, CES_MAX + 1),
    )


def question(survey_id: str) -> Reply:
    """The question page. Records nothing; an identified link's token is checked first (a clear page when
    it is bad, expired or of another survey)."""
    _count_view()
    survey = _survey(survey_id)
    token = current().query("t") if survey.share.identified else None
    respondent = service().respondent(survey, token, secrets.token_urlsafe(16))
    locale = _locale(survey, respondent.locale)
    script, script_hash = browser_script()
    return page(
        "share/question.html",
        200,
        locale,
        survey.page(locale),
        policy=(f"script-src {script_hash}",),
        action=_action(survey.survey_id),
        page_id=secrets.token_urlsafe(16),
        token=token,
        score=None,
        browser_script=script,
    )


def question_head(survey_id: str) -> Reply:
    """Read-only: whether the link answers (200) or not (404); no body, nothing logged or recorded (the
    rate-limit counter aside)."""
    _count_view()
    _survey(survey_id)
    return Reply(200, HTML, "", dict(PAGE_HEADERS))


def answer(survey_id: str) -> Reply:
    """Form fields ``score`` (0–10), ``b`` (browser or page id), ``t`` (identified links' contact token)."""
    _count_post()
    form = _form("score", "b", "t")
    survey = _survey(survey_id)
    respondent = service().respondent(survey, form["t"], form["b"])
    locale = _locale(survey, respondent.locale)
    result: Answer = service().answer(survey, respondent, form["score"], locale)
    logger.info(
        "share answer",
        extra={"survey_id": survey.survey_id, "channel": survey.share.channel, "outcome": result.outcome.value},
    )
    if result.outcome in (RecordOutcome.RECORDED, RecordOutcome.CHANGED):
        metrics.add_metric(name="ShareAnswersRecorded", unit=MetricUnit.Count, value=1)
    return _thank_you(
        survey, respondent, form["b"] or "", form["t"], result.score, locale,
        locked=result.outcome is RecordOutcome.LOCKED,
    )  # fmt: skip


def comment(survey_id: str) -> Reply:
    """Form fields ``comment`` (1–2,000 characters; may be empty with a follow-up answer), ``score`` (the
    answer the page showed), ``b``, ``t``, and the follow-up answers ``driver`` (one of the survey's driver
    ids), ``csat`` (1–5) and ``ces`` (1–7), each optional."""
    _count_post()
    form = _form("comment", "score", "b", "t", "driver", "csat", "ces")
    survey = _survey(survey_id)
    respondent = service().respondent(survey, form["t"], form["b"])
    locale = _locale(survey, respondent.locale)
    try:
        saved = service().comment(
            survey, respondent, form["comment"], form["score"], locale,
            driver=form["driver"], csat=form["csat"], ces=form["ces"],
        )  # fmt: skip
    except EmptyComment:
        shown = form["score"]
        if shown is None or not (shown.isascii() and shown.isdigit()) or int(shown) > 10:
            raise
        # Scripts off: the form again, with the text and a word about the empty comment.
        return _thank_you(
            survey, respondent, form["b"] or "", form["t"], int(shown), locale,
            status=EmptyComment.status, comment_text=form["comment"] or "",
        )  # fmt: skip
    logger.info("share comment saved", extra={"survey_id": survey.survey_id, "channel": survey.share.channel})
    # Answers sent after the edit window are not saved: the page says so rather than thanking for them.
    return page(
        "pages/comment_saved.html",
        200,
        locale,
        survey.page(locale),
        answers_locked=not saved.answers_saved,
        comment_saved=saved.comment_saved,
        edit_window_days=service().edit_window.days,
    )


# -- refusals --------------------------------------------------------------------------------------------
def _bodiless(status: int, headers: dict[str, str]) -> Reply | None:
    """A HEAD request's answer: the status and headers, no body (None for other methods)."""
    if current().method != "HEAD":
        return None
    return Reply(status, HTML, "", PAGE_HEADERS | headers)


def rate_limited(error: RateLimited) -> Reply:
    metrics.add_metric(name="ShareRateLimited", unit=MetricUnit.Count, value=1)
    logger.info("request refused", extra={"reason": "rate_limited", "status": 429})
    headers = {"Retry-After": str(error.retry_after)}
    viewing = current().method in ("GET", "HEAD")
    return _bodiless(429, headers) or message_page(
        "too_many_requests" if viewing else "rate_limited", 429, headers=headers
    )


def limiter_unavailable(error: LimiterUnavailable) -> Reply:
    metrics.add_metric(name="ShareLimiterUnavailable", unit=MetricUnit.Count, value=1)
    logger.warning("rate-limit counter not written", extra={"error_code": error.cause, "status": 503})
    headers = {"Retry-After": str(error.retry_after)}
    return _bodiless(503, headers) or message_page("busy", 503, headers=headers)


def share_error(error: ShareError) -> Reply:
    logger.info("request refused", extra={"reason": error.reason, "status": error.status})
    survey = None
    if not isinstance(error, ShareNotFound):
        parts = current().path.split("/")
        try:
            survey = surveys().get(parts[2]) if len(parts) > 2 and _SURVEY_ID.fullmatch(parts[2]) else None
        except Exception:  # the brand is a nicety on an error page; never a second error
            survey = None
    if current().method == "HEAD":
        return Reply(error.status, HTML, "", dict(PAGE_HEADERS))
    reason = "share_not_found" if isinstance(error, ShareNotFound) else error.reason
    return message_page(reason, error.status, survey)


def not_found() -> Reply:
    """No route of this path and method: 405 for the link's paths (with ``Allow``), 404 otherwise."""
    path = current().path
    if re.fullmatch(r"/s/[^/]+", path):
        return message_page("method_not_allowed", 405, headers={"Allow": "GET, HEAD, POST"})
    if re.fullmatch(r"/s/[^/]+/comment", path):
        return message_page("method_not_allowed", 405, headers={"Allow": "POST"})
    return message_page("not_found", 404)


def unexpected(error: Exception) -> Reply:
    logger.exception("unexpected error on a share page")
    return message_page("server_error", 500)


#: What answers each kind of error a route raises (the most specific class of its MRO wins).
REFUSALS: dict[type[Exception], Callable[[Any], Reply]] = {
    RateLimited: rate_limited,
    LimiterUnavailable: limiter_unavailable,
    ShareError: share_error,
    Exception: unexpected,
}


# -- the direct door: the link's routes, written the way its pages use them ------------------------------
_ID = ID_PATTERN.strip("^$")
_QUESTION_PATH = re.compile(f"/s/({_ID})")
_COMMENT_PATH = re.compile(f"/s/({_ID})/comment")
#: A route's code, given the survey id.
Route = Callable[[str], Reply]


def direct_route(event: dict[str, Any]) -> tuple[Route, str] | None:
    """The route code answering ``event`` and its survey id without the resolver, or ``None`` for a request
    :func:`resolver` must route (another method, path, stage or spelling)."""
    context = event.get("requestContext") or {}
    if context.get("stage") != "$default":
        return None
    method = context.get("http", {}).get("method")
    path = event.get("rawPath") or ""
    if match := _QUESTION_PATH.fullmatch(path):
        routes: dict[str, Route] = {"GET": question, "HEAD": question_head, "POST": answer}
        return (routes[method], match[1]) if method in routes else None
    if method == "POST" and (match := _COMMENT_PATH.fullmatch(path)):
        return comment, match[1]
    return None


def answer_directly(route: Route, survey_id: str) -> dict[str, Any]:
    """Run ``route``; an error is answered by its refusal in :data:`REFUSALS`, as the resolver does."""
    return replies.answer_directly(route, survey_id, REFUSALS)


# -- the resolver door (Powertools): every other request -------------------------------------------------
@lru_cache(maxsize=1)
def resolver() -> APIGatewayHttpResolver:
    """The Powertools resolver with the same routes and refusals, for every request :func:`direct_route`
    leaves to it (another path is 404, another method of the link's paths 405)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

    app = APIGatewayHttpResolver()

    def response(reply: Reply) -> Response[str]:
        return Response(reply.status, reply.content_type, reply.body, dict(reply.headers))

    app.get("/s/<survey_id>")(lambda survey_id: response(question(survey_id)))
    app.route("/s/<survey_id>", method="HEAD")(lambda survey_id: response(question_head(survey_id)))
    app.post("/s/<survey_id>")(lambda survey_id: response(answer(survey_id)))
    app.post("/s/<survey_id>/comment")(lambda survey_id: response(comment(survey_id)))
    for kind, refusal in REFUSALS.items():
        app.exception_handler(kind)(lambda error, refusal=refusal: response(refusal(error)))
    app.not_found(lambda _: response(not_found()))
    return app


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    begin(event)
    route = direct_route(event)
    if route is None:
        return resolver().resolve(event, context)
    return answer_directly(*route)
