"""comment_sentiment λ: ``NPS Comment Received`` → the comment's sentiment and key phrases (Amazon Comprehend).

Deployed only with ``-c commentSentiment=true`` (docs/comment-sentiment.md). Reads its own queue, which
an EventBridge rule fills with every ``NPS Comment Received`` event. Each message names an invite; the
comment itself is read from the responses table, analysed once (``nps.reasons.sentiment``) and the
result written on the response. A failure (Comprehend throttling after the client's retries, a 5xx, a
message that names no invite) is reported for that message only, so SQS retries it and, after the
queue's last receive, moves it to the alarmed DLQ. Logs and metrics carry ids and outcomes only: never
the comment, its key phrases or its sentiment.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from nps.kernel.config import settings
from nps.reasons.sentiment import analyse_comment
from nps.responding.adapters.sentiment import ComprehendAnalyser, DynamoCommentStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="comment-sentiment")
metrics = Metrics(namespace="NPS", service="comment-sentiment")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def store() -> DynamoCommentStore:
    return DynamoCommentStore(settings().require("responses_table").responses_table)


def invite_id_of(body: str) -> str:
    """The invite id of an ``NPS Comment Received`` event delivered by the rule; ``ValueError`` without one."""
    event = json.loads(body)
    invite_id = event.get("detail", {}).get("invite_id") if isinstance(event, dict) else None
    if not isinstance(invite_id, str) or not invite_id or len(invite_id) > 256:
        raise ValueError("the message is not an NPS Comment Received event with an invite id")
    return invite_id


def record_handler(record: SQSRecord) -> str:
    invite_id = invite_id_of(record.body)
    outcome = analyse_comment(invite_id, store(), ComprehendAnalyser())
    logger.info("comment sentiment", extra={"invite_id": invite_id, "outcome": outcome.value})
    metrics.add_metric(name=f"CommentSentiment_{outcome.value}", unit=MetricUnit.Count, value=1)
    return outcome.value


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return response
