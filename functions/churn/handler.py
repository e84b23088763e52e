"""churn λ: ``Customer Churned`` business events → churn records against the last NPS answer before them.

Reads its own queue, which an EventBridge rule fills with every ``Customer Churned`` event on the NPS bus
whose source is not ``nps`` (docs/churn.md). Each message is checked against the contract
(``nps.events.models.CustomerChurnedDetail``) by its pydantic-free parser (``nps.events.consumed``: it
accepts exactly what the model accepts; pydantic would cost the cold start about 90 ms) and recorded by
``nps.accounts.churn.record_churn``: exactly once per contact and per account (a marker), a duplicate or
late event harmless. A malformed event, one dated over a day ahead or naming an unknown account fails alone
(partial batch failure): SQS retries it and parks it in the alarmed DLQ after the last receive. Logs
carry the rule broken, the message id and the outcome, never the detail (a malformed one could hold anything).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from nps.accounts.adapters.churn import DynamoChurnStore
from nps.accounts.churn import ChurnNotice, ChurnRejected, UnknownAccount, record_churn
from nps.events.consumed import DetailRefused, parse_customer_churned
from nps.events.names import CUSTOMER_CHURNED, EVENT_SOURCE
from nps.kernel.config import required_environment

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="churn")
metrics = Metrics(namespace="NPS", service="churn")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


#: The time a churn is received at (a churn dated over a day after it is refused); the local stack plays
#: its own clock here.
clock: Callable[[], datetime] = partial(datetime.now, UTC)


@lru_cache(maxsize=1)
def store() -> DynamoChurnStore:
    tables = required_environment(
        {
            "invites_table": "INVITES_TABLE",
            "responses_table": "RESPONSES_TABLE",
            "aggregates_table": "AGGREGATES_TABLE",
            "surveys_table": "SURVEYS_TABLE",
            "accounts_table": "ACCOUNTS_TABLE",
        }
    )
    return DynamoChurnStore(
        invites_table=tables["invites_table"],
        responses_table=tables["responses_table"],
        aggregates_table=tables["aggregates_table"],
        surveys_table=tables["surveys_table"],
        accounts_table=tables["accounts_table"],
    )


def notice_of(body: str) -> ChurnNotice:
    """The churn an EventBridge event delivered by the rule carries. Raises :class:`ChurnRejected` naming the
    rule broken (and, for a detail that does not match the contract, the fields at fault, never their values)."""
    try:
        event = json.loads(body)
    except ValueError:
        raise ChurnRejected("the message is not JSON") from None
    if not isinstance(event, dict) or event.get("detail-type") != CUSTOMER_CHURNED:
        raise ChurnRejected("the message is not a Customer Churned event")
    if event.get("source") == EVENT_SOURCE:
        raise ChurnRejected("a Customer Churned event must come from another source than nps")
    try:
        detail = parse_customer_churned(event.get("detail"))
    except DetailRefused as error:
        raise ChurnRejected(
            "the detail does not match the Customer Churned schema: " + ", ".join(error.fields)
        ) from None
    churn_id = detail.churn_id or event.get("id")
    if not isinstance(churn_id, str) or not churn_id:
        raise ChurnRejected("the event has no churn_id and no EventBridge id")
    return ChurnNotice(
        churn_id=churn_id,
        churned_at=detail.churned_at,
        contact_id=detail.contact_id,
        account_id=detail.account_id,
        reason=detail.reason,
    )


def record_handler(record: SQSRecord) -> str:
    try:
        notice = notice_of(record.body)
        outcomes = record_churn(notice, store(), clock())
    except (ChurnRejected, UnknownAccount) as error:
        logger.warning("churn refused", extra={"message_id": record.message_id, "reason": str(error)})
        metrics.add_metric(name="ChurnRefused", unit=MetricUnit.Count, value=1)
        raise
    summary = {kind.value: outcome.value for kind, outcome in outcomes.items()}
    logger.info("churn", extra={"churn_id": notice.churn_id, "outcomes": summary})
    for kind, outcome in outcomes.items():
        metrics.add_metric(name=f"Churn_{kind.value}_{outcome.value}", unit=MetricUnit.Count, value=1)
    return json.dumps(summary, sort_keys=True)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return response
