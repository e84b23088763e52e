"""Turning stream records into aggregate deltas (pure: no clients, no clocks).

A *transition* is one stream record: the response before and after a write. Its delta removes the old
image's contribution and adds the new one's, for every aggregate key the response belongs to:
survey × granularity × period × segment (``*`` or ``dimension=value``, one dimension at a time) ×
channel (``*`` or the channel; a response with ``in_headline`` false, an anonymous share-link answer, only
adds to its own channel). A batch's transitions are coalesced so that each key is written once.

Each transition also claims a slot in a dedupe *ledger* (``invite_id`` → highest version applied),
sharded by the second the stream record was created and a hash of the invite id, so no ledger item
collects more than one second's share of one survey's answers however fast they arrive (see
docs/capacity.md). The ledger and the aggregate deltas are committed together (one transaction, or a
commit record), which is what makes replays harmless.
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
    from nps.scoring.records import Response

    #: The stream path reads :class:`Response` (validated once from the image); other callers (sending's
    #: invites_sent counters, tests) may pass the contract's model. Aggregation reads the same fields of both.
    AnyResponse = Response | ResponseItem

ALL = "*"
#: Ledger shards per second of stream records. With 16, a survey answered 10,000 times a second puts
#: ~625 entries (~10 KB) in each ledger item, and a batch of 100 at 50 records/s touches ~30 items.
#: Changing the count or the formula below while stream records are in flight would let replays of
#: those records miss their claims.
LEDGER_BUCKETS = 16
CATEGORY_COUNTERS: dict[Category, str] = {
    Category.PROMOTER: "promoters",
    Category.PASSIVE: "passives",
    Category.DETRACTOR: "detractors",
}
SCORE_COUNTERS: tuple[str, ...] = tuple(f"score_{score}" for score in SCORES)
COUNTERS: tuple[str, ...] = (*CATEGORY_COUNTERS.values(), *SCORE_COUNTERS)

Counters = dict[str, int]
#: Per score, the two counters a response with that score adds to.
_COUNTER_NAMES: tuple[tuple[str, str], ...] = tuple(
    (CATEGORY_COUNTERS[categorize(score)], SCORE_COUNTERS[score]) for score in SCORES
)
_CATEGORY_NAMES: tuple[str, ...] = tuple(categorize(score).value for score in SCORES)
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


def aggregate_keys(item: AnyResponse) -> Iterator[AggregateKey]:
    """Every key a counted response contributes to, by the period of its first answer."""
    assert item.first_answered_at is not None
    yield from _keys(_signature(item))


# (survey, UTC day of the first answer, sorted segment values, channel values): responses that share it
# contribute to exactly the same keys, so a batch is summed per signature before keys are expanded.
Signature = tuple[str, date, tuple[tuple[str, str], ...], tuple[str, ...]]


#: Channels whose answers stay out of the survey-wide figures unless the survey counts them (anonymous
#: share-link answers); reports list them apart.
APART_CHANNELS = frozenset({"link_anonymous"})


def channel_values(channel: str, in_headline: bool = True) -> tuple[str, ...]:
    """The channel values a response adds to: its channel and the survey-wide ``*``, or only its channel
    for a response kept out of the headline (an anonymous share-link answer, docs/share-link.md)."""
    return (ALL, channel) if in_headline else (channel,)


def _signature(item: AnyResponse) -> Signature:
    at = item.first_answered_at
    assert at is not None
    day = at.date() if at.utcoffset() == _ZERO else at.astimezone(UTC).date()
    return item.survey_id, day, tuple(sorted(item.segments.items())), channel_values(item.channel, item.in_headline)


@lru_cache(maxsize=4096)
def _keys(signature: Signature) -> tuple[AggregateKey, ...]:
    survey_id, day, segment_values, channels = signature
    return tuple(
        AggregateKey(survey_id, granularity, period, segment, channel_value)
        for granularity, period in _day_periods(day)
        for segment in _segment_labels(segment_values)
        for channel_value in channels
    )


def contribution(item: AnyResponse | None) -> Counters:
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
    old: AnyResponse | None
    new: AnyResponse | None
    #: The counted score before and after (``None`` where the response did not count).
    old_score: int | None = field(init=False)
    new_score: int | None = field(init=False)
    #: The ledger item that records this transition as applied.
    ledger_bucket: str = field(init=False)

    @property
    def moves_counts(self) -> bool:
        """Whether the counted score changed (a first answer, a new score, or a removal)."""
        return self.old_score != self.new_score

    def deltas(self) -> dict[AggregateKey, Counters]:
        return coalesce((self,))

    def __post_init__(self) -> None:
        old, new = self.old, self.new
        object.__setattr__(self, "old_score", old.score if old is not None and old.is_counted else None)
        object.__setattr__(self, "new_score", new.score if new is not None and new.is_counted else None)
        object.__setattr__(self, "ledger_bucket", ledger_bucket(self.invite_id, self.record_time))


def ledger_bucket(invite_id: str, record_time: datetime) -> str:
    """The ledger item of a stream record: ``ledger#<epoch second of the record>#<shard of the invite>``.

    Deterministic per record (never Python's salted ``hash()``): a replay handled by another instance
    or after a deploy must find its claim in the same ledger item.
    """
    shard = zlib.crc32(invite_id.encode()) % LEDGER_BUCKETS
    return f"ledger#{int(record_time.timestamp())}#{shard:02d}"


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
        sides = ((transition.old, transition.old_score, -1), (transition.new, transition.new_score, 1))
        for item, score, sign in sides:
            if score is None or item is None:
                continue
            bucket = by_signature.setdefault(_signature(item), {})
            # The stored category is checked against the score where records enter: the score decides.
            category_name, score_name = _COUNTER_NAMES[score]
            bucket[category_name] = bucket.get(category_name, 0) + sign
            bucket[score_name] = bucket.get(score_name, 0) + sign
    # Sum per (survey, day, segment, channel) first: the four period keys of one day get the same sums.
    by_slice: dict[tuple[str, date, str, str], Counters] = {}
    for (survey_id, day, segment_values, channels), counters in by_signature.items():
        nonzero = {name: value for name, value in counters.items() if value}
        if not nonzero:
            continue
        for segment in _segment_labels(segment_values):
            for channel_value in channels:
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
        old_score, new_score = transition.old_score, transition.new_score
        if old_score == new_score:
            continue
        if transition.old is not None and old_score is not None:
            deltas[(transition.old.survey_id, _CATEGORY_NAMES[old_score])] -= 1
        if transition.new is not None and new_score is not None:
            deltas[(transition.new.survey_id, _CATEGORY_NAMES[new_score])] += 1
    return Counter({key: value for key, value in deltas.items() if value})
