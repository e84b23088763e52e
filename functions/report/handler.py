"""report λ: the IAM-authorised reporting API under ``/reports/…`` on the HTTP API.

Thin: validate the query with pydantic (Powertools resolver), ask :class:`nps.reporting.figures.ReportService`
(aggregates only) or the responses reader (comments, CSV), and map typed errors to JSON 4xx answers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from nps.kernel.config import settings
from nps.reporting.adapters.reads import BadCursor, DynamoAggregateReader, DynamoResponseReader, split_segment
from nps.reporting.export import to_csv
from nps.reporting.figures import ReportError, ReportService
from nps.reporting.models import (
    BreakdownOut,
    ChannelQuery,
    CommentOut,
    CommentsOut,
    CommentsQuery,
    DimensionQuery,
    ErrorOut,
    ExportQuery,
    FiguresOut,
    RangeQuery,
    SliceQuery,
    SliceRowOut,
    SummaryOut,
    TrendOut,
    TrendPointOut,
    TrendQuery,
)
from nps.reporting.ranges import DateRange, RangeError

logger = Logger(service="report")
metrics = Metrics(namespace="NPS", service="report")
app = APIGatewayHttpResolver(enable_validation=True)
ERRORS: dict[int, OpenAPIResponse] = {
    status: {"description": description, "content": {"application/json": {"model": ErrorOut}}}
    for status, description in (
        (400, "Bad range (inverted, too wide, too many trend points) or cursor"),
        (404, "Unknown survey, segment or dimension"),
        (422, "Invalid query parameters"),
    )
}
SurveyPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The survey id")]


@lru_cache(maxsize=1)
def aggregates() -> DynamoAggregateReader:
    return DynamoAggregateReader(settings().require("aggregates_table").aggregates_table)


@lru_cache(maxsize=1)
def responses() -> DynamoResponseReader:
    config = settings().require("responses_table", "aggregates_table")
    return DynamoResponseReader(config.responses_table, config.aggregates_table)


def reports() -> ReportService:
    return ReportService(aggregates())


def span_of(query: RangeQuery) -> DateRange:
    return DateRange(query.start, query.end)


@app.get("/reports/<survey_id>/summary", summary="NPS and counts over a range", responses=ERRORS)
def summary(survey_id: SurveyPath, query: Annotated[SliceQuery, Query()]) -> SummaryOut:
    span = span_of(query)
    service = reports()
    service.catalog(survey_id, span, query.segment)
    figures = service.total(survey_id, span, query.segment, query.channel)
    return SummaryOut(
        survey_id=survey_id,
        start=query.start,
        end=query.end,
        segment=query.segment,
        channel=query.channel,
        figures=FiguresOut(**figures.as_dict()),
    )


@app.get(
    "/reports/<survey_id>/trend",
    summary="NPS per period, with the significance of each change",
    responses=ERRORS,
)
def trend(survey_id: SurveyPath, query: Annotated[TrendQuery, Query()]) -> TrendOut:
    span = span_of(query)
    service = reports()
    service.catalog(survey_id, span, query.segment)
    points = service.trend(survey_id, span, query.granularity, query.segment, query.channel)
    return TrendOut(
        survey_id=survey_id,
        granularity=query.granularity,
        segment=query.segment,
        channel=query.channel,
        points=[TrendPointOut(**point.as_dict()) for point in points],
    )


@app.get("/reports/<survey_id>/segments", summary="Every value of a segment dimension", responses=ERRORS)
def segments(survey_id: SurveyPath, query: Annotated[DimensionQuery, Query()]) -> BreakdownOut:
    rows = reports().by_dimension(survey_id, span_of(query), query.dimension, query.channel)
    return BreakdownOut(
        survey_id=survey_id, dimension=query.dimension, rows=[SliceRowOut(**row.as_dict()) for row in rows]
    )


@app.get("/reports/<survey_id>/channels", summary="Every channel", responses=ERRORS)
def channels(survey_id: SurveyPath, query: Annotated[ChannelQuery, Query()]) -> BreakdownOut:
    service = reports()
    span = span_of(query)
    catalog = service.catalog(survey_id, span, query.segment)
    rows = service.by_channel(survey_id, span, query.segment, catalog)
    return BreakdownOut(survey_id=survey_id, dimension="channel", rows=[SliceRowOut(**r.as_dict()) for r in rows])


@app.get("/reports/<survey_id>/comments", summary="Recent comments, newest first (paginated)", responses=ERRORS)
def comments(survey_id: SurveyPath, query: Annotated[CommentsQuery, Query()]) -> CommentsOut:
    span = span_of(query)
    reports().catalog(survey_id, span, query.segment)
    page = responses().page(
        survey_id,
        span,
        limit=query.limit,
        cursor=query.cursor,
        newest_first=True,
        with_comment=True,
        category=query.category,
        segment=split_segment(query.segment),
    )
    return CommentsOut(
        survey_id=survey_id,
        comments=[
            CommentOut(
                invite_id=r.invite_id,
                score=r.score,
                category=r.category,  # type: ignore[arg-type]
                comment=r.comment or "",
                channel=r.channel,
                segments=r.segments,
                first_answered_at=r.first_answered_at,
                comment_at=r.comment_at,
            )
            for r in page.responses
        ],
        next_cursor=page.next_cursor,
    )


@app.get(
    "/reports/<survey_id>/export",
    summary="CSV of counted responses first answered in the range",
    description="At most `limit` rows; the `X-Next-Cursor` header carries the cursor of the next page.",
    responses={**ERRORS, 200: {"description": "CSV", "content": {"text/csv": {}}}},
)
def export(survey_id: SurveyPath, query: Annotated[ExportQuery, Query()]) -> Response[str]:
    span = span_of(query)
    catalog = reports().catalog(survey_id, span)
    page = responses().page(survey_id, span, limit=query.limit, cursor=query.cursor)
    body, rows = to_csv(page.responses, list(catalog.dimensions))
    metrics.add_metric(name="ResponsesExported", unit=MetricUnit.Count, value=rows)
    headers = {"Content-Disposition": f'attachment; filename="{survey_id}-{query.start}-{query.end}.csv"'}
    if page.next_cursor:
        headers["X-Next-Cursor"] = page.next_cursor
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=body, headers=headers)


def error_response(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response[str]:
    body = ErrorOut.model_validate({"error": {"code": code, "message": message, "details": details}})
    return Response(
        status_code=status,
        content_type="application/json",
        body=body.model_dump_json(exclude_none=True),
    )


@app.exception_handler(ReportError)  # type: ignore[untyped-decorator]
def report_error(error: ReportError) -> Response[str]:
    logger.info("report refused", extra={"code": error.code, "status": error.status})
    return error_response(error.status, error.code, str(error))


@app.exception_handler(RangeError)  # type: ignore[untyped-decorator]
def range_error(error: RangeError) -> Response[str]:
    return error_response(400, "bad_range", str(error))


@app.exception_handler(BadCursor)  # type: ignore[untyped-decorator]
def bad_cursor(error: BadCursor) -> Response[str]:
    return error_response(400, "bad_cursor", str(error))


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def invalid_request(error: RequestValidationError) -> Response[str]:
    details = [
        {
            "location": ".".join(str(part) for part in e.get("loc", ()) if part != "query"),
            "problem": e.get("msg") or e.get("type"),
        }
        for e in error.errors()
    ]
    fields = ", ".join(sorted({d["location"] for d in details})) or "the request"
    return error_response(422, "invalid_request", f"invalid query parameters: {fields}", details)


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return error_response(404, "not_found", "no such report; see docs/openapi/report.json")


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected(error: Exception) -> Response[str]:
    logger.exception("unexpected error while reporting")
    return error_response(500, "internal_error", "the report could not be produced; try again later")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
