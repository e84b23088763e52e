"""follow_up λ: one step of a follow-up workflow, named by ``action`` in the Step Functions payload.

``open`` (the EventBridge event that started the execution), ``email``, ``open_task`` (with the task
token; the workflow waits until the team resolves it), ``resurvey`` and ``close``. A contract-breaking
event raises ``InvalidFollowUpEvent``, which the state machine does not retry: it parks the execution's
input in the follow-up DLQ and fails (alarmed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from nps.follow_ups.steps import InvalidFollowUpEvent
from nps.follow_ups.wiring import follow_up_service

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="follow-up")
metrics = Metrics(namespace="NPS", service="follow-up")


def _follow_up_id(event: dict[str, Any]) -> str:
    value = event.get("follow_up_id")
    if not isinstance(value, str) or not value:
        raise InvalidFollowUpEvent("the step needs a follow_up_id")
    return value


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "open": lambda e: follow_up_service().open(e.get("event") or {}, str(e.get("execution") or "")),
    "email": lambda e: follow_up_service().send_email(_follow_up_id(e)),
    "open_task": lambda e: follow_up_service().open_task(_follow_up_id(e), str(e.get("task_token") or "")),
    "resurvey": lambda e: follow_up_service().resurvey(_follow_up_id(e), e.get("resolution")),
    "close": lambda e: follow_up_service().close_unanswered(_follow_up_id(e)),
}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    step = ACTIONS.get(str(action))
    if step is None:
        raise InvalidFollowUpEvent(f"unknown follow-up step {str(action)[:40]!r}")
    result = step(event)
    logger.info(
        "follow-up step",
        extra={"action": action, "follow_up_id": result.get("follow_up_id") or event.get("follow_up_id"),
               "status": result.get("status"), "email_sent": result.get("email_sent")},
    )  # fmt: skip
    metrics.add_metric(f"Step{str(action).title().replace('_', '')}", MetricUnit.Count, 1)
    return result
