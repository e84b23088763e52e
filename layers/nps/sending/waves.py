"""Starting waves: a survey's schedule, a business event, or the reminder run.

The planner reads the audience page by page, applies :func:`nps.sending.planning.plan_contacts`, records one
invite per contact per wave (a replay finds the invites it made) and queues a send message per invite,
delayed up to SQS's 15 minutes; the deliver function holds anything still early.

A scheduled wave is planned in *chunks*, so no invocation runs longer than a few minutes however large
the audience (10 million contacts take thousands of pages):

* the wave's progress (run, pages done, the last contact planned, running totals) is one item, advanced
  after each page with a write conditional on the run and page count the invocation read. A second
  invocation working the same chain (a duplicated continuation message) loses that race and stops;
* an invocation stops starting pages when its time budget is spent (``time_left``, the Lambda context's
  remaining time) or when the send queue already holds more than ``plan_ahead_seconds`` of sends at the
  SES rate; it then queues a *continuation* message (delayed while the queue drains) that resumes after
  the last page recorded;
* a crash after some invites of a page were written and before the page was recorded replays that page:
  invites are conditional puts on ids derived from wave and contact, and each mailbox is claimed by one
  contact per wave (:meth:`InviteWriter.claim_mailboxes`), so the replay creates no second invite;
* a schedule that fires again (a retry) starts a new run of the same wave from the first page; the
  earlier run's chain finds the run changed and stops. Invites it made are found, not made again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from nps.kernel.periods import iso_timestamp, parse_timestamp
from nps.sending.planning import (
    PlannedInvite,
    WavePlan,
    event_wave_id,
    invite_id_for,
    plan_contacts,
    scheduled_wave_id,
)
from nps.sending.suppression import lookup_hashes

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey
    from nps.sending.contacts import Contact
    from nps.sending.surveys import Survey

SEND_MESSAGE_DELAY_CAP = 900
#: Reminder items queued (and then deleted) between two checks of an invocation's budget.
REMINDER_CHUNK = 1000


class SurveyNotFound(LookupError):
    """The wave names a survey that does not exist."""


class SurveyStore(Protocol):
    def get(self, survey_id: str) -> Survey | None: ...
    def all(self) -> list[Survey]: ...
    def due_reminders(self, survey_id: str, now_iso: str) -> Iterable[tuple[str, str]]: ...
    def delete_reminders(self, survey_id: str, sort_keys: Sequence[str]) -> None: ...


class ContactStore(Protocol):
    def page(self, audience: str, after: str | None, limit: int) -> tuple[list[Contact], str | None]:
        """Up to ``limit`` contacts of ``audience`` after contact id ``after`` (from the first when None),
        in contact id order, and the id to resume after (None when the audience is exhausted)."""
        ...

    def get(self, audience: str, contact_id: str) -> Contact | None: ...


class SuppressionStore(Protocol):
    def suppressed_among(self, hashes: Iterable[str]) -> set[str]: ...


class InviteWriter(Protocol):
    def record_planned(
        self, planned: Sequence[PlannedInvite], planned_expiry: int, ttl: int, now: datetime
    ) -> list[tuple[PlannedInvite, bool, bool]]: ...

    def claim_mailboxes(self, planned: Sequence[PlannedInvite], ttl: int) -> set[str]:
        """Claim each invite's ``mailbox_key`` for its contact; the invite ids whose mailbox another
        contact of the wave already holds (those are skipped as ``same_address``)."""
        ...


class Queue(Protocol):
    def enqueue(self, messages: Sequence[tuple[dict[str, str], int]]) -> None: ...


class ContinuationQueue(Protocol):
    def continue_later(self, message: dict[str, Any], delay_seconds: int) -> None:
        """Have the planner invoked again with ``message`` after ``delay_seconds`` (0–900)."""
        ...


@dataclass(slots=True)
class WaveReport:
    """What a wave did (the planner logs it and the demo prints it).

    For a scheduled wave these are the run's totals so far; ``complete`` is False while continuations
    are still to plan the rest, and ``superseded`` is True when another invocation took the chain over.
    """

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
    complete: bool = True
    superseded: bool = False
    #: Pages planned by this invocation, and by the run so far.
    pages: int = 0
    run_pages: int = 0
    #: Seconds the continuation waits for the send queue to drain (0 when none was queued).
    continue_after_seconds: int = 0

    def add(self, other: WaveReport) -> None:
        """Add the counts of ``other`` (one page) to these."""
        self.contacts += other.contacts
        self.invites += other.invites
        self.already_planned += other.already_planned
        self.queued += other.queued
        self.held += other.held
        self.skipped.update(other.skipped)
        self.by_channel.update(other.by_channel)
        self.by_locale.update(other.by_locale)

    def counts(self) -> dict[str, Any]:
        """The counts alone (what a wave's progress item keeps between invocations)."""
        return {
            "contacts": self.contacts,
            "invites": self.invites,
            "already_planned": self.already_planned,
            "queued": self.queued,
            "held": self.held,
            "skipped": dict(self.skipped),
            "by_channel": dict(self.by_channel),
            "by_locale": dict(self.by_locale),
        }

    @classmethod
    def from_counts(cls, survey_id: str, wave_id: str, counts: dict[str, Any]) -> WaveReport:
        def counter(name: str) -> Counter[str]:
            return Counter({str(k): int(v) for k, v in dict(counts.get(name) or {}).items()})

        return cls(
            survey_id,
            wave_id,
            contacts=int(counts.get("contacts", 0)),
            invites=int(counts.get("invites", 0)),
            already_planned=int(counts.get("already_planned", 0)),
            queued=int(counts.get("queued", 0)),
            held=int(counts.get("held", 0)),
            skipped=counter("skipped"),
            by_channel=counter("by_channel"),
            by_locale=counter("by_locale"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "survey_id": self.survey_id,
            "wave_id": self.wave_id,
            **self.counts(),
            "complete": self.complete,
            "superseded": self.superseded,
            "pages": self.pages,
            "run_pages": self.run_pages,
            "continue_after_seconds": self.continue_after_seconds,
        }


@dataclass(frozen=True, slots=True)
class WaveProgress:
    """Where one run of a scheduled wave stands: the checkpoint between invocations.

    ``run`` numbers the starts of the wave (a schedule that fires again starts run + 1), ``pages`` the
    pages recorded in this run; ``after`` is the last contact id planned (the next page starts after it),
    ``done`` says the audience is exhausted. ``counts`` are the run's totals (:meth:`WaveReport.counts`),
    ``started_at`` when the run began (ISO-8601 UTC; pacing counts the sends queued since).
    """

    survey_id: str
    wave_id: str
    run: int
    started_at: str
    pages: int = 0
    after: str | None = None
    done: bool = False
    counts: dict[str, Any] = field(default_factory=dict)

    def report(self) -> WaveReport:
        report = WaveReport.from_counts(self.survey_id, self.wave_id, self.counts)
        report.run_pages, report.complete = self.pages, self.done
        return report

    def message(self) -> dict[str, Any]:
        """The continuation message that resumes this run."""
        return {"action": "wave_continue", "survey_id": self.survey_id, "wave_id": self.wave_id, "run": self.run}


class WaveProgressStore(Protocol):
    def begin(self, survey_id: str, wave_id: str, now: datetime) -> WaveProgress:
        """Start a new run of the wave (run = the previous run + 1, nothing planned yet)."""
        ...

    def get(self, survey_id: str, wave_id: str) -> WaveProgress | None: ...

    def advance(self, progress: WaveProgress, expected_pages: int) -> bool:
        """Store ``progress`` if the stored run is ``progress.run`` and its page count ``expected_pages``;
        False when another invocation (or a newer run) got there first."""
        ...


class InMemoryWaveProgress:
    """Progress kept in this process: a wave planned in one go (the CLI, tests), never continued."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], WaveProgress] = {}

    def begin(self, survey_id: str, wave_id: str, now: datetime) -> WaveProgress:
        previous = self.items.get((survey_id, wave_id))
        progress = WaveProgress(survey_id, wave_id, (previous.run if previous else 0) + 1, iso_timestamp(now))
        self.items[(survey_id, wave_id)] = progress
        return progress

    def get(self, survey_id: str, wave_id: str) -> WaveProgress | None:
        return self.items.get((survey_id, wave_id))

    def advance(self, progress: WaveProgress, expected_pages: int) -> bool:
        current = self.items.get((progress.survey_id, progress.wave_id))
        if current is None or current.run != progress.run or current.pages != expected_pages:
            return False
        self.items[(progress.survey_id, progress.wave_id)] = progress
        return True


@dataclass(frozen=True, slots=True)
class Pacing:
    """How far planning may run ahead of the sends.

    ``send_rate_per_second`` is the deliver side's rate (the SES account rate, or less). An invocation
    stops when the sends waiting would take more than ``plan_ahead_seconds`` to leave at that rate, and
    the continuation waits until about half of that is left: the send queue never holds much more than
    ``plan_ahead_seconds`` of sends, so messages do not age towards the queue's age alarm or its
    retention, however large the wave.

    The sends waiting are the larger of two figures: what this run queued less what the rate could have
    sent since it started, and, with ``waiting``, the messages ready in the send queue now divided by
    the rate. The second counts what shares the rate with this run (another survey's wave, the reminders
    falling due, a deliver side slower than the rate): without it, two large waves at once would each
    plan at the full rate and the queue would grow by the rate until messages outlived its retention.
    """

    send_rate_per_second: float
    plan_ahead_seconds: float = 1800.0
    #: Messages ready in the send queue now, every wave's and reminder's (None: this run's estimate only).
    waiting: Callable[[], int] | None = field(default=None, compare=False)

    def backlog_seconds(self, queued: int, started_at: datetime, now: datetime) -> float:
        """Seconds of sends still waiting: the larger of what this run queued less what the rate sent
        since ``started_at``, and the send queue's ready messages at the rate (when ``waiting`` is set)."""
        own = max(0.0, queued / self.send_rate_per_second - (now - started_at).total_seconds())
        if self.waiting is None:
            return own
        return max(own, self.waiting() / self.send_rate_per_second)


@dataclass(frozen=True, slots=True)
class Budget:
    """How long one invocation plans: until ``seconds`` have passed or fewer than ``reserve_seconds`` are
    left before the invocation's timeout (``time_left``, in seconds, from the Lambda context)."""

    time_left: Callable[[], float]
    seconds: float = 240.0
    reserve_seconds: float = 60.0

    def spent(self, entered: float) -> bool:
        """Whether to stop starting work, for an invocation that had ``entered`` seconds left at the start."""
        left = self.time_left()
        return left < self.reserve_seconds or entered - left >= self.seconds


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
        progress: WaveProgressStore | None = None,
        continuation: ContinuationQueue | None = None,
        pacing: Pacing | None = None,
        page_size: int = 1000,
    ) -> None:
        """``progress`` and ``continuation`` make a scheduled wave resumable across invocations (the
        planner function); without them a wave is planned in one go, in this process (the CLI)."""
        self.surveys = surveys
        self.contacts = contacts
        self.suppressions = suppressions
        self.invites = invites
        self.queue = queue
        self._id_key = id_key
        self.retention_days = retention_days
        self.clock = clock
        self.progress: WaveProgressStore = progress if progress is not None else InMemoryWaveProgress()
        self.continuation = continuation
        self.pacing = pacing
        self.page_size = page_size

    # -- waves --------------------------------------------------------------------------------------
    def scheduled_wave(
        self, survey_id: str, scheduled_time: datetime | None = None, budget: Budget | None = None
    ) -> WaveReport:
        """A wave over the survey's whole audience (its schedule fired at ``scheduled_time``).

        Starts a new run of the wave and plans pages until the audience is done or ``budget`` is spent;
        then a continuation picks up where it stopped (:meth:`continue_wave`). Without a continuation
        queue the whole audience is planned here.
        """
        now = self.clock()
        survey = self._survey(survey_id)
        wave_id = scheduled_wave_id(survey.survey_id, scheduled_time or now)
        progress = self.progress.begin(survey.survey_id, wave_id, now)
        return self._plan_run(survey, progress, budget)

    def continue_wave(self, survey_id: str, wave_id: str, run: int, budget: Budget | None = None) -> WaveReport | None:
        """Resume run ``run`` of a wave after its last recorded page; None when that run is over or was
        replaced by a newer one (a stale or duplicated continuation: nothing to do)."""
        progress = self.progress.get(survey_id, wave_id)
        if progress is None or progress.run != run or progress.done:
            return None
        return self._plan_run(self._survey(survey_id), progress, budget)

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

    def _plan_run(self, survey: Survey, progress: WaveProgress, budget: Budget | None) -> WaveReport:
        """Plan pages of one run from its checkpoint until done, out of budget, or far enough ahead."""
        invited_addresses: set[str] = set()
        id_key = self._id_key()
        resumable = self.continuation is not None
        entered = budget.time_left() if budget else 0.0
        pages = 0
        while True:
            now = self.clock()
            contacts, after = self.contacts.page(survey.audience, progress.after, self.page_size)
            # A wave of one page needs no claims: this invocation sees all of its mailboxes.
            single_page = progress.pages == 0 and after is None
            page = self._plan_page(
                survey,
                progress.wave_id,
                contacts,
                now,
                id_key,
                invited_addresses,
                claim_mailboxes=resumable and not single_page,
            )
            totals = WaveReport.from_counts(survey.survey_id, progress.wave_id, progress.counts)
            totals.add(page)
            advanced = replace(
                progress, pages=progress.pages + 1, after=after, done=after is None, counts=totals.counts()
            )
            if not self.progress.advance(advanced, expected_pages=progress.pages):
                report = progress.report()
                report.superseded, report.complete, report.pages = True, False, pages
                return report
            progress, pages = advanced, pages + 1
            if progress.done:
                break
            delay = self._continuation_delay(progress, now)
            spent = budget is not None and budget.spent(entered)
            if self.continuation is not None and (spent or delay > 0):
                self.continuation.continue_later(progress.message(), delay)
                report = progress.report()
                report.pages, report.continue_after_seconds = pages, delay
                return report
        report = progress.report()
        report.pages = pages
        return report

    def _continuation_delay(self, progress: WaveProgress, now: datetime) -> int:
        """0 while the run may plan on; else the seconds until the send queue has drained to about half
        of the pacing's ``plan_ahead_seconds`` (at most SQS's 900)."""
        if self.pacing is None:
            return 0
        queued = int(progress.counts.get("queued", 0))
        backlog = self.pacing.backlog_seconds(queued, parse_timestamp(progress.started_at), now)
        if backlog <= self.pacing.plan_ahead_seconds:
            return 0
        return int(min(SEND_MESSAGE_DELAY_CAP, max(1.0, backlog - self.pacing.plan_ahead_seconds / 2)))

    def _run(
        self,
        survey: Survey,
        wave_id: str,
        pages: Iterable[list[Contact]],
        now: datetime,
        not_before: datetime | None = None,
        respect_fatigue: bool = True,
    ) -> WaveReport:
        """A small wave (one business event, one re-survey) planned in this invocation."""
        report = WaveReport(survey.survey_id, wave_id)
        invited_addresses: set[str] = set()  # one invite per mailbox per wave, across pages
        id_key = self._id_key()
        for page in pages:
            report.add(
                self._plan_page(survey, wave_id, page, now, id_key, invited_addresses, not_before, respect_fatigue)
            )
        return report

    def _plan_page(
        self,
        survey: Survey,
        wave_id: str,
        page: list[Contact],
        now: datetime,
        id_key: IdKey,
        invited_addresses: set[str],
        not_before: datetime | None = None,
        respect_fatigue: bool = True,
        *,
        claim_mailboxes: bool = False,
    ) -> WaveReport:
        """Plan, record and queue one page of contacts; the page's counts."""
        report = WaveReport(survey.survey_id, wave_id, contacts=len(page))
        planned_expiry = int((now + timedelta(days=survey.link_lifetime_days + 1)).timestamp())
        ttl = planned_expiry + self.retention_days * 86400
        suppressed = self._suppressed(survey, page, id_key)

        def is_suppressed(contact: Contact, channel: str) -> bool:
            return any(h in suppressed for h in _hashes(contact, channel, id_key))

        plan = plan_contacts(
            survey,
            wave_id,
            page,
            is_suppressed,
            now,
            id_key,
            not_before,
            respect_fatigue,
            invited_addresses,
            mailbox_keys=claim_mailboxes,
        )
        if claim_mailboxes and plan.invites:
            taken = self.invites.claim_mailboxes(plan.invites, ttl)
            if taken:
                kept = [invite for invite in plan.invites if invite.invite_id not in taken]
                plan.skipped["same_address"] += len(plan.invites) - len(kept)
                plan.held -= sum(1 for invite in plan.invites if invite.invite_id in taken and invite.held(now))
                plan.invites = kept
        self._record(plan, planned_expiry, ttl, now, report)
        return report

    def _suppressed(self, survey: Survey, page: list[Contact], id_key: IdKey) -> set[str]:
        hashes = [h for contact in page for ch in survey.channels for h in _hashes(contact, ch, id_key)]
        return self.suppressions.suppressed_among(hashes) if hashes else set()

    def _record(self, plan: WavePlan, planned_expiry: int, ttl: int, now: datetime, report: WaveReport) -> None:
        report.skipped.update(plan.skipped)
        report.held += plan.held
        results = self.invites.record_planned(plan.invites, planned_expiry, ttl, now) if plan.invites else []
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
        if messages:
            self.queue.enqueue(messages)
        report.queued += len(messages)

    # -- reminders ----------------------------------------------------------------------------------
    def queue_reminders(self, budget: Budget | None = None) -> dict[str, int]:
        """Queue a reminder message for every due reminder item, then drop the item; the count per survey.

        The deliver function decides (responded? unsubscribed? bounced? already reminded?): queuing
        twice is harmless, because the reminder claim on the invite lets only one through. Reminders go
        out in chunks of :data:`REMINDER_CHUNK`; when ``budget`` is spent (a large wave's reminders
        falling due together) the run puts ``{"action": "reminders"}`` on the continuation queue, and the
        next invocation queues the items still there.
        """
        now_iso = iso_timestamp(self.clock())
        counts: dict[str, int] = {}
        entered = budget.time_left() if budget else 0.0
        for survey in self.surveys.all():
            chunk: list[tuple[str, str]] = []
            for due in self.surveys.due_reminders(survey.survey_id, now_iso):
                chunk.append(due)
                if len(chunk) < REMINDER_CHUNK:
                    continue
                self._queue_reminder_chunk(survey.survey_id, chunk, counts)
                chunk = []
                if self.continuation is not None and budget is not None and budget.spent(entered):
                    self.continuation.continue_later({"action": "reminders"}, 0)
                    return counts
            self._queue_reminder_chunk(survey.survey_id, chunk, counts)
        return counts

    def _queue_reminder_chunk(self, survey_id: str, due: list[tuple[str, str]], counts: dict[str, int]) -> None:
        if not due:
            return
        self.queue.enqueue([({"invite_id": invite_id, "kind": "reminder"}, 0) for _, invite_id in due])
        self.surveys.delete_reminders(survey_id, [sort_key for sort_key, _ in due])
        counts[survey_id] = counts.get(survey_id, 0) + len(due)


def _hashes(contact: Contact, channel: str, id_key: IdKey) -> tuple[str, ...]:
    """The suppression keys (keyed and legacy) of the contact's address on ``channel``, if it has one."""
    address = contact.address(channel)
    return lookup_hashes(channel, address, id_key) if address else ()
