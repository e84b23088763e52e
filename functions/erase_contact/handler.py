"""erase_contact λ: ``POST /contacts/{contact_id}/erasure`` on the IAM-authorised API.

Deletes the contact's data from every store (:mod:`nps.contacts.erasure`, docs/privacy.md) and answers
what it erased, per store. Its own role: the only function that deletes contacts, responses and
follow-ups. Answers: 200 with the counts (``"erased": false, "nothing_left": true`` for an id with nothing
left: a documented no-op, so a retried request is safe), 409 while a send to the contact is in flight
(retry in a minute), 422 for a malformed id. No address is logged or answered.
"""

# No ``from __future__ import annotations``: Powertools reads the route's annotations to validate them.
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from nps.contacts.erasure import ErasureService, SendInFlight
from nps.contacts.wiring import erasure_service
from nps.events.names import ID_PATTERN
from nps.reporting.models import ErrorOut

logger = Logger(service="erase_contact")
ROUTE = "/contacts/<contact_id>/erasure"
#: Within the HTTP API's 29 s: the respond fence (12 s) and a short wait for a send in flight.
SEND_WAIT_SECONDS = 5.0


@lru_cache(maxsize=1)
def service() -> ErasureService:
    erasure = erasure_service()
    erasure.send_wait_seconds = SEND_WAIT_SECONDS
    return erasure


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
        try:
            result = service().erase(contact_id, keep_suppression=keep_suppression)
        except SendInFlight as error:
            return Response(409, "application/json", {"error": {"code": "send_in_flight", "message": str(error)}})
        logger.info("contact erasure", extra={"contact_id": contact_id, "counts": result.counts})
        return Response(200, "application/json", result.as_dict())

    return app


@lru_cache(maxsize=1)
def app() -> APIGatewayHttpResolver:
    return resolver()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app().resolve(event, context)
