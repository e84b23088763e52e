"""Starting waves: a survey's schedule, a business event, or the reminder run.

The planner reads the audience page by page, applies :func:`nps.sending.planning.plan_contacts`, records one
invite per contact per wave (a replay finds the invites it made) and queues a send message per invite,
delayed up to SQS's 15 minutes; the deliver function holds anything still early.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from nps.kernel.periods import iso_timestamp
from nps.links.pseudonyms import IdKey
from nps.sending.contacts import Contact
from nps.sending.planning import (
    PlannedInvite,
    WavePlan,
    event_wave_id,
    invite_id_for,
    plan_contacts,
    scheduled_wave_id,
)
from nps.sending.suppression import lookup_hashes
from nps.sending.surveys import Survey

SEND_MESSAGE_DELAY_CAP = 900


class SurveyNotFound(LookupError):
    """The wave names a survey that does not exist."""


class SurveyStore(Protocol):
    def get(self, survey_id: str) -> Survey | None: ...
    def all(self) -> list[Survey]: ...
    def due_reminders(self, survey_id: str, now_iso: str) -> Iterable[tuple[str, str]]: ...
    def delete_reminder(self, survey_id: str, sort_key: str) -> None: ...


class ContactStore(Protocol):
    def pages(self, audience: str) -> Iterable[list[Contact]]: ...
    def get(self, audience: str, contact_id: str) -> Contact | None: ...


class SuppressionStore(Protocol):
    def suppressed_among(self, hashes: Iterable[str]) -> set[str]: ...


class InviteWriter(Protocol):
    def record_planned(
        self, planned: Sequence[PlannedInvite], planned_expiry: int, ttl: int, now: datetime
    ) -> list[tuple[PlannedInvite, bool, bool]]: ...


class Queue(Protocol):
    def enqueue(self, messages: Sequence[tuple[dict[str, str], int]]) -> None: ...


@dataclass(slots=True)
class WaveReport:
    """What a wave did (the planner logs it and the demo prints it)."""

    survey_id: str
    wave_id: str
    contacts: int = 0
    invites: int = 0
    already_planned: int = 0
    queued: int = 0
    held: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    by_locale: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "survey_id": self.survey_id,
            "wave_id": self.wave_id,
            "contacts": self.contacts,
            "invites": self.invites,
            "already_planned": self.already_planned,
            "queued": self.queued,
            "held": self.held,
            "skipped": dict(self.skipped),
            "by_channel": dict(self.by_channel),
            "by_locale": dict(self.by_locale),
        }


class WavePlanner:
    def __init__(
        self,
        *,
        surveys: SurveyStore,
        contacts: ContactStore,
        suppressions: SuppressionStore,
        invites: InviteWriter,
        queue: Queue,
        id_key: Callable[[], IdKey],
        retention_days: int = 400,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.surveys = surveys
        self.contacts = contacts
        self.suppressions = suppressions
        self.invites = invites
        self.queue = queue
        self._id_key = id_key
        self.retention_days = retention_days
        self.clock = clock

    # -- waves --------------------------------------------------------------------------------------
    def scheduled_wave(self, survey_id: str, scheduled_time: datetime | None = None) -> WaveReport:
        """A wave over the survey's whole audience (its schedule fired at ``scheduled_time``)."""
        now = self.clock()
        survey = self._survey(survey_id)
        wave_id = scheduled_wave_id(survey.survey_id, scheduled_time or now)
        return self._run(survey, wave_id, self.contacts.pages(survey.audience), now)

    def event_wave(
        self, detail_type: str, source: str, event_id: str, detail: object, at: datetime
    ) -> list[WaveReport]:
        """Transactional invites for a business event, one per survey whose trigger matches it."""
        now = self.clock()
        reports = []
        for survey in self.surveys.all():
            for trigger in survey.triggers:
                if trigger.detail_type != detail_type or trigger.source != source:
                    continue
                contact_id = trigger.contact_id(detail)
                wave_id = event_wave_id(survey.survey_id, event_id)
                contact = self.contacts.get(survey.audience, contact_id) if contact_id else None
                report = self._run(
                    survey,
                    wave_id,
                    [[contact]] if contact else [],
                    now,
                    not_before=max(at, now) + timedelta(minutes=trigger.delay_minutes),
                )
                if contact is None:
                    report.skipped["unknown_contact"] += 1
                reports.append(report)
        return reports

    def resurvey(self, survey: Survey, contact: Contact, wave_id: str, now: datetime) -> tuple[str | None, str]:
        """One invite for one contact in a follow-up's re-survey wave: ``(invite id, "invited")``, or
        ``(None, why it was skipped)``. Replaying it finds the same invite."""
        report = self._run(survey, wave_id, [[contact]], now, respect_fatigue=False)
        if report.invites:
            return invite_id_for(wave_id, contact.contact_id, contact.audience, self._id_key()), "invited"
        return None, next(iter(report.skipped), "skipped")

    def _survey(self, survey_id: str) -> Survey:
        survey = self.surveys.get(survey_id)
        if survey is None:
            raise SurveyNotFound(survey_id)
        return survey

    def _run(
        self,
        survey: Survey,
        wave_id: str,
        pages: Iterable[list[Contact]],
        now: datetime,
        not_before: datetime | None = None,
        respect_fatigue: bool = True,
    ) -> WaveReport:
        report = WaveReport(survey.survey_id, wave_id)
        planned_expiry = int((now + timedelta(days=survey.link_lifetime_days + 1)).timestamp())
        ttl = planned_expiry + self.retention_days * 86400
        invited_addresses: set[str] = set()  # one invite per mailbox per wave, across pages
        id_key = self._id_key()
        for page in pages:
            report.contacts += len(page)
            suppressed = self._suppressed(survey, page, id_key)

            def is_suppressed(contact: Contact, channel: str, hashes: set[str] = suppressed) -> bool:
                return any(h in hashes for h in _hashes(contact, channel, id_key))

            plan = plan_contacts(
                survey, wave_id, page, is_suppressed, now, id_key, not_before, respect_fatigue, invited_addresses
            )
            self._record(plan, planned_expiry, ttl, now, report)
        return report

    def _suppressed(self, survey: Survey, page: list[Contact], id_key: IdKey) -> set[str]:
        hashes = [h for contact in page for ch in survey.channels for h in _hashes(contact, ch, id_key)]
        return self.suppressions.suppressed_among(hashes) if hashes else set()

    def _record(self, plan: WavePlan, planned_expiry: int, ttl: int, now: datetime, report: WaveReport) -> None:
        report.skipped.update(plan.skipped)
        report.held += plan.held
        results = self.invites.record_planned(plan.invites, planned_expiry, ttl, now)
        messages = []
        for invite, created, queued in results:
            report.invites += 1
            report.by_channel[invite.channel] += 1
            report.by_locale[invite.locale] += 1
            if not created:
                report.already_planned += 1
            if not queued:
                continue  # sent, failed or skipped by an earlier run: nothing to queue
            delay = max(0, int((invite.send_after - now).total_seconds()))
            messages.append(({"invite_id": invite.invite_id, "kind": "invite"}, min(delay, SEND_MESSAGE_DELAY_CAP)))
        self.queue.enqueue(messages)
        report.queued += len(messages)

    # -- reminders ----------------------------------------------------------------------------------
    def queue_reminders(self) -> dict[str, int]:
        """Queue a reminder message for every due reminder item, then drop the item.

        The deliver function decides (responded? unsubscribed? bounced? already reminded?): queuing
        twice is harmless, because the reminder claim on the invite lets only one through.
        """
        now_iso = iso_timestamp(self.clock())
        counts: dict[str, int] = {}
        for survey in self.surveys.all():
            due = list(self.surveys.due_reminders(survey.survey_id, now_iso))
            if not due:
                continue
            self.queue.enqueue([({"invite_id": invite_id, "kind": "reminder"}, 0) for _, invite_id in due])
            for sort_key, _ in due:
                self.surveys.delete_reminder(survey.survey_id, sort_key)
            counts[survey.survey_id] = len(due)
        return counts


def _hashes(contact: Contact, channel: str, id_key: IdKey) -> tuple[str, ...]:
    """The suppression keys (keyed and legacy) of the contact's address on ``channel``, if it has one."""
    address = contact.address(channel)
    return lookup_hashes(channel, address, id_key) if address else ()
