"""planner λ: starts waves and queues reminders.

Invoked by
* EventBridge Scheduler with ``{"action": "wave", "survey_id": ..., "scheduled_time": ...}`` (one
  schedule per survey, from its cadence) or ``{"action": "reminders"}`` (hourly);
* an EventBridge rule on the bus for business events (e.g. ``Ticket Closed``): the event itself;
* its planning queue (one message per invocation): ``{"action": "wave_continue", ...}`` resumes a wave
  too large for one invocation, ``{"action": "reminders"}`` a reminder run that had more due than one
  invocation's budget. A failure leaves the message to SQS, which delivers it again, and the
  wave resumes after its last recorded page. Messages redriven from the planner's dead-letter queue
  (a schedule's or a business event's input) are handled as if invoked directly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from nps.kernel.periods import parse_timestamp
from nps.links.adapters.keyring import load_id_key
from nps.sending.adapters.channels import SqsContinuationQueue, SqsSendQueue
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.invites import DynamoInviteLifecycle
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.adapters.waves import DynamoWaveProgress
from nps.sending.settings import sending_settings
from nps.sending.waves import Budget, Pacing, WavePlanner, WaveReport

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

#: Seconds left before the timeout below which an invocation starts no new page of a wave.
RESERVE_SECONDS = 60.0

logger = Logger(service="planner")
metrics = Metrics(namespace="NPS", service="planner")


class BadInvocation(ValueError):
    """The invocation payload is neither a schedule action nor an EventBridge event."""


@lru_cache(maxsize=1)
def planner() -> WavePlanner:
    config = sending_settings().require(
        "invites_table", "aggregates_table", "surveys_table", "contacts_table", "suppressions_table",
        "send_queue_url", "id_key_secret_name",
    )  # fmt: skip
    send_queue = SqsSendQueue(config.send_queue_url)
    return WavePlanner(
        surveys=DynamoSurveyRepository(config.surveys_table),
        contacts=DynamoContactRepository(config.contacts_table),
        suppressions=DynamoSuppressionRepository(config.suppressions_table),
        invites=DynamoInviteLifecycle(config.invites_table, config.aggregates_table, config.contacts_table),
        queue=send_queue,
        id_key=lambda: load_id_key(config.id_key_secret_name),
        retention_days=config.retention_days,
        progress=DynamoWaveProgress(config.surveys_table),
        continuation=SqsContinuationQueue(config.planning_queue_url) if config.planning_queue_url else None,
        pacing=Pacing(config.send_rate_per_second, config.plan_ahead_seconds, waiting=send_queue.waiting),
    )


def _budget(context: LambdaContext) -> Budget:
    return Budget(
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
        seconds=sending_settings().planning_budget_seconds,
        reserve_seconds=RESERVE_SECONDS,
    )


def _record(report: WaveReport) -> None:
    logger.info("wave planned" if report.complete else "wave continues", extra=report.as_dict())
    if not report.complete:
        return  # the counts are the run's totals so far: counted once, by the invocation that ends the run
    metrics.add_metric("InvitesPlanned", MetricUnit.Count, report.invites)
    metrics.add_metric("InvitesHeld", MetricUnit.Count, report.held)
    metrics.add_metric("ContactsSkipped", MetricUnit.Count, sum(report.skipped.values()))


def _reminders(context: LambdaContext) -> dict[str, int]:
    counts = planner().queue_reminders(budget=_budget(context))
    logger.info("reminders queued", extra={"by_survey": counts})
    metrics.add_metric("RemindersQueued", MetricUnit.Count, sum(counts.values()))
    return counts


def _continue(body: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A continuation: resume its wave's run after the last recorded page."""
    survey_id, wave_id, run = body.get("survey_id"), body.get("wave_id"), body.get("run")
    if not isinstance(survey_id, str) or not isinstance(wave_id, str) or not isinstance(run, int):
        raise BadInvocation("a continuation names its survey_id, wave_id and run")
    report = planner().continue_wave(survey_id, wave_id, run, budget=_budget(context))
    if report is None:
        logger.info("continuation of a finished or replaced run ignored", extra={"wave_id": wave_id, "run": run})
        return {"survey_id": survey_id, "wave_id": wave_id, "run": run, "ignored": True}
    _record(report)
    return report.as_dict()


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "detail-type" in event:
        reports = planner().event_wave(
            detail_type=str(event["detail-type"]),
            source=str(event.get("source", "")),
            event_id=str(event.get("id", "")),
            detail=event.get("detail", {}),
            at=parse_timestamp(str(event["time"])) if event.get("time") else datetime.now(UTC),
        )
        for report in reports:
            _record(report)
        return {"waves": [r.as_dict() for r in reports]}
    action = event.get("action")
    if action == "wave":
        survey_id = event.get("survey_id")
        if not isinstance(survey_id, str) or not survey_id:
            raise BadInvocation("a wave needs a survey_id")
        scheduled = event.get("scheduled_time")
        report = planner().scheduled_wave(
            survey_id,
            parse_timestamp(scheduled) if isinstance(scheduled, str) and scheduled else None,
            budget=_budget(context),
        )
        _record(report)
        return report.as_dict()
    if action == "wave_continue":
        return _continue(event, context)
    if action == "reminders":
        return {"reminders": _reminders(context)}
    raise BadInvocation(f"unknown action {action!r}")


def _body(record: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(record.get("body") or "null")
    if not isinstance(body, dict):
        raise BadInvocation("a planning queue message is a JSON object")
    return body


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise BadInvocation("the planner expects a JSON object")
    if "Records" in event:
        # The planning queue: continuations, and whatever is redriven to it from the planner's
        # dead-letter queue (a missed schedule or business event, parked with its input).
        return {"waves": [_handle(_body(record), context) for record in event["Records"]]}
    return _handle(event, context)
