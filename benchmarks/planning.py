"""A large wave planned across invocations: the real planner over stub stores, with simulated time.

:class:`nps.sending.waves.WavePlanner` plans ``contacts`` synthetic contacts (generated page by page, so a
million fit in memory) exactly as the planner function does: a progress item advanced per page,
mailbox claims, conditional invite puts, send messages and a continuation whenever the invocation's
budget is spent. The stores answer in-process and count their requests; each request is charged a
modelled DynamoDB / SQS latency (:data:`LATENCY_MS`) on a simulated clock, so an invocation's simulated
duration is its measured CPU time plus the latency of the requests it made, and its ``time_left`` is
the planner's 15-minute timeout minus that. Each continuation starts a fresh simulated invocation.

Figures:

* contacts planned per CPU-second of the whole wave (``time.process_time``), next to the same run's
  baseline: producing and reading the same contacts page by page without planning them;
* the longest invocation (simulated seconds), next to the planning budget; the target is "a few minutes"
  (at most 300 s).
"""

from __future__ import annotations

import gc
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.report import Figure
from benchmarks.synthetic import OneSurvey
from nps.links.pseudonyms import IdKey
from nps.sending.adapters.channels import PARALLEL_BATCHES
from nps.sending.contacts import Contact
from nps.sending.planning import PlannedInvite
from nps.sending.surveys import Survey
from nps.sending.waves import Budget, InMemoryWaveProgress, WavePlanner

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ID_KEY = IdKey(b"bench-id-key-0123456789abcdef01234567")
SURVEY = Survey.model_validate(
    {
        "survey_id": "bench",
        "name": "Benchmark survey",
        "brand_name": "Acme Cloud",
        "sender": "surveys@example.com",
        "channels": ["email", "sms"],
        "locales": ["en", "es", "de"],
        "segment_dimensions": ["plan", "region"],
        "fatigue_days": 30,
    }
)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")
TIMEOUT_SECONDS = 900.0  # the planner function's timeout
BUDGET_SECONDS = 240.0  # PLANNING_BUDGET_SECONDS in infra/constructs/sending.py
RESERVE_SECONDS = 60.0  # functions/planner/handler.py
LONGEST_TARGET_SECONDS = 300.0
#: Modelled latency of one request, in milliseconds (DynamoDB single-digit ms in-region, SQS ~15 ms).
LATENCY_MS = {
    "query_page": 25.0,
    "batch_get": 10.0,  # per 100 suppression keys, one after another (the adapter's loop)
    "put": 8.0,  # an invite or a mailbox claim; ``PARALLEL_PUTS`` in flight at once
    "sqs_batch": 15.0,  # 10 send messages; PARALLEL_BATCHES batches in flight at once
    "progress": 8.0,
    "continuation": 15.0,
}
#: Concurrent puts: the adapters' 16 threads share botocore's default pool of 10 connections.
PARALLEL_PUTS = 10


def contact(index: int, rng: random.Random) -> Contact:
    return Contact.model_construct(
        contact_id=f"c-{index:08d}",
        audience="default",
        email=f"p{index}@example.com" if index % 5 else None,
        phone=f"+1415{index % 10_000_000:07d}" if index % 5 == 0 else None,
        time_zone=ZONES[index % len(ZONES)],
        locale=("en", "es", "de")[index % 3],
        attributes={"plan": rng.choice(("starter", "pro")), "region": rng.choice(("emea", "amer"))},
        last_surveyed_at="2026-11-01T09:00:00+00:00" if index % 17 == 0 else None,
    )


@dataclass
class SimulatedInvocation:
    """One invocation's simulated time: CPU measured since it began plus the modelled request latency."""

    cpu_started: float = field(default_factory=time.process_time)
    io_seconds: float = 0.0

    def elapsed(self) -> float:
        return time.process_time() - self.cpu_started + self.io_seconds

    def time_left(self) -> float:
        return TIMEOUT_SECONDS - self.elapsed()


