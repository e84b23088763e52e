"""Figures 4 and 5: invite email rendering throughput and wave planner throughput, in one process.

* Rendering: :func:`nps.sending.messages.render_email` + :func:`nps.sending.messages.mime_message` (Jinja2, compiled
  templates cached, autoescape on, multipart MIME built) per invite, rotating locales. Baseline: a bare
  ``str.format`` fill of a pre-split HTML + text skeleton with the same data, in the same run (the least
  any renderer can do).
* Planner: :meth:`nps.sending.waves.WavePlanner.scheduled_wave` over N contacts with in-memory stores (query
  pages of 1,000 contacts, suppression lookups, invite writes and queue sends all stubbed). Baseline:
  the pure rules alone (:func:`nps.sending.planning.plan_contacts`) over the same contacts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.report import Figure, median
from benchmarks.synthetic import OneSurvey
from nps.links.pseudonyms import IdKey
from nps.links.tokens import Keyring
from nps.sending.contacts import Contact
from nps.sending.messages import InviteLinks, invite_links, mime_message, render_email
from nps.sending.planning import PlannedInvite, plan_contacts
from nps.sending.surveys import Survey
from nps.sending.waves import WavePlanner

RENDER_TARGET_PER_SECOND = 2_000.0
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
KEYRING = Keyring(keys={"k1": b"bench-key-0123456789abcdef0123456789"}, active_kid="k1")
BENCH_ID_KEY = IdKey(b"bench-id-key-0123456789abcdef01234567")
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")


# -- rendering --------------------------------------------------------------------------------------


def _links(count: int) -> list[InviteLinks]:
    return [
        invite_links(KEYRING, "https://nps.example.com", f"inv-{i:08d}", 2_000_000_000, 2_100_000_000)
        for i in range(count)
    ]


_SKELETON_HTML = "<html lang='{locale}'><body><p>{brand}</p><p>{question}</p>{buttons}<a href='{unsub}'>x</a>"
_SKELETON_TEXT = "{question}\n{links}\n{unsub}\n"


def _baseline(links: InviteLinks, locale: str) -> tuple[str, str]:
    buttons = "".join(f"<a href='{link}'>{n}</a>" for n, link in enumerate(links.score_links))
    html = _SKELETON_HTML.format(
        locale=locale, brand="Acme Cloud", question="How likely?", buttons=buttons, unsub=links.unsubscribe
    )
    text = _SKELETON_TEXT.format(question="How likely?", links="\n".join(links.score_links), unsub=links.unsubscribe)
    return html, text


@dataclass(slots=True)
class RenderResult:
    figure: Figure
    bytes_per_email: int


def run_rendering(emails: int = 4_000, rounds: int = 5) -> RenderResult:
    """Emails rendered per second (median of ``rounds``), next to the ``str.format`` baseline."""
    links = _links(emails)
    locales = ("en", "es", "de")
    size = len(mime_message(SURVEY, "p@example.com", render_email(SURVEY, "en", links[0]), links[0].unsubscribe))
    for index in range(min(30, emails)):  # warm: compile and cache every locale's templates
        render_email(SURVEY, locales[index % 3], links[index])
    render_rates, baseline_rates = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        for index, link in enumerate(links):
            email = render_email(SURVEY, locales[index % 3], link)
            mime_message(SURVEY, "p@example.com", email, link.unsubscribe)
        render_rates.append(emails / (time.perf_counter() - started))
        started = time.perf_counter()
        for index, link in enumerate(links):
            _baseline(link, locales[index % 3])
        baseline_rates.append(emails / (time.perf_counter() - started))
    figure = Figure(
        name="invite emails rendered (HTML + text + MIME)",
        unit="emails/s",
        measured=median(render_rates),
        baseline_name="str.format",
        baseline=median(baseline_rates),
        target=RENDER_TARGET_PER_SECOND,
        direction="min",
        detail={"emails_per_round": emails, "rounds": rounds, "mime_bytes": size},
    )
    return RenderResult(figure, size)


# -- planner ----------------------------------------------------------------------------------------


def synthetic_contacts(count: int, seed: int = 7) -> list[Contact]:
    rng = random.Random(seed)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    contacts = []
    for index in range(count):
        contacts.append(
            Contact.model_construct(
                contact_id=f"c-{index:07d}",
                audience="default",
                email=f"p{index}@example.com" if index % 5 else None,
                phone=f"+447400{index % 1_000_000:06d}" if index % 5 == 0 else None,
                time_zone=rng.choice(ZONES),
                locale=rng.choice(("en", "es", "de")),
                attributes={"plan": rng.choice(("starter", "pro")), "region": rng.choice(("emea", "amer"))},
                last_surveyed_at=now.replace(month=11, day=1).isoformat() if index % 17 == 0 else None,
            )
        )
    return contacts


@dataclass
class _Contacts:
    contacts: list[Contact]
    page_size: int = 1_000

    def page(self, audience: str, after: str | None, limit: int) -> tuple[list[Contact], str | None]:
        start = 0 if after is None else int(after.removeprefix("c-")) + 1
        page = self.contacts[start : start + limit]
        return page, (page[-1].contact_id if start + limit < len(self.contacts) else None)

    def get(self, audience: str, contact_id: str) -> Contact | None:
        return None


@dataclass
class _Suppressions:
    suppressed: set[str] = field(default_factory=set)
    lookups: int = 0

    def suppressed_among(self, hashes: Iterable[str]) -> set[str]:
        wanted = set(hashes)
        self.lookups += (len(wanted) + 99) // 100  # BatchGetItem calls the real store would make
        return wanted & self.suppressed


@dataclass
class _Invites:
    writes: int = 0

    def record_planned(
        self, planned: Sequence[PlannedInvite], planned_expiry: int, ttl: int, now: datetime
    ) -> list[tuple[PlannedInvite, bool, bool]]:
        self.writes += len(planned)
        return [(invite, True, True) for invite in planned]

    def claim_mailboxes(self, planned: Sequence[PlannedInvite], ttl: int) -> set[str]:
        return set()  # a wave planned in one go keeps its mailboxes in memory: no claims


@dataclass
class _Queue:
    batches: int = 0

    def enqueue(self, messages: Sequence[tuple[dict[str, str], int]]) -> None:
        self.batches += (len(messages) + 9) // 10


@dataclass(slots=True)
class PlannerResult:
    figure: Figure
    report: dict[str, Any]
    stub_calls: dict[str, int]


def run_planner(contacts: int = 100_000, rounds: int = 3) -> PlannerResult:
    """Contacts planned per second through the planner service (stores stubbed), and the rules alone."""
    population = synthetic_contacts(contacts)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    planner_rates, rule_rates = [], []
    report: dict[str, Any] = {}
    calls: dict[str, int] = {}
    for _ in range(rounds):
        suppressions, invites, queue = _Suppressions(), _Invites(), _Queue()
        planner = WavePlanner(
            surveys=OneSurvey(SURVEY),
            contacts=_Contacts(population),
            suppressions=suppressions,
            invites=invites,
            queue=queue,
            id_key=lambda: BENCH_ID_KEY,
            clock=lambda: now,
        )
        started = time.perf_counter()
        result = planner.scheduled_wave("bench", now)
        planner_rates.append(contacts / (time.perf_counter() - started))
        report = result.as_dict()
        calls = {
            "invite_writes": invites.writes,
            "queue_batches": queue.batches,
            "batch_gets": suppressions.lookups,
        }
        started = time.perf_counter()
        plan_contacts(SURVEY, "w", population, lambda contact, channel: False, now, BENCH_ID_KEY)
        rule_rates.append(contacts / (time.perf_counter() - started))
    figure = Figure(
        name=f"planner over {contacts:,} contacts (stores stubbed)",
        unit="contacts/s",
        measured=median(planner_rates),
        baseline_name="planning rules alone",
        baseline=median(rule_rates),
        direction="min",
        detail={"rounds": rounds, "seconds_for_wave": contacts / median(planner_rates)},
    )
    return PlannerResult(figure, report, calls)
