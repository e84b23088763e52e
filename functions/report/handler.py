"""report λ: the IAM-authorised reporting API under ``/reports/…`` on the HTTP API.

Thin: read the query, ask :class:`nps.reporting.figures.ReportService` (aggregates only) or the responses
reader (comments, CSV), and map typed errors to JSON 4xx answers.

Two doors lead to the same route code. A GET whose query is written the one way the API documents it
(:mod:`nps.reporting.queries`; almost every request) is answered directly: path and query are read
without pydantic or the Powertools resolver. Every other request (another spelling, a value out of
range, an unknown route or method) goes to :func:`validating_resolver`, the Powertools resolver whose
routes validate with the pydantic models of :mod:`nps.reporting.models` (422 with the fields at fault)
and generate the OpenAPI document. The resolver, pydantic and the models load only when such a request
comes: together they are about a third of a cold start (``make bench``; tests/architecture). Both doors
answer the same bytes (tests/integration/test_reporting.py).
"""

# No ``from __future__ import annotations``: the validating routes are defined inside a function, and
# Powertools reads their annotations (the query models) as objects to validate and to document them.
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from nps.kernel.config import required_environment, settings
from nps.reporting.adapters.reads import (
    BadCursor,
    DynamoAggregateReader,
    DynamoResponseReader,
    ResponsePage,
    split_segment,
)
from nps.reporting.figures import ReportError, ReportService
from nps.reporting.queries import ReportQuery, RouteName, canonical_survey_id, read_query
from nps.reporting.ranges import DateRange, RangeError

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

    from nps.accounts.adapters.profiles import DynamoAccountProfiles

logger = Logger(service="report")
metrics = Metrics(namespace="NPS", service="report")


class RouteDoc(TypedDict):
    """A route's rule and what the OpenAPI document says of it (keyword arguments of ``resolver.get``)."""

    rule: str
    summary: str
    description: NotRequired[str]


ROUTES: dict[RouteName, RouteDoc] = {
    "summary": {"rule": "/reports/<survey_id>/summary", "summary": "NPS and counts over a range"},
    "trend": {
        "rule": "/reports/<survey_id>/trend",
        "summary": "NPS per period, with the significance of each change",
    },
    "segments": {"rule": "/reports/<survey_id>/segments", "summary": "Every value of a segment dimension"},
    "channels": {"rule": "/reports/<survey_id>/channels", "summary": "Every channel"},
    "comments": {"rule": "/reports/<survey_id>/comments", "summary": "Recent comments, newest first (paginated)"},
    "export": {
        "rule": "/reports/<survey_id>/export",
        "summary": "CSV of counted responses first answered in the range",
        "description": "At most `limit` rows; the `X-Next-Cursor` header carries the cursor of the next page.",
    },
    "drivers": {
        "rule": "/reports/<survey_id>/drivers",
        "summary": "Each driver and theme: who mentions it and how their NPS differs, with CSAT and CES",
        "description": "Not mentioning = every other response of the range and channel, with or without a"
        " comment (the aggregates do not count commented responses apart).",
    },
    "accounts": {
        "rule": "/reports/<survey_id>/accounts",
        "summary": "Every account by health with its reasons, account NPS per period and referral readiness",
        "description": "Accounts come from contacts imported with an account_id (docs/accounts.md); by month or"
        " quarter. Also the referral-ready account rate and the revenue-weighted NPS.",
    },
    "churn": {
        "rule": "/reports/<survey_id>/churn",
        "summary": "Churn rate by last NPS category, with 95% intervals, per cohort period and over the range",
        "description": "Cohort period: month or quarter of each churned contact's last answer before churning"
        " (docs/churn.md).",
    },
    "referrals": {
        "rule": "/reports/<survey_id>/referrals",
        "summary": "Referral KPIs per cohort: participation rate and click-through, with account readiness",
        "description": "A period is the cohort of promoters who answered in it (docs/referrals.md). Also the"
        " joins without an ask, the referral-ready account rate and each account's readiness score.",
    },
}
_ROUTE_PATH = re.compile(
    r"/reports/([^/]+)/(summary|trend|segments|channels|comments|export|drivers|accounts|churn|referrals)"
)
ERROR_STATUSES = (
    (400, "Bad range (inverted, too wide, too many trend points) or cursor"),
    (404, "Unknown survey, segment or dimension"),
    (422, "Invalid query parameters"),
)
JSON = "application/json"
# The order of each answer's fields: that of its model in nps.reporting.models (a test compares them).
FIGURES_FIELDS = (
    "n", "nps", "margin", "low", "high", "promoters", "passives", "detractors", "promoter_share", "passive_share",
    "detractor_share", "scores", "invites_sent", "response_rate", "earlier_invites", "answers_to_earlier_invites",
    "small_n", "csat", "ces",
)  # fmt: skip
TREND_POINT_FIELDS = (*FIGURES_FIELDS, "period", "first_day", "last_day", "partial", "change")
SLICE_ROW_FIELDS = (*FIGURES_FIELDS, "dimension", "value", "versus_rest")


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer other than a route's JSON: its status, content type, body and extra headers."""

    status: int
    content_type: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def aggregates() -> DynamoAggregateReader:
    return DynamoAggregateReader(settings().require("aggregates_table").aggregates_table)


