"""deliver λ: the send queue → SES (email) / SNS (SMS), one invite per message, at most once.

Powertools batch processing reports failed messages only; a retryable failure is retried by SQS, a
permanent one (or the last attempt) is parked in the DLQ with its reason by the service itself. A send
whose outcome is unknown is marked so on the invite and counted (``MessagesUnknown``); it is not retried.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from nps.events.publisher import EventPublisher
from nps.kernel.aws import send_budget_seconds
from nps.kernel.config import settings
from nps.links.adapters.keyring import load_id_key, load_keyring
from nps.sending.adapters.channels import SesMailer, SnsTexter, SqsSendQueue
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.invites import DynamoInviteLifecycle, InviteRecord
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.delivery import DeliveryService, DeliverySettings, Outcome, RateLimiter, Responses, SendMessage
from nps.sending.settings import sending_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="deliver")
metrics = Metrics(namespace="NPS", service="deliver")
# A batch whose every message failed is still a partial-failure response, not an exception.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_outcomes: Counter[Outcome] = Counter()  # per invocation: one metric value per outcome, not per message


class ReminderScores:
    """The responses table's scores, which only a reminder reads (has the invite been answered?): its adapter
    module is loaded by the first reminder, not by every cold start of the function."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self._repository: Responses | None = None

    def get_score(self, invite_id: str) -> int | None:
        """:meth:`nps.responding.adapters.responses.DynamoResponseRepository.get_score`."""
        if self._repository is None:
            from nps.responding.adapters.responses import DynamoResponseRepository

            self._repository = DynamoResponseRepository(self.table_name)
        return self._repository.get_score(invite_id)


@lru_cache(maxsize=1)
def service() -> DeliveryService:
    config = sending_settings().require(
        "invites_table", "aggregates_table", "responses_table", "surveys_table", "contacts_table",
        "suppressions_table", "send_queue_url", "dead_letter_queue_url", "signing_secret_name", "id_key_secret_name",
        "public_base_url", "event_bus_name",
    )  # fmt: skip
    publisher = EventPublisher(config.event_bus_name)
    suppressions = DynamoSuppressionRepository(config.suppressions_table)

    def sms_opted_out(invite: InviteRecord, now: Any) -> None:
        from nps.sending.unsubscribing import unsubscribed_event  # an opted-out number is rare

        publisher.publish([unsubscribed_event(invite, "sms_stop", now)])

    return DeliveryService(
        keyring=lambda: load_keyring(config.signing_secret_name),
        id_key=lambda: load_id_key(config.id_key_secret_name),
        lifecycle=DynamoInviteLifecycle(config.invites_table, config.aggregates_table, config.contacts_table),
        surveys=DynamoSurveyRepository(config.surveys_table),
        contacts=DynamoContactRepository(config.contacts_table),
        suppressions=suppressions,
        responses=ReminderScores(config.responses_table or settings().responses_table),
        mailer=SesMailer(),
        texter=SnsTexter(),
        queue=SqsSendQueue(config.send_queue_url, config.dead_letter_queue_url),
        limiter=RateLimiter(config.per_instance_rate),
        settings=DeliverySettings(
            base_url=config.public_base_url,
            configuration_set=config.ses_configuration_set,
            max_attempts=config.max_send_attempts,
            retention_days=config.retention_days,
            send_budget_seconds=send_budget_seconds(),
        ),
        on_sms_opt_out=sms_opted_out,
        lifts=suppressions,
    )


def record_handler(record: SQSRecord) -> str:
    message = SendMessage.parse(json.loads(record.body))
    attempt = int(record.attributes.approximate_receive_count or "1")
    outcome = service().deliver(message, attempt)
    logger.info(
        "send message handled",
        extra={"invite_id": message.invite_id, "kind": message.kind, "outcome": outcome, "attempt": attempt},
    )
    _outcomes[outcome] += 1
    if outcome is Outcome.DEAD_LETTERED:
        logger.warning("send message dead-lettered", extra={"invite_id": message.invite_id})
    elif outcome is Outcome.UNKNOWN:
        logger.warning("send outcome unknown: not retried", extra={"invite_id": message.invite_id})
    return outcome.value


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _outcomes.clear()
    service().time_left = lambda: context.get_remaining_time_in_millis() / 1000
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    for outcome, count in _outcomes.items():
        metrics.add_metric(f"Messages{outcome.value.title().replace('_', '')}", MetricUnit.Count, count)
    failed = len(response.get("batchItemFailures", []))
    if failed:
        metrics.add_metric("MessagesRetried", MetricUnit.Count, failed)
    return response
