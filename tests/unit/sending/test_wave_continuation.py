"""A wave too large for one invocation: planned in chunks that continue, each contact invited at most once.

The stores here keep DynamoDB's semantics that the guarantees rest on: invite puts and mailbox claims are
conditional, the progress item advances only from the page count it was read at. Time is simulated: each
query page "takes" a fixed number of seconds off the invocation's remaining time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps.sending.contacts import Contact
from nps.sending.planning import PlannedInvite
from nps.sending.surveys import Survey
from nps.sending.waves import Budget, InMemoryWaveProgress, Pacing, WavePlanner, WaveProgress
from tests.support.fakes import ID_KEY

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SURVEY = Survey.model_validate(
    {"survey_id": "s", "name": "n", "brand_name": "b", "sender": "s@example.com", "channels": ["email"]}
)


class Crash(RuntimeError):
    """The invocation died (a timeout, an out-of-memory kill) in the middle of its work."""


@dataclass
class Invocation:
    """Simulated time of one invocation: 900 s to its timeout, ``page_seconds`` spent per query page."""

    page_seconds: float
    left: float = 900.0
    pages: int = 0

    def time_left(self) -> float:
        return self.left

    def spend_page(self) -> None:
        self.pages += 1
        self.left -= self.page_seconds


@dataclass
class Contacts:
    contacts: list[Contact]
    invocation: Invocation | None = None

    def page(self, audience: str, after: str | None, limit: int) -> tuple[list[Contact], str | None]:
        if self.invocation is not None:
            self.invocation.spend_page()
        ordered = sorted(self.contacts, key=lambda c: c.contact_id)
        start = 0 if after is None else next(i for i, c in enumerate(ordered) if c.contact_id == after) + 1
        page = ordered[start : start + limit]
        return page, (page[-1].contact_id if start + limit < len(ordered) else None)

    def get(self, audience: str, contact_id: str) -> Contact | None:
        return next((c for c in self.contacts if c.contact_id == contact_id), None)


@dataclass
class Invites:
    """The invites table: conditional puts of invites and of mailbox claims; ``crash_after`` kills the
    invocation after that many invite puts (the puts made before it stay written)."""

    items: dict[str, PlannedInvite] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    crash_after: int | None = None

    def claim_mailboxes(self, planned: Sequence[PlannedInvite], ttl: int) -> set[str]:
        taken = set()
        for invite in planned:
            assert invite.mailbox_key is not None
            holder = self.claims.setdefault(invite.mailbox_key, invite.contact_id)
            if holder != invite.contact_id:
                taken.add(invite.invite_id)
        return taken

    def record_planned(
        self, planned: Sequence[PlannedInvite], planned_expiry: int, ttl: int, now: datetime
    ) -> list[tuple[PlannedInvite, bool, bool]]:
        results = []
        for invite in planned:
            if self.crash_after is not None and len(self.created) >= self.crash_after:
                self.crash_after = None
                raise Crash("invocation ended mid-page")
            created = invite.invite_id not in self.items
            if created:
                self.items[invite.invite_id] = invite
                self.created.append(invite.invite_id)
            results.append((invite, created, True))
        return results


@dataclass
class Surveys:
    def get(self, survey_id: str) -> Survey | None:
        return SURVEY

    def all(self) -> list[Survey]:
        return [SURVEY]

    def due_reminders(self, survey_id: str, now_iso: str) -> Iterable[tuple[str, str]]:
        return []

    def delete_reminders(self, survey_id: str, sort_keys: Sequence[str]) -> None: ...


@dataclass
class Suppressions:
    def suppressed_among(self, hashes: Iterable[str]) -> set[str]:
        return set()


@dataclass
class Queue:
    messages: list[dict[str, str]] = field(default_factory=list)

    def enqueue(self, messages: Sequence[tuple[dict[str, str], int]]) -> None:
        self.messages.extend(body for body, _ in messages)


@dataclass
class Continuations:
    sent: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def continue_later(self, message: dict[str, Any], delay_seconds: int) -> None:
        self.sent.append((message, delay_seconds))


@dataclass
class Wave:
    contacts: Contacts
    invites: Invites = field(default_factory=Invites)
    progress: InMemoryWaveProgress = field(default_factory=InMemoryWaveProgress)
    queue: Queue = field(default_factory=Queue)
    continuations: Continuations = field(default_factory=Continuations)
    clock: list[datetime] = field(default_factory=lambda: [NOW])

    def planner(self, page_size: int = 100, pacing: Pacing | None = None) -> WavePlanner:
        return WavePlanner(
            surveys=Surveys(),
            contacts=self.contacts,
            suppressions=Suppressions(),
            invites=self.invites,
            queue=self.queue,
            id_key=lambda: ID_KEY,
            clock=lambda: self.clock[0],
            progress=self.progress,
            continuation=self.continuations,
            pacing=pacing,
            page_size=page_size,
        )

    def budget(self, page_seconds: float = 10.0) -> tuple[Budget, Invocation]:
        invocation = Invocation(page_seconds)
        self.contacts.invocation = invocation
        return Budget(invocation.time_left, seconds=240.0, reserve_seconds=60.0), invocation

    def run_continuations(self, planner: WavePlanner) -> list[Invocation]:
        """Deliver every continuation message, in order, each to a fresh invocation."""
        invocations = []
        while self.continuations.sent:
            message, _ = self.continuations.sent.pop(0)
            budget, invocation = self.budget()
            planner.continue_wave(message["survey_id"], message["wave_id"], message["run"], budget)
            invocations.append(invocation)
        return invocations


def people(count: int, **overrides: str) -> list[Contact]:
    return [
        Contact.model_validate({"contact_id": f"c{i:05d}", "email": f"p{i}@example.com", **overrides})
        for i in range(count)
    ]


def test_a_wave_larger_than_one_invocation_continues_until_every_contact_is_invited_once() -> None:
    # Given 5,000 contacts, pages of 100, and query pages that take 10 s each of a 900 s invocation
    wave = Wave(Contacts(people(5_000)))
    planner = wave.planner()
    budget, first = wave.budget()
    # When the schedule fires and every continuation it leads to is delivered
    started = planner.scheduled_wave("s", NOW, budget)
    later = wave.run_continuations(planner)
    # Then the first invocation stopped after its 240 s budget and handed over the rest
    assert not started.complete
    assert first.pages == 24
    # And no invocation planned for more than its budget (24 pages × 10 s), however large the wave
    assert max(i.pages for i in [first, *later]) * 10 <= 240
    assert len(later) == 2
    # And the run ended with every contact invited exactly once and queued once
    progress = wave.progress.get("s", started.wave_id)
    assert progress is not None
    assert progress.done
    report = progress.report()
    assert (report.contacts, report.invites, report.already_planned) == (5_000, 5_000, 0)
    assert len(wave.invites.created) == len(set(wave.invites.created)) == 5_000
    assert len(wave.queue.messages) == 5_000


def test_an_invocation_stops_starting_pages_when_its_time_left_nears_the_timeout() -> None:
    # Given an invocation that has only 100 s left when the wave starts (a slow first request)
    wave = Wave(Contacts(people(1_000)))
    planner = wave.planner()
    budget, invocation = wave.budget()
    invocation.left = 100.0
    # When the wave is planned
    report = planner.scheduled_wave("s", NOW, budget)
    # Then it planned pages only while more than the 60 s reserve was left, and continues the rest
    assert invocation.pages == 5
    assert report.run_pages == 5
    assert not report.complete
    assert len(wave.continuations.sent) == 1


def test_a_crash_after_some_invites_of_a_page_and_before_its_checkpoint_creates_no_second_invite() -> None:
    # Given a wave whose second invocation dies after writing 30 invites of its first page
    wave = Wave(Contacts(people(3_000)))
    planner = wave.planner()
    budget, _ = wave.budget()
    started = planner.scheduled_wave("s", NOW, budget)
    ((message, _),) = wave.continuations.sent
    wave.invites.crash_after = len(wave.invites.created) + 30
    crashed_budget, _ = wave.budget()
    with pytest.raises(Crash):
        planner.continue_wave("s", started.wave_id, message["run"], crashed_budget)
    # When SQS delivers the same continuation again (the failed invocation did not delete it)
    later = wave.run_continuations(planner)
    # Then the page was replayed from its checkpoint: the 30 invites are found, none made twice
    assert len(later) == 1
    assert len(wave.invites.created) == len(set(wave.invites.created)) == 3_000
    progress = wave.progress.get("s", started.wave_id)
    assert progress is not None
    assert progress.done
    assert progress.report().invites == 3_000
    assert progress.report().already_planned == 30


def test_one_mailbox_gets_one_invite_even_when_its_contacts_are_planned_by_different_invocations() -> None:
    # Given two contacts sharing one mailbox, far apart in the audience (first and last page)
    contacts = people(3_000)
    contacts[0] = Contact(contact_id="c00000", email="Shared@Example.com")
    contacts[-1] = Contact(contact_id="c02999", email="shared@example.com")
    wave = Wave(Contacts(contacts))
    planner = wave.planner()
    # When the wave is planned over several invocations
    budget, _ = wave.budget()
    started = planner.scheduled_wave("s", NOW, budget)
    later = wave.run_continuations(planner)
    # Then only the first of them was invited, and the other is skipped as the same address
    assert later
    invited = {invite.contact_id for invite in wave.invites.items.values()}
    assert "c00000" in invited
    assert "c02999" not in invited
    progress = wave.progress.get("s", started.wave_id)
    assert progress is not None
    assert progress.report().skipped == {"same_address": 1}


def test_a_duplicated_continuation_loses_the_race_for_the_checkpoint_and_stops() -> None:
    # Given a wave handed over to a continuation, and that message delivered twice at once
    wave = Wave(Contacts(people(3_000)))
    planner = wave.planner()
    budget, _ = wave.budget()
    started = planner.scheduled_wave("s", NOW, budget)
    ((message, _),) = wave.continuations.sent
    wave.continuations.sent.clear()
    stale = wave.progress.get("s", started.wave_id)
    assert stale is not None
    # When one copy plans the rest, and then the other, which had read the same checkpoint, records its page
    first = planner.continue_wave("s", started.wave_id, message["run"], wave.budget()[0])
    assert first is not None
    assert first.complete
    planner.progress = _ReadsOnce(wave.progress, stale)
    second = planner.continue_wave("s", started.wave_id, message["run"], wave.budget()[0])
    # Then the second copy stops at its first page without continuing, and nobody was invited twice
    assert second is not None
    assert second.superseded
    assert not second.complete
    assert wave.continuations.sent == []
    assert len(wave.invites.created) == len(set(wave.invites.created)) == 3_000


class _ReadsOnce:
    """A progress store whose next read returns ``stale`` (what a copy read before the other advanced it)."""

    def __init__(self, store: InMemoryWaveProgress, stale: WaveProgress) -> None:
        self.store, self.stale = store, stale
        self.served = False

    def begin(self, survey_id: str, wave_id: str, now: datetime) -> WaveProgress:
        return self.store.begin(survey_id, wave_id, now)

    def get(self, survey_id: str, wave_id: str) -> WaveProgress | None:
        if not self.served:
            self.served = True
            return self.stale
        return self.store.get(survey_id, wave_id)

    def advance(self, progress: WaveProgress, expected_pages: int) -> bool:
        return self.store.advance(progress, expected_pages)


def test_a_schedule_that_fires_again_starts_a_new_run_and_the_old_chain_stops() -> None:
    # Given a wave that handed over to a continuation
    wave = Wave(Contacts(people(3_000)))
    planner = wave.planner()
    started = planner.scheduled_wave("s", NOW, wave.budget()[0])
    ((old, _),) = wave.continuations.sent
    wave.continuations.sent.clear()
    # When the schedule fires again (a retry) and plans the wave in one go this time
    again = planner.scheduled_wave("s", NOW)
    # Then the new run found the first run's invites instead of making new ones
    assert again.complete
    assert again.invites == 3_000
    assert again.already_planned == started.invites
    # And the first run's continuation is ignored
    assert planner.continue_wave("s", started.wave_id, old["run"], wave.budget()[0]) is None
    assert len(wave.invites.created) == 3_000


def test_planning_waits_for_the_send_queue_when_it_runs_too_far_ahead_of_the_send_rate() -> None:
    # Given a send rate of 2 a second and planning allowed 300 s of sends ahead (600 invites)
    wave = Wave(Contacts(people(3_000)))
    planner = wave.planner(pacing=Pacing(send_rate_per_second=2.0, plan_ahead_seconds=300.0))
    # When the wave starts
    report = planner.scheduled_wave("s", NOW, wave.budget()[0])
    # Then it stopped at the first page past 600 queued sends and waits for about half of them to leave
    assert report.queued == 700
    assert not report.complete
    ((_, delay),) = wave.continuations.sent
    assert delay == 700 / 2 - 150
    # And a continuation that arrives when the queue has drained plans on from there
    wave.clock[0] = NOW + timedelta(seconds=delay)
    (message, _) = wave.continuations.sent.pop()
    resumed = planner.continue_wave("s", report.wave_id, message["run"], wave.budget()[0])
    assert resumed is not None
    assert resumed.queued > report.queued


def test_planning_waits_while_the_send_queue_holds_other_sends_that_share_the_rate() -> None:
    # Given a send rate of 2 a second, 300 s of sends allowed ahead, and a send queue already holding
    # 1,000 ready messages of another survey's wave and the reminders falling due (500 s at the rate)
    wave = Wave(Contacts(people(3_000)))
    waiting = [1_000]
    planner = wave.planner(
        pacing=Pacing(send_rate_per_second=2.0, plan_ahead_seconds=300.0, waiting=lambda: waiting[0])
    )
    # When this wave starts
    report = planner.scheduled_wave("s", NOW, wave.budget()[0])
    # Then it plans no page past the first and waits for the queue to drain to about half the allowance,
    # although its own 100 sends would leave in 50 s
    assert report.queued == 100
    assert not report.complete
    ((_, delay),) = wave.continuations.sent
    assert delay == 1_000 / 2 - 150
    # And once the queue has drained, it plans on until its own sends reach the allowance
    waiting[0] = 0
    wave.clock[0] = NOW + timedelta(seconds=delay)
    (message, _) = wave.continuations.sent.pop()
    resumed = planner.continue_wave("s", report.wave_id, message["run"], wave.budget()[0])
    assert resumed is not None
    assert resumed.queued > report.queued


@settings(max_examples=40, deadline=None)
@given(
    rate=st.floats(0.5, 500),
    ahead=st.floats(60, 3_600),
    queued=st.integers(0, 10**6),
    ready=st.integers(0, 10**6),
    elapsed=st.floats(0, 86_400),
)
def test_the_backlog_is_never_less_than_the_send_queue_holds_nor_than_the_run_queued(
    rate: float, ahead: float, queued: int, ready: int, elapsed: float
) -> None:
    started = NOW - timedelta(seconds=elapsed)
    alone = Pacing(rate, ahead).backlog_seconds(queued, started, NOW)
    shared = Pacing(rate, ahead, waiting=lambda: ready).backlog_seconds(queued, started, NOW)
    assert shared >= alone
    assert shared >= ready / rate
    assert shared == max(alone, ready / rate)


@dataclass
class DueReminders(Surveys):
    """The surveys table's reminder items of one survey, in sort key order."""

    due: dict[str, str] = field(default_factory=dict)

    def due_reminders(self, survey_id: str, now_iso: str) -> Iterable[tuple[str, str]]:
        return sorted(self.due.items())

    def delete_reminders(self, survey_id: str, sort_keys: Sequence[str]) -> None:
        for sort_key in sort_keys:
            del self.due[sort_key]


