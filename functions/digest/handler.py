"""digest λ: the hourly rule → every survey's team digest due this hour, sent once (docs/digest.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from nps.digests.service import DigestOutcome, DigestRunFailed, DigestService
from nps.digests.wiring import digest_service
from nps.sending.settings import sending_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="digest")


@lru_cache(maxsize=1)
def service() -> DigestService:
    config = sending_settings().require(
        "surveys_table",
        "aggregates_table",
        "responses_table",
        "accounts_table",
        "suppressions_table",
        "event_bus_name",
        "id_key_secret_name",
    )
    return digest_service(
        surveys_table=config.surveys_table,
        aggregates_table=config.aggregates_table,
        responses_table=config.responses_table,
        accounts_table=config.accounts_table,
        suppressions_table=config.suppressions_table,
        event_bus_name=config.event_bus_name,
        id_key_secret_name=config.id_key_secret_name,
        configuration_set=config.ses_configuration_set,
    )


def _now(event: dict[str, Any]) -> datetime:
    """The rule's scheduled instant (``time``), so a retried invocation decides as the first one did."""
    text = event.get("time")
    if isinstance(text, str):
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            return at
    return datetime.now(UTC)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """EventBridge invokes with a scheduled event; a failure raises so Lambda retries the invocation."""
    try:
        outcomes = service().run(_now(event))
    except DigestRunFailed as failed:
        _log(failed.outcomes)
        raise  # Lambda retries the invocation; the markers keep what was sent from being sent again
    _log(outcomes)
    return {"digests": [asdict(outcome) for outcome in outcomes]}


def _log(outcomes: list[DigestOutcome]) -> None:
    for outcome in outcomes:
        # Counts only: recipients are personal data.
        logger.info(
            "digest sent",
            extra={
                "survey_id": outcome.survey_id,
                "period": outcome.period,
                "sent": outcome.sent,
                "already_sent": outcome.already_sent,
                "suppressed": outcome.suppressed,
                "failed": outcome.failed,
                "health_events": outcome.health_events,
                "report_attached": outcome.attached,
                "error": outcome.error,
            },
        )
