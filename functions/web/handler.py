"""web λ: the in-app / website prompt's HTTP API (``/w/v1/...``) and the widget script.

Thin: count the request against its client's per-minute budget (first: before the survey is read, so
unknown survey ids and refused origins are limited too), check it (origin, size, media type), call
:class:`nps.channels.service.WebService`, answer JSON. CORS is per survey: ``Access-Control-Allow-Origin``
echoes the request's ``Origin`` only when it is in the survey's allow-list; credentials are never allowed
(the widget sends no cookies). Errors are ``{"error": {"code", "message"}}`` with the status of their
:class:`~nps.channels.service.WebError`. pydantic is not on this function's path (the survey definition
is read from its stored JSON).

Two doors lead to the same route code. A request of a route the API documents, written the one way it is
documented (``POST`` or ``OPTIONS`` of ``/w/v1/surveys/{survey_id}/{action}`` with a known action and a
well-formed survey id, ``GET /w/v1/widget.js``; every call the widget and apps make) is answered
directly, without the Powertools resolver. Any other request (an unknown route or method, another
spelling of the path) goes to :func:`resolver`, the Powertools resolver with the same routes, loaded
only when such a request comes: its package is about a fifth of a cold start (``make bench``;
tests/architecture). Both doors answer the same bytes (tests/integration/test_web_doors.py). The API's
contract is written from pydantic models by :mod:`functions.web.openapi`, apart from this function.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from nps.channels.adapters.store import WebStore
from nps.channels.eligibility import Reason, WebSurvey
from nps.channels.prompt import prompt
from nps.channels.service import (
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    BadRequest,
    LimiterUnavailable,
    OriginNotAllowed,
    PayloadTooLarge,
    RateLimited,
    SurveyNotFound,
    UnsupportedMediaType,
    WebError,
    WebService,
)
from nps.events.names import ID_PATTERN
from nps.kernel.config import int_environment, required_environment
from nps.kernel.locales import templates_dir
from nps.kernel.request_bodies import JSON_TYPE, BodyRefused, json_object, lower_headers
from nps.links.adapters.keyring import load_id_key, load_keyring
from nps.responding.adapters.invites import DynamoInviteRepository
from nps.responding.adapters.responses import DynamoResponseRepository
from nps.responding.adapters.taxonomy import DynamoThemeTagger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_BODY_BYTES = 32 * 1024
ACTIONS = ("eligibility", "responses", "comments", "dismissals")
_SURVEY_ID = re.compile(ID_PATTERN)
#: Headers on every JSON answer: never cached, never sniffed, nothing to render or frame.
JSON_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}
PREFLIGHT_MAX_AGE_SECONDS = 600
#: The web error of each body refusal's status.
_REFUSED: dict[int, type[WebError]] = {400: BadRequest, 413: PayloadTooLarge, 415: UnsupportedMediaType}

logger = Logger(service="web")
metrics = Metrics(namespace="NPS", service="web")


@dataclass(frozen=True, slots=True)
class FunctionSettings:
    """The web function's environment (a plain dataclass: no pydantic on the cold start)."""

    surveys_table: str
    contacts_table: str
    invites_table: str
    responses_table: str
    suppressions_table: str
    aggregates_table: str
    site_keys_secret_name: str
    id_key_secret_name: str
    edit_window_days: int
    rate_limit_per_minute: int

    @classmethod
    def from_env(cls) -> FunctionSettings:
        """Raises :class:`~nps.kernel.config.ConfigurationError` for a missing or malformed variable."""
        values = required_environment(
            {
                "surveys_table": "SURVEYS_TABLE",
                "contacts_table": "CONTACTS_TABLE",
                "invites_table": "INVITES_TABLE",
                "responses_table": "RESPONSES_TABLE",
                "suppressions_table": "SUPPRESSIONS_TABLE",
                "aggregates_table": "AGGREGATES_TABLE",
                "site_keys_secret_name": "SITE_KEYS_SECRET_NAME",
                "id_key_secret_name": "ID_KEY_SECRET_NAME",
            }
        )
        return cls(
            **values,
            edit_window_days=int_environment("EDIT_WINDOW_DAYS", 7),
            rate_limit_per_minute=int_environment("WEB_RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE, 1),
        )


@lru_cache(maxsize=1)
def service() -> WebService:
    config = FunctionSettings.from_env()
    return WebService(
        store=WebStore(
            config.surveys_table,
            config.contacts_table,
            config.invites_table,
            config.suppressions_table,
            config.aggregates_table,
        ),
        site_keyring=lambda: load_keyring(config.site_keys_secret_name),
        id_key=lambda: load_id_key(config.id_key_secret_name),
        invites=DynamoInviteRepository(config.invites_table),
        responses=DynamoResponseRepository(config.responses_table),
        edit_window=timedelta(days=config.edit_window_days),
        rate_limit_per_minute=config.rate_limit_per_minute,
        themes=DynamoThemeTagger(config.surveys_table),
    )


@lru_cache(maxsize=1)
def widget() -> tuple[bytes, str]:
    """The widget script and its strong ETag (a hash of its bytes)."""
    script = (templates_dir() / "web" / "widget.js").read_bytes()
    return script, '"' + hashlib.sha256(script).hexdigest()[:32] + '"'


@dataclass(frozen=True, slots=True)
class Answer:
    """What a route answers: its status, content type (``None``: no body to type), body and headers."""

    status: int
    content_type: str | None
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return lower_headers(event.get("headers"))


def _cors(origin: str | None) -> dict[str, str]:
    """The CORS headers for an allowed ``origin`` (credentials are never allowed)."""
    if origin is None:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _json(status: int, body: dict[str, Any], origin: str | None = None, **headers: str) -> Answer:
    return Answer(
        status,
        JSON_TYPE,
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        JSON_HEADERS | _cors(origin) | headers,
    )


def _error(error: WebError, origin: str | None = None) -> Answer:
    limited = error if isinstance(error, RateLimited | LimiterUnavailable) else None
    extra = {"Retry-After": str(limited.retry_after)} if limited is not None else {}
    return _json(error.status, {"error": {"code": error.code, "message": error.message}}, origin, **extra)


def widget_script(event: dict[str, Any]) -> Answer:
    """``GET /w/v1/widget.js``: the script (200), or 304 when the request's ``If-None-Match`` names it."""
    try:
        script, etag = widget()
    except FileNotFoundError:
        return _json(404, {"error": {"code": "not_found", "message": "the widget script is not installed"}})
    headers = {
        "Cache-Control": "public, max-age=3600",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if etag in [tag.strip() for tag in (_headers(event).get("if-none-match") or "").split(",")]:
        return Answer(304, None, "", headers)
    return Answer(200, "text/javascript; charset=utf-8", script.decode("utf-8"), headers)


def _allowed_survey(event: dict[str, Any], survey_id: str) -> tuple[WebSurvey, str]:
    """The survey and the request's origin, which its allow-list holds; raise otherwise (no CORS headers).

    An id no survey can have is not found without a read (nor a cache entry)."""
    if not _SURVEY_ID.fullmatch(survey_id):
        raise SurveyNotFound("no such survey")
    survey = service().survey(survey_id)
    origin = _headers(event).get("origin")
    if origin is None or not service().origin_allowed(survey, origin):
        raise OriginNotAllowed("this origin may not use this survey's prompt")
    return survey, origin


def _count_request(event: dict[str, Any]) -> None:
    """Count the request against its client's budget (:meth:`WebService.check_rate`), before the survey is
    read: a burst of unknown survey ids, or from an origin the survey refuses, is limited like any other."""
    service().check_rate(event["requestContext"]["http"]["sourceIp"])


def _cached_origin(event: dict[str, Any], survey_id: str) -> str | None:
    """The request's origin when the survey this instance already holds allows it (no read): a refusal
    before the survey was read (429, 503) then keeps the CORS headers the widget needs to read it."""
    if not _SURVEY_ID.fullmatch(survey_id):
        return None
    survey = service().store.cached_survey(survey_id)
    origin = _headers(event).get("origin")
    if survey is None or not survey.allowed_origins or not service().origin_allowed(survey, origin):
        return None
    return origin


def _refused(event: dict[str, Any], error: WebError, survey_id: str, origin: str | None, action: str) -> Answer:
    if isinstance(error, LimiterUnavailable):
        logger.warning("rate-limit counter not written", extra={"error_code": error.cause, "action": action})
        metrics.add_metric(name="WebLimiterUnavailable", unit=MetricUnit.Count, value=1)
    else:
        logger.info("request refused", extra={"code": error.code, "status": error.status, "action": action})
    if origin is None and isinstance(error, RateLimited | LimiterUnavailable):
        origin = _cached_origin(event, survey_id)
    return _error(error, origin)


def preflight(event: dict[str, Any], survey_id: str, action: str) -> Answer:
    """``OPTIONS /w/v1/surveys/{survey_id}/{action}``: the CORS preflight, for an allowed origin only."""
    if action not in ACTIONS:
        return _json(404, {"error": {"code": "not_found", "message": "no such action"}})
    try:
        _count_request(event)
        _, origin = _allowed_survey(event, survey_id)
    except WebError as error:
        return _refused(event, error, survey_id, None, action)
    return Answer(
        204,
        None,
        "",
        _cors(origin)
        | {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
            "Cache-Control": "no-store",
        },
    )


def _body(event: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object, checked (:func:`nps.kernel.request_bodies.json_object`): media type and
    charset (415), size (413), one JSON object without duplicate keys (400)."""
    try:
        return json_object(event, MAX_BODY_BYTES)
    except BodyRefused as error:
        raise _REFUSED[error.status](error.message) from error


def _fields(body: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    unknown = set(body) - set(required) - set(optional)
    missing = [name for name in required if name not in body]
    if unknown or missing:
        raise BadRequest(f"expected fields {', '.join(required + optional)}")


def _string(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRequest(f"{name} must be a non-empty string of at most {limit} characters")
    return value


def post(event: dict[str, Any], survey_id: str, action: str) -> Answer:
    """``POST /w/v1/surveys/{survey_id}/{action}``: eligibility, an answer, a comment or a dismissal."""
    if action not in ACTIONS:
        return _json(404, {"error": {"code": "not_found", "message": "no such action"}})
    origin = None
    try:
        _count_request(event)
        survey, origin = _allowed_survey(event, survey_id)
        body = _body(event)
        if action == "eligibility":
            return _eligibility(survey, body, origin)
        if action == "responses":
            _fields(body, ("ask_token", "score"))
            category = service().answer(survey, _string(body, "ask_token", 512), body["score"])
            metrics.add_metric(name="WebAnswersRecorded", unit=MetricUnit.Count, value=1)
            return _json(200, {"recorded": True, "category": category.value}, origin)
        if action == "comments":
            _fields(body, ("ask_token",), ("comment", "score", "driver", "csat", "ces"))
            service().comment(
                survey,
                _string(body, "ask_token", 512),
                body.get("comment"),
                body.get("score"),
                driver=body.get("driver"),
                csat=body.get("csat"),
                ces=body.get("ces"),
            )
            return _json(200, {"recorded": True}, origin)
        _fields(body, ("ask_token",))
        service().dismiss(survey, _string(body, "ask_token", 512))
        return _json(200, {"recorded": True}, origin)
    except WebError as error:
        return _refused(event, error, survey_id, origin, action)


def _eligibility(survey: WebSurvey, body: dict[str, Any], origin: str) -> Answer:
    _fields(body, ("contact_token",), ("url",))
    url = body.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > 2048):
        raise BadRequest("url must be a string of at most 2,048 characters, or null")
    result = service().eligibility(survey, _string(body, "contact_token", 8192), url)
    if not result.show:
        if result.reason is Reason.BUSY:  # contention outlasted the retries: worth an alarm if it persists
            logger.warning("prompt not shown: the show transaction stayed contended")
            metrics.add_metric(name="WebShowsBusy", unit=MetricUnit.Count, value=1)
        return _json(200, {"show": False, "reason": result.reason.value if result.reason else None}, origin)
    metrics.add_metric(name="WebPromptsShown", unit=MetricUnit.Count, value=1)
    return _json(
        200, {"show": True, "ask_token": result.ask_token, "prompt": prompt(survey, result.locale or "en")}, origin
    )


# -- errors: the same answers through both doors ----------------------------------------------------------
def web_error(error: WebError) -> Answer:
    """A web error no route answered itself: its status and JSON, without CORS headers."""
    logger.info("request refused", extra={"code": error.code, "status": error.status})
    return _error(error)


def unexpected(error: Exception) -> Answer:
    """Any other failure: logged, answered 500 without its message."""
    logger.exception("unexpected error in the web API")
    return _json(500, {"error": {"code": "server_error", "message": "something went wrong on our side"}})


NOT_FOUND = {"error": {"code": "not_found", "message": "no such resource"}}


# -- the direct door: the documented routes, written the documented way ------------------------------------
_SURVEY_ROUTE = re.compile(r"/w/v1/surveys/(" + ID_PATTERN.strip("^$") + ")/(" + "|".join(ACTIONS) + ")")
WIDGET_PATH = "/w/v1/widget.js"
#: A route's code, given the request's event.
Route = Callable[[dict[str, Any]], Answer]


def direct_route(event: dict[str, Any]) -> Route | None:
    """The route code answering ``event`` without the resolver, as a function of the event, or ``None``
    for a request :func:`resolver` must route (another method, path or spelling)."""
    context = event.get("requestContext") or {}
    if context.get("stage") != "$default":  # the resolver routes the path without another stage's prefix
        return None
    method = context.get("http", {}).get("method")
    path = event.get("rawPath") or ""
    if method == "GET" and path == WIDGET_PATH:
        return widget_script
    match = _SURVEY_ROUTE.fullmatch(path)
    if match is None or method not in ("POST", "OPTIONS"):
        return None
    return partial(post if method == "POST" else preflight, survey_id=match[1], action=match[2])


def payload(answer: Answer) -> dict[str, Any]:
    """The HTTP API (payload 2.0) answer, shaped as the Powertools resolver shapes it."""
    headers = dict(answer.headers)
    if answer.content_type:
        headers.setdefault("Content-Type", answer.content_type)
    return {
        "statusCode": answer.status,
        "body": answer.body,
        "isBase64Encoded": False,
        "headers": headers,
        "cookies": [],
    }


def answer_directly(route: Route, event: dict[str, Any]) -> dict[str, Any]:
    """Run ``route`` on ``event``; every failure is answered as the resolver's exception handlers answer it."""
    try:
        answer = route(event)
    except WebError as error:
        answer = web_error(error)
    except Exception as error:  # every failure is an answer (500), logged with its trace
        answer = unexpected(error)
    return payload(answer)


# -- the resolver door (Powertools): every other request ---------------------------------------------------
@lru_cache(maxsize=1)
def resolver() -> APIGatewayHttpResolver:
    """The Powertools resolver with the same routes, for every request :func:`direct_route` leaves to it
    (unknown routes and methods are 404 ``not_found``)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

    app = APIGatewayHttpResolver()

    def response(answer: Answer) -> Response[str]:
        return Response(answer.status, answer.content_type, answer.body, dict(answer.headers))

    def raw() -> dict[str, Any]:
        return app.current_event.raw_event

    @app.get(WIDGET_PATH)
    def widget_route() -> Response[str]:
        return response(widget_script(raw()))

    @app.route("/w/v1/surveys/<survey_id>/<action>", method="OPTIONS")
    def preflight_route(survey_id: str, action: str) -> Response[str]:
        return response(preflight(raw(), survey_id, action))

    @app.post("/w/v1/surveys/<survey_id>/<action>")
    def post_route(survey_id: str, action: str) -> Response[str]:
        return response(post(raw(), survey_id, action))

    @app.exception_handler(WebError)  # type: ignore[untyped-decorator]
    def web_error_route(error: WebError) -> Response[str]:
        return response(web_error(error))

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return response(_json(404, NOT_FOUND))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected_route(error: Exception) -> Response[str]:
        return response(unexpected(error))

    return app


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    route = direct_route(event)
    if route is None:
        return resolver().resolve(event, context)
    return answer_directly(route, event)