@dataclass
class Requests:
    counts: dict[str, int] = field(default_factory=dict)
    invocation: SimulatedInvocation = field(default_factory=SimulatedInvocation)

    def charge(self, kind: str, requests: int = 1, parallel: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + requests
        self.invocation.io_seconds += math.ceil(requests / parallel) * LATENCY_MS[kind] / 1000


@dataclass
class Contacts:
    total: int
    requests: Requests
    seed: int = 7

    def page(self, audience: str, after: str | None, limit: int) -> tuple[list[Contact], str | None]:
        self.requests.charge("query_page")
        start = 0 if after is None else int(after.removeprefix("c-")) + 1
        rng = random.Random(self.seed * 1_000_003 + start)
        stop = min(self.total, start + limit)
        page = [contact(index, rng) for index in range(start, stop)]
        return page, (page[-1].contact_id if stop < self.total else None)

    def get(self, audience: str, contact_id: str) -> Contact | None:
        return None


@dataclass
class Suppressions:
    requests: Requests

    def suppressed_among(self, hashes: Iterable[str]) -> set[str]:
        wanted = set(hashes)
        self.requests.charge("batch_get", (len(wanted) + 99) // 100)
        return set()


@dataclass
class Invites:
    """Conditional puts kept as sets of ids: an existing invite or a mailbox held by another contact."""

    requests: Requests
    invites: set[str] = field(default_factory=set)
    claims: dict[str, str] = field(default_factory=dict)

    def claim_mailboxes(self, planned: Sequence[PlannedInvite], ttl: int) -> set[str]:
        self.requests.charge("put", len(planned), PARALLEL_PUTS)
        taken = set()
        for invite in planned:
            assert invite.mailbox_key is not None
            if self.claims.setdefault(invite.mailbox_key, invite.contact_id) != invite.contact_id:
                taken.add(invite.invite_id)
        return taken

    def record_planned(
        self, planned: Sequence[PlannedInvite], planned_expiry: int, ttl: int, now: datetime
    ) -> list[tuple[PlannedInvite, bool, bool]]:
        self.requests.charge("put", len(planned), PARALLEL_PUTS)
        results = []
        for invite in planned:
            created = invite.invite_id not in self.invites
            self.invites.add(invite.invite_id)
            results.append((invite, created, True))
        return results


@dataclass
class Queue:
    requests: Requests
    messages: int = 0

    def enqueue(self, messages: Sequence[tuple[dict[str, str], int]]) -> None:
        self.requests.charge("sqs_batch", (len(messages) + 9) // 10, PARALLEL_BATCHES)
        self.messages += len(messages)


class Progress(InMemoryWaveProgress):
    def __init__(self, requests: Requests) -> None:
        super().__init__()
        self.requests = requests

    def advance(self, progress: Any, expected_pages: int) -> bool:
        self.requests.charge("progress")
        return super().advance(progress, expected_pages)


@dataclass
class Continuations:
    requests: Requests
    pending: list[dict[str, Any]] = field(default_factory=list)

    def continue_later(self, message: dict[str, Any], delay_seconds: int) -> None:
        self.requests.charge("continuation")
        self.pending.append(message)


@dataclass(slots=True)
class PlanningResult:
    rate: Figure
    longest: Figure
    invocations: int
    invites: int
    report: dict[str, Any]
    requests: dict[str, int]
    cpu_seconds: float
    simulated_seconds: float


def _baseline(contacts: int, page_size: int) -> float:
    """CPU seconds to produce and read the same contacts page by page, without planning them."""
    store = Contacts(contacts, Requests())
    started = time.process_time()
    after: str | None = None
    touched = 0
    while True:
        page, after = store.page("default", after, page_size)
        for person in page:
            touched += len(person.contact_id) + len(person.time_zone) + len(person.attributes)
        if after is None:
            break
    return time.process_time() - started


def run(contacts: int = 1_000_000, page_size: int = 1_000) -> PlanningResult:
    """Plan one wave of ``contacts`` through continuations until it is done; figures as described above."""
    requests = Requests()
    invites, queue = Invites(requests), Queue(requests)
    continuations = Continuations(requests)
    planner = WavePlanner(
        surveys=OneSurvey(SURVEY),
        contacts=Contacts(contacts, requests),
        suppressions=Suppressions(requests),
        invites=invites,
        queue=queue,
        id_key=lambda: ID_KEY,
        clock=lambda: NOW,
        progress=Progress(requests),
        continuation=continuations,
        page_size=page_size,
    )
    gc.collect()
    durations: list[float] = []
    cpu_total = 0.0
    requests.invocation = SimulatedInvocation()
    budget = Budget(lambda: requests.invocation.time_left(), BUDGET_SECONDS, RESERVE_SECONDS)
    report = planner.scheduled_wave("bench", NOW, budget)
    while True:
        durations.append(requests.invocation.elapsed())
        cpu_total += time.process_time() - requests.invocation.cpu_started
        if not continuations.pending:
            break
        message = continuations.pending.pop(0)
        requests.invocation = SimulatedInvocation()
        budget = Budget(lambda: requests.invocation.time_left(), BUDGET_SECONDS, RESERVE_SECONDS)
        resumed = planner.continue_wave(message["survey_id"], message["wave_id"], message["run"], budget)
        assert resumed is not None
        report = resumed
    baseline_cpu = _baseline(contacts, page_size)
    rate = Figure(
        name=f"wave of {contacts:,} contacts planned across invocations (stores stubbed)",
        unit="contacts/s",
        measured=contacts / cpu_total,
        baseline_name="reading the contacts alone",
        baseline=contacts / baseline_cpu,
        detail={"cpu_seconds": cpu_total, "baseline_cpu_seconds": baseline_cpu, "unit": "per CPU-second"},
    )
    longest = Figure(
        name="longest planner invocation (simulated)",
        unit="s",
        measured=max(durations),
        baseline_name="planning budget",
        baseline=BUDGET_SECONDS,
        target=LONGEST_TARGET_SECONDS,
        direction="max",
        detail={"invocations": len(durations), "latency_ms": LATENCY_MS, "parallel_puts": PARALLEL_PUTS},
    )
    return PlanningResult(
        rate=rate,
        longest=longest,
        invocations=len(durations),
        invites=len(invites.invites),
        report=report.as_dict(),
        requests=dict(requests.counts),
        cpu_seconds=cpu_total,
        simulated_seconds=sum(durations),
    )
