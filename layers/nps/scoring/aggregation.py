"""Turning stream records into aggregate deltas (pure: no clients, no clocks).

A *transition* is one stream record: the response before and after a write. Its delta removes the old
image's contribution and adds the new one's, for every aggregate key the response belongs to:
survey × granularity × period × segment (``*`` or ``dimension=value``, one dimension at a time) ×
channel (``*`` or the channel). A batch's transitions are coalesced so that each key is written once.

Each transition also claims a slot in a dedupe *ledger* (``invite_id`` → highest version applied),
bucketed by the minute the stream record was created and a hash of the invite id. The ledger and the
aggregate deltas are written in one transaction, which is what makes replays harmless.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nps.kernel.categories import SCORES, Category, categorize
from nps.kernel.periods import Granularity, period_keys

if TYPE_CHECKING:
    from nps.events.models import ResponseItem

ALL = "*"
LEDGER_BUCKETS = 8
CATEGORY_COUNTERS: dict[Category, str] = {
    Category.PROMOTER: "promoters",
    Category.PASSIVE: "passives",
    Category.DETRACTOR: "detractors",
}
SCORE_COUNTERS: tuple[str, ...] = tuple(f"score_{score}" for score in SCORES)
COUNTERS: tuple[str, ...] = (*CATEGORY_COUNTERS.values(), *SCORE_COUNTERS)

Counters = dict[str, int]
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True, order=True)
class AggregateKey:
    survey_id: str
    granularity: Granularity
    period: str
    segment: str = ALL
    channel: str = ALL

    @property
    def pk(self) -> str:
        return f"{self.survey_id}#{self.granularity.value}#{self.segment}#{self.channel}"


def segment_label(dimension: str, value: str) -> str:
    return f"{dimension}={value}"


def aggregate_keys(item: ResponseItem) -> Iterator[AggregateKey]:
    """Every key a counted response contributes to, by the period of its first answer."""
    assert item.first_answered_at is not None
    yield from _keys(_signature(item))


# (survey, UTC day of the first answer, sorted segment values, channel): responses that share it
# contribute to exactly the same keys, so a batch is summed per signature before keys are expanded.
Signature = tuple[str, date, tuple[tuple[str, str], ...], str]


def _signature(item: ResponseItem) -> Signature:
    at = item.first_answered_at
    assert at is not None
    day = at.date() if at.utcoffset() == _ZERO else at.astimezone(UTC).date()
    return item.survey_id, day, tuple(sorted(item.segments.items())), item.channel


@lru_cache(maxsize=4096)
def _keys(signature: Signature) -> tuple[AggregateKey, ...]:
    survey_id, day, segment_values, channel = signature
    return tuple(
        AggregateKey(survey_id, granularity, period, segment, channel_value)
        for granularity, period in _day_periods(day)
        for segment in _segment_labels(segment_values)
        for channel_value in (ALL, channel)
    )


def contribution(item: ResponseItem | None) -> Counters:
    """The counters one response adds to each of its keys (empty when it does not count)."""
    if item is None or not item.is_counted or item.score is None:
        return {}
    category = item.category or categorize(item.score)
    return {CATEGORY_COUNTERS[category]: 1, SCORE_COUNTERS[item.score]: 1}


@dataclass(frozen=True, slots=True)
class Transition:
    """One stream record: the response before (``old``) and after (``new``) a write."""

    invite_id: str
    version: int
    record_time: datetime
    sequence_number: str
    old: ResponseItem | None
    new: ResponseItem | None
    #: The ledger item that records this transition as applied.
    ledger_bucket: str = field(init=False)

    @property
    def old_score(self) -> int | None:
        return self.old.score if self.old is not None and self.old.is_counted else None

    @property
    def new_score(self) -> int | None:
        return self.new.score if self.new is not None and self.new.is_counted else None

    @property
    def moves_counts(self) -> bool:
        """Whether the counted score changed (a first answer, a new score, or a removal)."""
        return self.old_score != self.new_score

    def deltas(self) -> dict[AggregateKey, Counters]:
        return coalesce((self,))

    def __post_init__(self) -> None:
        # Deterministic per record (never Python's salted hash()): a replay handled by another
        # instance or after a deploy must find its claim in the same ledger item. Changing the
        # bucket count or this formula while stream records are in flight would break that.
        bucket = zlib.crc32(self.invite_id.encode()) % LEDGER_BUCKETS
        minute = self.record_time.astimezone(UTC).strftime("%Y%m%d%H%M")
        object.__setattr__(self, "ledger_bucket", f"ledger#{minute}#{bucket}")


@dataclass(slots=True)
class LedgerClaim:
    """The versions a batch applies for the invites of one ledger bucket."""

    min_versions: dict[str, int] = field(default_factory=dict)
    max_versions: dict[str, int] = field(default_factory=dict)

    def add(self, invite_id: str, version: int) -> None:
        self.min_versions[invite_id] = min(version, self.min_versions.get(invite_id, version))
        self.max_versions[invite_id] = max(version, self.max_versions.get(invite_id, version))


def coalesce(transitions: Iterable[Transition]) -> dict[AggregateKey, Counters]:
    """Sum the deltas of many transitions per key, dropping keys whose sum is zero."""
    by_signature: dict[Signature, Counters] = {}
    for transition in transitions:
        for item, sign in ((transition.old, -1), (transition.new, 1)):
            if item is None or not item.is_counted or item.score is None:
                continue
            bucket = by_signature.setdefault(_signature(item), {})
            for name in (
                CATEGORY_COUNTERS[item.category or categorize(item.score)],
                SCORE_COUNTERS[item.score],
            ):
                bucket[name] = bucket.get(name, 0) + sign
    # Sum per (survey, day, segment, channel) first: the four period keys of one day get the same sums.
    by_slice: dict[tuple[str, date, str, str], Counters] = {}
    for (survey_id, day, segment_values, channel), counters in by_signature.items():
        nonzero = {name: value for name, value in counters.items() if value}
        if not nonzero:
            continue
        for segment in _segment_labels(segment_values):
            for channel_value in (ALL, channel):
                _merge(by_slice, (survey_id, day, segment, channel_value), nonzero)
    totals: dict[AggregateKey, Counters] = {}
    for (survey_id, day, segment, channel_value), counters in by_slice.items():
        for granularity, period in _day_periods(day):
            _merge(totals, AggregateKey(survey_id, granularity, period, segment, channel_value), counters)
    return {k: nonzero for k, c in totals.items() if (nonzero := {n: v for n, v in c.items() if v})}


def _merge(target: dict[Any, Counters], key: Any, counters: Counters) -> None:
    bucket = target.get(key)
    if bucket is None:
        target[key] = dict(counters)
        return
    for name, value in counters.items():
        bucket[name] = bucket.get(name, 0) + value


@lru_cache(maxsize=1024)
def _segment_labels(segment_values: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return (ALL, *(segment_label(d, v) for d, v in segment_values))


@lru_cache(maxsize=1024)
def _day_periods(day: date) -> tuple[tuple[Granularity, str], ...]:
    return tuple(period_keys(datetime(day.year, day.month, day.day, tzinfo=UTC)).items())


def ledger_claims(transitions: Iterable[Transition]) -> dict[str, LedgerClaim]:
    claims: dict[str, LedgerClaim] = defaultdict(LedgerClaim)
    for transition in transitions:
        claims[transition.ledger_bucket].add(transition.invite_id, transition.version)
    return dict(sorted(claims.items()))


def category_deltas(transitions: Iterable[Transition]) -> Counter[tuple[str, str]]:
    """(survey, category) → net change in counted responses for a batch of committed transitions."""
    deltas: Counter[tuple[str, str]] = Counter()
    for transition in transitions:
        if not transition.moves_counts:
            continue
        if transition.old is not None and transition.old_score is not None:
            deltas[(transition.old.survey_id, categorize(transition.old_score).value)] -= 1
        if transition.new is not None and transition.new_score is not None:
            deltas[(transition.new.survey_id, categorize(transition.new_score).value)] += 1
    return Counter({key: value for key, value in deltas.items() if value})
