"""erase_contact λ: ``POST /contacts/{contact_id}/erasure`` on the IAM-authorised API.

Deletes the contact's data from every store (:mod:`nps.contacts.erasure`, docs/privacy.md) and answers
what it erased, per store. Its own role: the only function that deletes contacts, responses and
follow-ups. Answers: 200 with the counts (``"erased": false, "nothing_left": true`` for an id with nothing
left: a documented no-op, so a retried request is safe), 409 while a send to the contact is in flight
(retry in a minute), 422 for a malformed id. No address is logged or answered.

Two doors lead to the same route code, as in the report function: a POST of a well-formed id with
``keep_suppression`` absent, ``true`` or ``false`` is answered directly (:func:`answer_directly`); anything
else goes to the Powertools resolver, which validates with pydantic (422 with the fields at fault) and
documents the route. Neither is loaded by a cold start that does not need it.
"""

# No ``from __future__ import annotations``: Powertools reads the route's annotations to validate them.
import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nps.contacts.erasure import ErasureService, SendInFlight
from nps.contacts.wiring import erasure_service
from nps.events.names import ID_PATTERN

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

logger = Logger(service="erase_contact")
ROUTE = "/contacts/<contact_id>/erasure"
#: Within the HTTP API's 29 s: the respond fence (12 s) and a short wait for a send in flight.
SEND_WAIT_SECONDS = 5.0


@lru_cache(maxsize=1)
def service() -> ErasureService:
    erasure = erasure_service()
    erasure.send_wait_seconds = SEND_WAIT_SECONDS
    return erasure


#: Ids the route takes (the contract's ``ID_PATTERN``) in exactly ``/contacts/<id>/erasure``.
_CANONICAL_PATH = re.compile(r"/contacts/([A-Za-z0-9_-]{1,64})/erasure")
_FLAGS = {"true": True, "false": False}


def erasure_answer(contact_id: str, keep_suppression: bool) -> tuple[int, dict[str, Any]]:
    """The route's status and JSON body for a well-formed ``contact_id`` (both doors)."""
    try:
        result = service().erase(contact_id, keep_suppression=keep_suppression)
    except SendInFlight as error:
        return 409, {"error": {"code": "send_in_flight", "message": str(error)}}
    logger.info("contact erasure", extra={"contact_id": contact_id, "counts": result.counts})
    return 200, result.as_dict()


def canonical_request(event: dict[str, Any]) -> tuple[str, bool] | None:
    """``(contact_id, keep_suppression)`` of a POST the route documents, the flag absent, ``true`` or
    ``false`` once; else None (the resolver decides)."""
    if event.get("requestContext", {}).get("http", {}).get("method") != "POST":
        return None
    match = _CANONICAL_PATH.fullmatch(event.get("rawPath") or "")
    if match is None:
        return None
    query = event.get("queryStringParameters") or {}
    if set(query) - {"keep_suppression"} or (event.get("rawQueryString") or "").count("keep_suppression=") > 1:
        return None
    flag = query.get("keep_suppression", "false")
    if flag not in _FLAGS:
        return None
    return match[1], _FLAGS[flag]


def answer_directly(contact_id: str, keep_suppression: bool) -> dict[str, Any]:
    """The HTTP API (payload 2.0) answer to a canonical request, shaped as the Powertools resolver's."""
    status, body = erasure_answer(contact_id, keep_suppression)
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

    @app.post(
        ROUTE,
        summary="Erase a contact from every store",
        description="Deletes the contact, its invites, responses (aggregates corrected through the stream), "
        "follow-ups and comments, account records, suppressions (or keeps a hash-only one), mailbox claims and "
        "import-report rows; publishes `NPS Contact Erased`. Repeating it is safe: an id with nothing left "
        'answers 200 with `"nothing_left": true`.',
        responses={
            422: {"description": "A malformed id or parameter", "content": {"application/json": {"model": ErrorOut}}},
            200: {"description": "What was erased, per store"},
            409: {
                "description": "A send to the contact is in flight: retry in a minute",
                "content": {"application/json": {"model": ErrorOut}},
            },
        },
    )
    def erase(
        contact_id: Annotated[str, Path(pattern=ID_PATTERN, description="The contact id")],
        keep_suppression: Annotated[
            bool, Query(description="Keep a hash-only suppression of each address (no address, no contact id)")
        ] = False,
    ) -> Response[Any]:
        status, body = erasure_answer(contact_id, keep_suppression)
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