@lru_cache(maxsize=1)
def responses() -> DynamoResponseReader:
    config = settings().require("responses_table", "aggregates_table")
    return DynamoResponseReader(config.responses_table, config.aggregates_table)


def page_of(survey_id: str, span: DateRange, **options: Any) -> ResponsePage:
    """A page of responses with their follow-up answers and, where analysed, their comments' sentiment."""
    return responses().page(survey_id, span, **options)


def reports() -> ReportService:
    return ReportService(aggregates())


def span_of(query: ReportQuery) -> DateRange:
    return DateRange(query.start, query.end)


def _fields(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: values[name] for name in names}


# -- what each route answers: the JSON of its model in nps.reporting.models, or the CSV ---------------
def summary_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``SummaryOut`` as JSON: the figures of the range, segment and channel."""
    span = span_of(query)
    service = reports()
    service.catalog(survey_id, span, query.segment)
    figures = service.total(survey_id, span, query.segment, query.channel)
    return {
        "survey_id": survey_id,
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "segment": query.segment,
        "channel": query.channel,
        "figures": _fields(figures.as_dict(), FIGURES_FIELDS),
    }


def trend_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``TrendOut`` as JSON: one point per period, each with its change from the previous one."""
    span = span_of(query)
    service = reports()
    service.catalog(survey_id, span, query.segment)
    points = service.trend(survey_id, span, query.granularity, query.segment, query.channel)
    return {
        "survey_id": survey_id,
        "granularity": query.granularity.value,
        "segment": query.segment,
        "channel": query.channel,
        "points": [_fields(point.as_dict(), TREND_POINT_FIELDS) for point in points],
    }


def segments_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``BreakdownOut`` as JSON: every value of one segment dimension."""
    rows = reports().by_dimension(survey_id, span_of(query), query.dimension, query.channel)
    return {
        "survey_id": survey_id,
        "dimension": query.dimension,
        "rows": [_fields(row.as_dict(), SLICE_ROW_FIELDS) for row in rows],
    }


def channels_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``BreakdownOut`` as JSON: every channel."""
    service = reports()
    span = span_of(query)
    catalog = service.catalog(survey_id, span, query.segment)
    rows = service.by_channel(survey_id, span, query.segment, catalog)
    return {
        "survey_id": survey_id,
        "dimension": "channel",
        "rows": [_fields(r.as_dict(), SLICE_ROW_FIELDS) for r in rows],
    }


def comments_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``CommentsOut`` as JSON: a page of comments, newest first, and the cursor of the next one."""
    span = span_of(query)
    reports().catalog(survey_id, span, query.segment)
    page = page_of(
        survey_id,
        span,
        limit=query.limit,
        cursor=query.cursor,
        newest_first=True,
        with_comment=True,
        category=query.category,
        segment=split_segment(query.segment),
    )
    return {
        "survey_id": survey_id,
        "comments": [
            {
                "invite_id": r.invite_id,
                "score": r.score,
                "category": r.category,
                "comment": r.comment or "",
                "channel": r.channel,
                "segments": r.segments,
                "first_answered_at": r.first_answered_at,
                "comment_at": r.comment_at,
                "sentiment": r.sentiment,
                "driver": r.driver,
                "csat": r.csat,
                "ces": r.ces,
                "themes": list(r.themes),
            }
            for r in page.responses
        ],
        "next_cursor": page.next_cursor,
    }


def export_body(survey_id: str, query: ReportQuery) -> Answer:
    """The CSV page, with ``X-Next-Cursor`` when more rows follow."""
    from nps.reporting.export import to_csv

    span = span_of(query)
    catalog = reports().catalog(survey_id, span)
    page = page_of(survey_id, span, limit=query.limit, cursor=query.cursor)
    body, rows = to_csv(page.responses, list(catalog.dimensions))
    metrics.add_metric(name="ResponsesExported", unit=MetricUnit.Count, value=rows)
    headers = {"Content-Disposition": f'attachment; filename="{survey_id}-{query.start}-{query.end}.csv"'}
    if page.next_cursor:
        headers["X-Next-Cursor"] = page.next_cursor
    return Answer(200, "text/csv; charset=utf-8", body, headers)


def drivers_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``DriversOut`` as JSON: every driver and theme against the rest, with CSAT and CES."""
    from nps.reporting.drivers import drivers_report

    report = drivers_report(reports(), survey_id, span_of(query), query.granularity, query.channel)
    return report.as_dict()


