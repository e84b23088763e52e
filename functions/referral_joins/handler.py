"""referral_joins λ: ``Referral Joined`` business events → the promoter's join, recorded once.

Reads its own encrypted queue, which an EventBridge rule fills with every ``Referral Joined`` event whose
``source`` is not ``nps`` (the team's referral program). Each message is one event; it is matched to the
contact's latest referral ask and recorded exactly once (:mod:`nps.referrals.joins`): a duplicate is a
no-op, a join without an ask is counted apart. A message that breaks the contract, or a failed write, is
reported for that message only (partial batch failures), so SQS retries it and, after the queue's last
receive, moves it to the alarmed DLQ. Logs carry ids and outcomes only.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from nps.accounts.adapters.referrals import DynamoReferralLedger
from nps.kernel.config import settings
from nps.referrals.joins import InvalidJoin, parse_join, record_join

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="referral-joins")
metrics = Metrics(namespace="NPS", service="referral-joins")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def ledger() -> DynamoReferralLedger:
    config = settings().require("accounts_table", "aggregates_table")
    return DynamoReferralLedger(config.accounts_table, config.aggregates_table)


def record_handler(record: SQSRecord) -> str:
    try:
        event = json.loads(record.body)
    except ValueError:
        raise InvalidJoin("the message is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidJoin("the message is not an event")
    try:
        join = parse_join(event)
    except InvalidJoin as error:
        logger.warning("referral join refused", extra={"reason": str(error)})
        raise
    outcome = record_join(ledger(), join)
    logger.info("referral join", extra={"contact_id": join.contact_id, "outcome": outcome.value})
    metrics.add_metric(name=f"ReferralJoin_{outcome.value}", unit=MetricUnit.Count, value=1)
    return outcome.value


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return response
