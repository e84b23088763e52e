"""contact_timeline λ: ``GET /contacts/{contact_id}`` on the IAM-authorised API: one contact's timeline.

Read-only: every invite with its channel and status, its answer, score changes and comments, follow-ups
and their outcome, the suppression state per channel and when each survey may ask again
(:mod:`nps.contacts.timeline`). Errors are JSON ``{"error": {"code", "message"}}``: 404 for an id with
nothing on record, 422 for a malformed id or limit.

Two doors lead to the same route code, as in the report function: a GET of a well-formed id with at most a
canonical ``limit`` (digits, no leading zero, 1–1000) is answered directly (:func:`answer_directly`);
anything else goes to the Powertools resolver, which validates with pydantic (422 with the fields at fault)
and documents the route. Neither is loaded by a cold start that does not need it.
"""

# No ``from __future__ import annotations``: Powertools reads the route's annotations to validate them.
import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nps.contacts.adapters.records import DynamoContactRecords
from nps.contacts.timeline import MAX_INVITES_SHOWN
from nps.contacts.wiring import id_key, records
from nps.events.names import ID_PATTERN
from nps.links.pseudonyms import IdKey

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

logger = Logger(service="contact_timeline")
ROUTE = "/contacts/<contact_id>"


@lru_cache(maxsize=1)
def store() -> DynamoContactRecords:
    return records()


@lru_cache(maxsize=1)
def key() -> IdKey:
    return id_key()


NOT_FOUND = {"error": {"code": "not_found", "message": "no contact with this id on record (unknown, or erased)"}}
#: Ids the route takes (the contract's ``ID_PATTERN``) in a path of exactly one segment after ``/contacts/``.
_CANONICAL_PATH = re.compile(r"/contacts/([A-Za-z0-9_-]{1,64})")
_CANONICAL_LIMIT = re.compile(r"[1-9][0-9]{0,3}")
MAX_LIMIT = 1000


def timeline_answer(contact_id: str, limit: int) -> tuple[int, dict[str, Any]]:
    """The route's status and JSON body for a well-formed ``contact_id`` and ``limit`` (both doors)."""
    found = store().timeline(contact_id, key(), datetime.now(UTC), limit=limit)
    if found.empty:
        return 404, NOT_FOUND
    return 200, found.as_dict()


def canonical_request(event: dict[str, Any]) -> tuple[str, int] | None:
    """``(contact_id, limit)`` of a GET the route documents, with ``limit`` absent or canonical; else None."""
    if event.get("requestContext", {}).get("http", {}).get("method") != "GET":
        return None
    match = _CANONICAL_PATH.fullmatch(event.get("rawPath") or "")
    if match is None:
        return None
    query = event.get("queryStringParameters") or {}
    if set(query) - {"limit"} or (event.get("rawQueryString") or "").count("limit=") > 1:
        return None
    limit = query.get("limit")
    if limit is None:
        return match[1], MAX_INVITES_SHOWN
    if not isinstance(limit, str) or not _CANONICAL_LIMIT.fullmatch(limit) or int(limit) > MAX_LIMIT:
        return None
    return match[1], int(limit)


def answer_directly(contact_id: str, limit: int) -> dict[str, Any]:
    """The HTTP API (payload 2.0) answer to a canonical request, shaped as the Powertools resolver's."""
    status, body = timeline_answer(contact_id, limit)
    return {
        "statusCode": status,
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "cookies": [],
    }


def resolver() -> "APIGatewayHttpResolver":
    """The route, validated (422 with the fields at fault) and documented (docs/openapi/contacts.json)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
    from aws_lambda_powertools.event_handler.openapi.params import Path, Query

    from nps.reporting.models import ErrorOut

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
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Invites shown at most")] = MAX_INVITES_SHOWN,
    ) -> Response[Any]:
        status, body = timeline_answer(contact_id, limit)
        return Response(status, "application/json", body)

    return app


@lru_cache(maxsize=1)
def app() -> "APIGatewayHttpResolver":
    return resolver()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = canonical_request(event)
    if request is None:
        return app().resolve(event, context)
    return answer_directly(*request)