@lru_cache(maxsize=1)
def account_profiles() -> "DynamoAccountProfiles":
    from nps.accounts.adapters.profiles import DynamoAccountProfiles

    return DynamoAccountProfiles(required_environment({"table": "ACCOUNTS_TABLE"})["table"])


def accounts_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``AccountsOut`` as JSON: every account of the range by health, with readiness and weighted NPS."""
    from nps.reporting.accounts import accounts_report

    report = accounts_report(aggregates(), account_profiles(), survey_id, span_of(query), query.granularity)
    return report.as_dict()


def churn_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``ChurnOut`` as JSON: churn rate by last category per cohort period and over the range."""
    from nps.accounts.adapters.churn import DynamoChurnReader
    from nps.kernel.config import required_environment
    from nps.reporting.churn import churn_report, report_dict

    accounts_table = required_environment({"accounts": "ACCOUNTS_TABLE"})["accounts"]
    report = churn_report(aggregates(), DynamoChurnReader(accounts_table), survey_id, span_of(query), query.granularity)
    return report_dict(report)


def referrals_body(survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """``ReferralsOut`` as JSON: the referral KPIs per cohort and over the range, with account readiness."""
    from nps.accounts.adapters.referrals import DynamoReferralLedger
    from nps.reporting.referrals import referrals_report

    ledger = DynamoReferralLedger(required_environment({"table": "ACCOUNTS_TABLE"})["table"])
    report = referrals_report(aggregates(), account_profiles(), ledger, survey_id, span_of(query), query.granularity)
    return report.as_dict()


BODIES: dict[RouteName, Callable[[str, ReportQuery], Any]] = {
    "summary": summary_body,
    "trend": trend_body,
    "segments": segments_body,
    "channels": channels_body,
    "comments": comments_body,
    "export": export_body,
    "drivers": drivers_body,
    "accounts": accounts_body,
    "churn": churn_body,
    "referrals": referrals_body,
}


# -- errors: the same JSON through both doors ---------------------------------------------------------
def error_answer(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Answer:
    """``ErrorOut`` as JSON (``details`` only when given), written as pydantic writes it: compact, UTF-8."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return Answer(status, JSON, json.dumps({"error": error}, ensure_ascii=False, separators=(",", ":")))


def failure_answer(error: Exception) -> Answer:
    """The answer to an error a route raised: a typed report error is the caller's (4xx), anything else
    is logged and answered 500 without its message."""
    if isinstance(error, ReportError):
        logger.info("report refused", extra={"code": error.code, "status": error.status})
        return error_answer(error.status, error.code, str(error))
    if isinstance(error, RangeError):
        return error_answer(400, "bad_range", str(error))
    if isinstance(error, BadCursor):
        return error_answer(400, "bad_cursor", str(error))
    logger.exception("unexpected error while reporting")
    return error_answer(500, "internal_error", "the report could not be produced; try again later")


NOT_FOUND = ("not_found", "no such report; see docs/openapi/report.json")


# -- the direct door: canonical requests --------------------------------------------------------------
def canonical_request(event: dict[str, Any]) -> tuple[RouteName, str, ReportQuery] | None:
    """The route, survey id and query of a GET of a known route for a well-formed survey id with each
    query parameter once and every value the route reads in its canonical form; otherwise ``None``."""
    match = _ROUTE_PATH.fullmatch(event.get("rawPath") or "")
    method = (event.get("requestContext") or {}).get("http", {}).get("method")
    if method != "GET" or match is None or not canonical_survey_id(match[1]):
        return None
    given = parse_qs(event.get("rawQueryString") or "", keep_blank_values=True)
    if any(len(values) > 1 for values in given.values()):
        return None
    route: RouteName = match[2]  # type: ignore[assignment]  # the pattern lists the route names
    query = read_query(route, event.get("queryStringParameters"))
    return None if query is None else (route, match[1], query)


def answer_directly(route: RouteName, survey_id: str, query: ReportQuery) -> dict[str, Any]:
    """The HTTP API (payload 2.0) answer to a canonical request, shaped as the Powertools resolver's."""
    try:
        result = BODIES[route](survey_id, query)
    except Exception as error:  # every failure is an answer, as the resolver's exception handlers make it
        result = failure_answer(error)
    if not isinstance(result, Answer):
        result = Answer(200, JSON, json.dumps(result, separators=(",", ":")))
    return {
        "statusCode": result.status,
        "body": result.body,
        "isBase64Encoded": False,
        "headers": {**result.headers, "Content-Type": result.content_type},
        "cookies": [],
    }


# -- the validating door (Powertools resolver, pydantic models; also the OpenAPI document) ---------------
@lru_cache(maxsize=1)
def validating_resolver() -> "APIGatewayHttpResolver":
    """The routes with Powertools validation against the query models: for every request
    :func:`canonical_request` refuses (it answers 422 with the fields at fault, or serves what the
    models accept), and for ``python -m functions.report.openapi``."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
    from aws_lambda_powertools.event_handler.openapi.params import Path, Query

    from nps.reporting import models

    resolver = APIGatewayHttpResolver(enable_validation=True)
    errors: dict[int, OpenAPIResponse] = {
        status: {"description": description, "content": {"application/json": {"model": models.ErrorOut}}}
        for status, description in ERROR_STATUSES
    }
    survey_path = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The survey id")]

    def read(query: models.RangeQuery) -> ReportQuery:
        return ReportQuery(**query.model_dump())

    def response(answer: Answer) -> Response[str]:
        return Response(answer.status, answer.content_type, answer.body, dict(answer.headers))

    @resolver.get(**ROUTES["summary"], responses=errors)
    def summary(survey_id: survey_path, query: Annotated[models.SliceQuery, Query()]) -> models.SummaryOut:
        body = summary_body(survey_id, read(query))
        return models.SummaryOut.model_validate({**body, "start": query.start, "end": query.end})

    @resolver.get(**ROUTES["trend"], responses=errors)
    def trend(survey_id: survey_path, query: Annotated[models.TrendQuery, Query()]) -> models.TrendOut:
        return models.TrendOut.model_validate(trend_body(survey_id, read(query)))

    @resolver.get(**ROUTES["segments"], responses=errors)
    def segments(survey_id: survey_path, query: Annotated[models.DimensionQuery, Query()]) -> models.BreakdownOut:
        return models.BreakdownOut.model_validate(segments_body(survey_id, read(query)))

    @resolver.get(**ROUTES["channels"], responses=errors)
    def channels(survey_id: survey_path, query: Annotated[models.ChannelQuery, Query()]) -> models.BreakdownOut:
        return models.BreakdownOut.model_validate(channels_body(survey_id, read(query)))

    @resolver.get(**ROUTES["comments"], responses=errors)
    def comments(survey_id: survey_path, query: Annotated[models.CommentsQuery, Query()]) -> models.CommentsOut:
        return models.CommentsOut.model_validate(comments_body(survey_id, read(query)))

    csv: dict[int, OpenAPIResponse] = {200: {"description": "CSV", "content": {"text/csv": {}}}}

    @resolver.get(**ROUTES["export"], responses={**errors, **csv})
    def export(survey_id: survey_path, query: Annotated[models.ExportQuery, Query()]) -> Response[str]:
        return response(export_body(survey_id, read(query)))

    @resolver.get(**ROUTES["drivers"], responses=errors)
    def drivers(survey_id: survey_path, query: Annotated[models.DriversQuery, Query()]) -> models.DriversOut:
        body = drivers_body(survey_id, read(query))
        return models.DriversOut.model_validate({**body, "start": query.start, "end": query.end})

    @resolver.get(**ROUTES["accounts"], responses=errors)
    def accounts(survey_id: survey_path, query: Annotated[models.AccountsQuery, Query()]) -> models.AccountsOut:
        body = accounts_body(survey_id, read(query))
        return models.AccountsOut.model_validate({**body, "start": query.start, "end": query.end})

    from nps.reporting.churn_models import ChurnOut, ChurnQuery

    @resolver.get(**ROUTES["churn"], responses=errors)
    def churn(survey_id: survey_path, query: Annotated[ChurnQuery, Query()]) -> ChurnOut:
        body = churn_body(survey_id, read(query))
        return ChurnOut.model_validate({**body, "start": query.start, "end": query.end})

    @resolver.get(**ROUTES["referrals"], responses=errors)
    def referrals(survey_id: survey_path, query: Annotated[models.ReferralsQuery, Query()]) -> models.ReferralsOut:
        body = referrals_body(survey_id, read(query))
        return models.ReferralsOut.model_validate({**body, "start": query.start, "end": query.end})

    @resolver.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(error: RequestValidationError) -> Response[str]:
        details = [
            {
                "location": ".".join(str(part) for part in e.get("loc", ()) if part != "query"),
                "problem": e.get("msg") or e.get("type"),
            }
            for e in error.errors()
        ]
        fields = ", ".join(sorted({d["location"] for d in details})) or "the request"
        return response(error_answer(422, "invalid_request", f"invalid query parameters: {fields}", details))

    @resolver.not_found
    def not_found(_: Exception) -> Response[str]:
        return response(error_answer(404, *NOT_FOUND))

    @resolver.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def failed(error: Exception) -> Response[str]:
        return response(failure_answer(error))

    return resolver


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = canonical_request(event)
    if request is None:
        return validating_resolver().resolve(event, context)
    return answer_directly(*request)
