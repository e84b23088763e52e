"""sweep_invites λ: claims left behind → ``unknown``; how many invites are unknown (the alarm's metric).

Invoked by EventBridge Scheduler every few minutes with ``{"action": "sweep"}`` (any payload will do).
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from nps.kernel.metrics import INVITES_UNKNOWN_OUTSTANDING, STUCK_INVITES_FOUND, STUCK_INVITES_MARKED_UNKNOWN
from nps.sending.adapters.invites import DynamoInviteLifecycle
from nps.sending.settings import sending_settings
from nps.sending.unknown_invites import UnknownInvites

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="sweep_invites")
metrics = Metrics(namespace="NPS", service="sweep_invites")


@lru_cache(maxsize=1)
def sweeper() -> UnknownInvites:
    config = sending_settings().require("invites_table")
    lifecycle = DynamoInviteLifecycle(config.invites_table, config.aggregates_table, config.contacts_table)
    return UnknownInvites(lifecycle, stuck_after=timedelta(minutes=config.stuck_claim_minutes))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = sweeper().sweep()
    metrics.add_metric(STUCK_INVITES_FOUND, MetricUnit.Count, report.stuck)
    metrics.add_metric(STUCK_INVITES_MARKED_UNKNOWN, MetricUnit.Count, report.marked_unknown)
    metrics.add_metric(INVITES_UNKNOWN_OUTSTANDING, MetricUnit.Count, report.outstanding_unknown)
    if report.marked_unknown or report.outstanding_unknown:
        logger.warning("invites in an unknown state: see `nps invites unknown SURVEY`", extra=report.as_dict())
    else:
        logger.info("no invite stuck or unknown", extra=report.as_dict())
    return report.as_dict()
