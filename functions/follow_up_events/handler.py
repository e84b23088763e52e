"""follow_up_events λ: detractor comments, retractions and re-survey answers → their follow-ups.

Reads the follow-up events queue (EventBridge rules in ``nps.events.patterns.FOLLOW_UP_EVENTS``). An event
that breaks the contract is parked in the DLQ at once with the reason (retrying cannot fix it); any
other failure is reported for that message only, so SQS retries it and redrives it to the DLQ after
the last attempt.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from nps.follow_ups.steps import InvalidFollowUpEvent
from nps.follow_ups.wiring import follow_up_service
from nps.kernel import aws
from nps.sending.settings import sending_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="follow-up-events")
metrics = Metrics(namespace="NPS", service="follow-up-events")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> str:
    try:
        event = json.loads(record.body)
        outcome = follow_up_service().handle_event(event)
    except (InvalidFollowUpEvent, ValueError) as error:
        reason = str(error)[:1000]
        logger.warning("follow-up event rejected", extra={"reason": reason, "message_id": record.message_id})
        aws.client("sqs").send_message(
            QueueUrl=sending_settings().require("follow_up_events_dlq_url").follow_up_events_dlq_url,
            MessageBody=record.body,
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256] or "invalid"}},
        )
        metrics.add_metric("EventsRejected", MetricUnit.Count, 1)
        return "rejected"
    logger.info(
        "follow-up event handled",
        extra={"detail_type": event.get("detail-type"), "invite_id": event.get("detail", {}).get("invite_id"),
               "outcome": outcome},
    )  # fmt: skip
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return response
