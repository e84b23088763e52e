"""The follow-up service over the real tables, queues and APIs (shared by both follow-up functions)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from nps.events.publisher import EventPublisher
from nps.follow_ups.adapters.store import DynamoFollowUpStore, SqsCommentUpdates, SqsTaskQueue, StepFunctionsTaskTokens
from nps.follow_ups.steps import FollowUpService, FollowUpSettings
from nps.kernel.on_demand import on_demand
from nps.responding.adapters.responses import DynamoResponseRepository
from nps.sending.adapters.channels import SesMailer, SqsSendQueue
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.settings import sending_settings

if TYPE_CHECKING:
    from nps.accounts.adapters.referrals import DynamoReferralLedger
    from nps.links.pseudonyms import IdKey
    from nps.links.tokens import Keyring
    from nps.sending.adapters.invites import DynamoInviteLifecycle
    from nps.sending.adapters.suppressions import DynamoSuppressionRepository
    from nps.sending.contacts import Contact
    from nps.sending.surveys import Survey
    from nps.sending.waves import WavePlanner


def _invites(invites_table: str, aggregates_table: str, contacts_table: str) -> DynamoInviteLifecycle:
    from nps.sending.adapters.invites import DynamoInviteLifecycle

    return DynamoInviteLifecycle(invites_table, aggregates_table, contacts_table)


def _referral_ledger(accounts_table: str, aggregates_table: str) -> DynamoReferralLedger:
    from nps.accounts.adapters.referrals import DynamoReferralLedger

    return DynamoReferralLedger(accounts_table, aggregates_table)


def _keyring(secret_name: str) -> Keyring:
    from nps.links.adapters.keyring import load_keyring

    return load_keyring(secret_name)


def _id_key(secret_name: str) -> IdKey:
    from nps.links.adapters.keyring import load_id_key

    return load_id_key(secret_name)


def _suppressions(table: str) -> DynamoSuppressionRepository:
    from nps.sending.adapters.suppressions import DynamoSuppressionRepository

    return DynamoSuppressionRepository(table)


class PlannerOnDemand:
    """The re-survey planner, built when a follow-up first re-surveys: only the detractor workflow's
    re-survey step plans invites, so the other steps and the follow-up events function never load it."""

    def __init__(self, build: Callable[[], WavePlanner]) -> None:
        self._planner = cache(build)

    def resurvey(self, survey: Survey, contact: Contact, wave_id: str, now: datetime) -> tuple[str | None, str]:
        """:meth:`nps.sending.waves.WavePlanner.resurvey`."""
        return self._planner().resurvey(survey, contact, wave_id, now)


@lru_cache(maxsize=1)
def follow_up_service() -> FollowUpService:
    config = sending_settings().require(
        "follow_ups_table", "invites_table", "aggregates_table", "responses_table", "surveys_table",
        "contacts_table", "suppressions_table", "send_queue_url", "follow_up_task_queue_url",
        "signing_secret_name", "id_key_secret_name", "public_base_url", "event_bus_name",
    )  # fmt: skip
    surveys = DynamoSurveyRepository(config.surveys_table)
    contacts = DynamoContactRepository(config.contacts_table)
    accounts_table = config.accounts_table
    suppressions = on_demand(lambda: _suppressions(config.suppressions_table))
    invites = on_demand(lambda: _invites(config.invites_table, config.aggregates_table, config.contacts_table))

    def planner() -> WavePlanner:
        from nps.sending.waves import WavePlanner

        return WavePlanner(
            surveys=surveys,
            contacts=contacts,
            suppressions=suppressions,
            invites=invites,
            queue=SqsSendQueue(config.send_queue_url),
            id_key=lambda: _id_key(config.id_key_secret_name),
            retention_days=config.retention_days,
        )

    return FollowUpService(
        follow_ups=DynamoFollowUpStore(config.follow_ups_table),
        invites=invites,
        surveys=surveys,
        contacts=contacts,
        suppressions=suppressions,
        responses=DynamoResponseRepository(config.responses_table),
        mailer=SesMailer(),
        tasks=SqsTaskQueue(config.follow_up_task_queue_url),
        comment_updates=SqsCommentUpdates(config.follow_up_events_queue_url),
        tokens=StepFunctionsTaskTokens(),
        resurveyor=PlannerOnDemand(planner),
        publisher=EventPublisher(config.event_bus_name),
        keyring=lambda: _keyring(config.signing_secret_name),
        id_key=lambda: _id_key(config.id_key_secret_name),
        settings=FollowUpSettings(
            base_url=config.public_base_url,
            configuration_set=config.ses_configuration_set,
            retention_days=config.retention_days,
        ),
        referral_asks=(
            on_demand(lambda: _referral_ledger(accounts_table, config.aggregates_table)) if accounts_table else None
        ),
    )


def reset_follow_up_service() -> None:
    follow_up_service.cache_clear()
