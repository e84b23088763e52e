"""suppression_events λ: the suppressions stream → ``NPS Contact Unsubscribed``.

An unsubscribe writes its suppressions and nothing else; the first suppression it writes carries the
opt-out (ids and method), and this function publishes the event from that record. A record whose event
the bus refuses (an error, or ``FailedEntryCount`` > 0 after the publisher's own retries) is reported as
failed, so the stream retries it (bisecting) and, after the last attempt, sends its position to the
on-failure queue. Only inserted suppressions that carry an opt-out reach the function (event filter);
anything else that does is skipped here too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from nps.events.publisher import EventPublisher
from nps.kernel.config import settings
from nps.kernel.streams import plain_image
from nps.sending.unsubscribing import opt_out_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="suppression-events")
metrics = Metrics(namespace="NPS", service="suppression-events")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@lru_cache(maxsize=1)
def publisher() -> EventPublisher:
    return EventPublisher(settings().require("event_bus_name").event_bus_name)


def record_handler(record: DynamoDBRecord) -> str:
    """Publish the opt-out one inserted suppression carries; ``published`` or ``ignored``."""
    if record.raw_event.get("eventName") != "INSERT":
        return "ignored"
    stream = record.raw_event.get("dynamodb")
    image = plain_image(stream.get("NewImage")) if isinstance(stream, dict) else None
    event = opt_out_event(image or {})
    if event is None:
        return "ignored"
    publisher().publish([event])
    logger.info(
        "opt-out published",
        extra={"invite_id": getattr(event.detail, "invite_id", None), "method": getattr(event.detail, "method", None)},
    )
    metrics.add_metric(name="OptOutsPublished", unit=MetricUnit.Count, value=1)
    return "published"


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return response
