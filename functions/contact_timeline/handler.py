"""contact_timeline λ: ``GET /contacts/{contact_id}`` on the IAM-authorised API: one contact's timeline.

Read-only: every invite with its channel and status, its answer, score changes and comments, follow-ups
and their outcome, the suppression state per channel and when each survey may ask again
(:mod:`nps.contacts.timeline`). Errors are JSON ``{"error": {"code", "message"}}``: 404 for an id with
nothing on record, 422 for a malformed id or limit.
"""

# No ``from __future__ import annotations``: Powertools reads the route's annotations to validate them.
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from nps.contacts.adapters.records import DynamoContactRecords
from nps.contacts.timeline import MAX_INVITES_SHOWN
from nps.contacts.wiring import id_key, records
from nps.events.names import ID_PATTERN
from nps.links.pseudonyms import IdKey
from nps.reporting.models import ErrorOut

logger = Logger(service="contact_timeline")
ROUTE = "/contacts/<contact_id>"


@lru_cache(maxsize=1)
def store() -> DynamoContactRecords:
    return records()


@lru_cache(maxsize=1)
def key() -> IdKey:
    return id_key()


def error(status: int, code: str, message: str) -> Response[Any]:
    return Response(status, "application/json", {"error": {"code": code, "message": message}})


def resolver() -> APIGatewayHttpResolver:
    """The route, validated (422 with the fields at fault) and documented (docs/openapi/contacts.json)."""
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        # The API's one error shape (docs/openapi/contacts.json), naming the fields at fault, never the input.
        details = [
            {"location": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("msg") or e.get("type")}
            for e in error.errors()
        ]
        fields = ", ".join(sorted({d["location"] for d in details})) or "the request"
        body = {"error": {"code": "invalid_request", "message": f"invalid {fields}", "details": details}}
        return Response(422, "application/json", body)

    @app.get(
        ROUTE,
        summary="A contact's timeline",
        description="Invites (newest first, at most `limit`; `more_invites` counts the rest), answers, score "
        "changes, comments, follow-ups, suppression state per channel and next eligible date per survey.",
        responses={
            422: {"description": "A malformed id or parameter", "content": {"application/json": {"model": ErrorOut}}},
            200: {"description": "The timeline"},
            404: {
                "description": "Nothing of this contact on record",
                "content": {"application/json": {"model": ErrorOut}},
            },
        },
    )
    def timeline(
        contact_id: Annotated[str, Path(pattern=ID_PATTERN, description="The contact id")],
        limit: Annotated[int, Query(ge=1, le=1000, description="Invites shown at most")] = MAX_INVITES_SHOWN,
    ) -> Response[Any]:
        found = store().timeline(contact_id, key(), datetime.now(UTC), limit=limit)
        if found.empty:
            return error(404, "not_found", "no contact with this id on record (unknown, or erased)")
        return Response(200, "application/json", found.as_dict())

    return app


@lru_cache(maxsize=1)
def app() -> APIGatewayHttpResolver:
    return resolver()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app().resolve(event, context)
