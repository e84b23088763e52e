"""suppress λ: SES bounce and complaint notifications (via SNS) → suppressions, invite status, events."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from nps.events.publisher import EventPublisher
from nps.links.adapters.keyring import load_id_key
from nps.sending.adapters.invites import DynamoInviteLifecycle
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.settings import sending_settings
from nps.sending.unsubscribing import FeedbackService, parse_ses_notification

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="suppress")


@lru_cache(maxsize=1)
def service() -> FeedbackService:
    config = sending_settings().require("invites_table", "suppressions_table", "event_bus_name", "id_key_secret_name")
    return FeedbackService(
        invites=DynamoInviteLifecycle(config.invites_table, config.aggregates_table, config.contacts_table),
        suppressions=DynamoSuppressionRepository(config.suppressions_table),
        publisher=EventPublisher(config.event_bus_name),
        id_key=lambda: load_id_key(config.id_key_secret_name),
    )


def handle_message(message: str) -> str:
    feedback = parse_ses_notification(message)
    if feedback is None:
        return "ignored"
    suppressed = service().handle(feedback)
    logger.info(
        "ses feedback handled",
        extra={"kind": feedback.kind, "invite_id": feedback.invite_id, "suppressed": suppressed},
    )
    return feedback.kind


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """SNS invokes with ``Records[].Sns.Message``; a failure raises so SNS retries (then its DLQ)."""
    outcomes = [handle_message(record["Sns"]["Message"]) for record in event.get("Records", [])]
    return {"handled": outcomes}
