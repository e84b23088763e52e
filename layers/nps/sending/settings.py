"""Settings of the sending side (planner, deliver, import, suppress, unsubscribe), read from env once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from nps.kernel.config import ConfigurationError


def _number(name: str, default: str) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a number") from error


@dataclass(frozen=True, slots=True)
class SendingSettings:
    invites_table: str
    aggregates_table: str
    responses_table: str
    surveys_table: str
    contacts_table: str
    suppressions_table: str
    send_queue_url: str
    dead_letter_queue_url: str
    event_bus_name: str
    signing_secret_name: str
    public_base_url: str
    ses_configuration_set: str
    #: Emails + SMS per second across all deliver instances (the SES account rate, or less).
    send_rate_per_second: float
    #: How many deliver instances may run at once (the SQS event source's maximum concurrency).
    deliver_concurrency: int
    max_send_attempts: int
    import_bucket: str
    #: Days an invite stays in the table after its link expires (for reporting and unsubscribes).
    retention_days: int
    follow_ups_table: str = ""
    #: The queue a CRM / ticketing integration reads follow-up tasks from.
    follow_up_task_queue_url: str = ""
    #: Where the follow-up events consumer parks events that break the contract.
    follow_up_events_dlq_url: str = ""
    #: Minutes after which a claimed send that was never recorded is marked unknown by the sweep.
    stuck_claim_minutes: float = 15
    #: The follow-up events queue itself: the consumer schedules comment updates on it.
    follow_up_events_queue_url: str = ""
    #: The Secrets Manager secret holding the id key of invite ids and suppression keys.
    id_key_secret_name: str = ""
    #: The planner's own queue, on which a wave too large for one invocation continues.
    planning_queue_url: str = ""
    #: Seconds one planner invocation plans a wave before it hands the rest to a continuation.
    planning_budget_seconds: float = 240
    #: How far (in seconds of sends at ``send_rate_per_second``) planning may run ahead of delivery.
    plan_ahead_seconds: float = 1800
    #: Account profiles (revenue) written by the contacts import (empty: accounts are not recorded).
    accounts_table: str = ""

    @classmethod
    def from_env(cls) -> SendingSettings:
        env = os.environ.get
        return cls(
            invites_table=env("INVITES_TABLE", ""),
            aggregates_table=env("AGGREGATES_TABLE", ""),
            responses_table=env("RESPONSES_TABLE", ""),
            surveys_table=env("SURVEYS_TABLE", ""),
            contacts_table=env("CONTACTS_TABLE", ""),
            suppressions_table=env("SUPPRESSIONS_TABLE", ""),
            send_queue_url=env("SEND_QUEUE_URL", ""),
            dead_letter_queue_url=env("SEND_DLQ_URL", ""),
            event_bus_name=env("EVENT_BUS_NAME", ""),
            signing_secret_name=env("SIGNING_SECRET_NAME", ""),
            id_key_secret_name=env("ID_KEY_SECRET_NAME", ""),
            public_base_url=env("PUBLIC_BASE_URL", "").rstrip("/"),
            ses_configuration_set=env("SES_CONFIGURATION_SET", ""),
            send_rate_per_second=_number("SEND_RATE_PER_SECOND", "10"),
            deliver_concurrency=max(1, int(_number("DELIVER_CONCURRENCY", "2"))),
            max_send_attempts=max(1, int(_number("MAX_SEND_ATTEMPTS", "5"))),
            import_bucket=env("IMPORT_BUCKET", ""),
            retention_days=int(_number("INVITE_RETENTION_DAYS", "400")),
            follow_ups_table=env("FOLLOW_UPS_TABLE", ""),
            follow_up_task_queue_url=env("FOLLOW_UP_TASK_QUEUE_URL", ""),
            follow_up_events_dlq_url=env("FOLLOW_UP_EVENTS_DLQ_URL", ""),
            stuck_claim_minutes=_number("STUCK_CLAIM_MINUTES", "15"),
            follow_up_events_queue_url=env("FOLLOW_UP_EVENTS_QUEUE_URL", ""),
            planning_queue_url=env("PLANNING_QUEUE_URL", ""),
            planning_budget_seconds=_number("PLANNING_BUDGET_SECONDS", "240"),
            plan_ahead_seconds=_number("PLAN_AHEAD_SECONDS", "1800"),
            accounts_table=env("ACCOUNTS_TABLE", ""),
        )

    def require(self, *names: str) -> SendingSettings:
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise ConfigurationError(f"missing configuration: {', '.join(sorted(missing))}")
        return self

    @property
    def per_instance_rate(self) -> float:
        """Each instance's share of the send rate, so all instances together never exceed it."""
        return self.send_rate_per_second / self.deliver_concurrency


@lru_cache(maxsize=1)
def sending_settings() -> SendingSettings:
    return SendingSettings.from_env()


def reset_sending_settings() -> None:
    sending_settings.cache_clear()