def test_a_reminder_run_with_more_due_than_one_budget_continues_and_queues_each_reminder_once() -> None:
    # Given 3,500 reminders due at once, and an invocation that spends 100 s per chunk of 1,000
    reminders = DueReminders(due={f"reminder#2026-11-26T09:00#inv-{i:05d}": f"inv-{i:05d}" for i in range(3_500)})
    wave = Wave(Contacts([]))
    planner = wave.planner()
    planner.surveys = reminders
    queued: list[int] = []

    class Spending(Queue):
        def enqueue(self, messages: Sequence[tuple[dict[str, str], int]]) -> None:
            super().enqueue(messages)
            invocation.left -= 100
            queued.append(len(messages))

    planner.queue = Spending()
    invocation = Invocation(page_seconds=0)
    budget = Budget(invocation.time_left, seconds=240.0, reserve_seconds=60.0)
    # When the hourly run fires
    first = planner.queue_reminders(budget)
    # Then it stopped after its budget (3 chunks) and asked to be continued
    assert first == {"s": 3_000}
    assert wave.continuations.sent == [({"action": "reminders"}, 0)]
    # And the continuation queues the rest, and nothing is left due
    invocation.left = 900
    assert planner.queue_reminders(Budget(invocation.time_left, 240.0, 60.0)) == {"s": 500}
    assert reminders.due == {}
    assert queued == [1_000, 1_000, 1_000, 500]
