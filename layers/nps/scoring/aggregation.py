"""Turning stream records into aggregate deltas (pure: no clients, no clocks).

A *transition* is one stream record: the response before and after a write. Its delta removes the old
image's contribution (category, score, CSAT and CES counters) and adds the new one's, for every
aggregate key the response belongs to: survey × granularity × period × segment (``*`` or
``dimension=value``, one dimension at a time; the chosen driver and each theme of the comment are
slices too, ``driver=<id>`` and ``theme=<id>``) ×
channel (``*`` or the channel; a response with ``in_headline`` false, an anonymous share-link answer, only
adds to its own channel). A response of a contact with an account also adds to the account's slice
(``account_id=<id>``, every channel, month and quarter only; a decision maker's answer also to the
``dm_*`` counters there: :mod:`nps.accounts.membership`). A batch's transitions are coalesced so that each
key is written once.

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
from itertools import compress
from operator import add
from typing import TYPE_CHECKING, NamedTuple

from nps.accounts.membership import (
    ACCOUNT_DIMENSION,
    ACCOUNT_GRANULARITIES,
    DECISION_MAKER,
    DECISION_MAKER_COUNTERS,
    account_label,
)
from nps.kernel.categories import SCORES, Category, categorize
from nps.kernel.periods import Granularity, period_keys
from nps.reasons.scales import (
    CES_COUNTERS,
    CES_MIN,
    CSAT_COUNTERS,
    CSAT_MIN,
    DRIVER_DIMENSION,
    RESERVED_DIMENSIONS,
    THEME_DIMENSION,
)

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
#: Every counter an aggregate item may hold: categories, scores, then the CSAT and CES answers per value
#: (``csat_1`` … ``csat_5``, ``ces_1`` … ``ces_7``; items written before them simply lack them).
COUNTERS: tuple[str, ...] = (*CATEGORY_COUNTERS.values(), *SCORE_COUNTERS, *CSAT_COUNTERS, *CES_COUNTERS)

Counters = dict[str, int]
#: Per score, the two counters a response with that score adds to.
_COUNTER_NAMES: tuple[tuple[str, str], ...] = tuple(
    (CATEGORY_COUNTERS[categorize(score)], SCORE_COUNTERS[score]) for score in SCORES
)
_CATEGORY_NAMES: tuple[str, ...] = tuple(categorize(score).value for score in SCORES)
_SCORE_COUNT = len(SCORES)
#: A batch's sums are one vector per signature: 11 scores, then 5 CSAT values, then 7 CES values.
_CSAT_AT = _SCORE_COUNT - CSAT_MIN
_CES_AT = _SCORE_COUNT + len(CSAT_COUNTERS) - CES_MIN
_VECTOR_SIZE = _SCORE_COUNT + len(CSAT_COUNTERS) + len(CES_COUNTERS)
#: The counter of each vector position past the scores.
_RATING_COUNTERS: tuple[str, ...] = (*CSAT_COUNTERS, *CES_COUNTERS)
#: Each category counter with the scores it sums (a slice of the per-score vector: 0-6, 7-8, 9-10).
_CATEGORY_SCORE_RANGES: tuple[tuple[str, tuple[int, int]], ...] = tuple(
    (name, (min(scores), max(scores) + 1))
    for category, name in CATEGORY_COUNTERS.items()
    for scores in [[score for score in SCORES if categorize(score) is category]]
)
_ZERO = timedelta(0)
#: An account's vector: the usual one, then its decision makers' detractors, passives and promoters.
_DM_AT = _VECTOR_SIZE
_ACCOUNT_VECTOR_SIZE = _VECTOR_SIZE + 3
#: Per score, the position of its category among the decision makers' counters.
_DM_POSITION: tuple[int, ...] = tuple(
    _DM_AT + (0 if categorize(score) is Category.DETRACTOR else 1 if categorize(score) is Category.PASSIVE else 2)
    for score in SCORES
)
_DM_NAMES: tuple[str, ...] = (
    DECISION_MAKER_COUNTERS[Category.DETRACTOR],
    DECISION_MAKER_COUNTERS[Category.PASSIVE],
    DECISION_MAKER_COUNTERS[Category.PROMOTER],
)
#: Dimensions a response's own segment values may not use: the slices of its reasons and its account.
_NOT_SEGMENTS = RESERVED_DIMENSIONS | {ACCOUNT_DIMENSION}


class AggregateKey(NamedTuple):
    """One aggregate item: a survey's counters for one period of one granularity, segment and channel.

    Equal, ordered and hashed by its five fields, in C (a named tuple: a batch looks keys up in dicts and
    caches hundreds of times; a ``Granularity`` is a ``StrEnum``, hashed and ordered as its text).
    """

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
    """Every key a counted response contributes to, by the period of its first answer (its account's
    month and quarter too, when it has an account and counts in the headline)."""
    assert item.first_answered_at is not None
    signature = _signature(item)
    yield from _keys(signature)
    if item.account_id is not None and item.in_headline:
        yield from _account_keys(signature[0], signature[1], item.account_id)


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
    day = at.date() if at.tzinfo is UTC or at.utcoffset() == _ZERO else at.astimezone(UTC).date()
    return item.survey_id, day, segment_values(item), channel_values(item.channel, item.in_headline)


def segment_values(item: AnyResponse) -> tuple[tuple[str, str], ...]:
    """The ``(dimension, value)`` slices a response adds to beside ``*``: its segment values, its driver
    (``driver=<id>``) and each theme of its comment (``theme=<id>``), sorted, each once.

    The ``driver=`` and ``theme=`` slices are the answers' only: a segment value of a dimension named
    ``driver`` or ``theme`` (an invite planned from a survey stored before those names were reserved,
    or a channel's own segment list) is left out, else it would count as a chosen driver or a theme,
    and an answer twice in one dimension; likewise a segment value named ``account_id``, whose slices are
    the accounts'."""
    segments = item.segments
    if DRIVER_DIMENSION in segments or THEME_DIMENSION in segments or ACCOUNT_DIMENSION in segments:
        segments = {name: value for name, value in segments.items() if name not in _NOT_SEGMENTS}
    driver, themes = item.driver, item.themes
    if driver is None and not themes:
        return tuple(sorted(segments.items()))
    pairs = set(segments.items())
    if driver is not None:
        pairs.add((DRIVER_DIMENSION, driver))
    pairs.update((THEME_DIMENSION, theme) for theme in themes)
    return tuple(sorted(pairs))


def reasons_of(item: AnyResponse | None) -> Reasons | None:
    """What a counted response adds beside its score (driver, CSAT, CES, themes) and where (its account and
    role); None when it does not count, so a change of any of them (or of whether it counts) is a change of
    the aggregates."""
    if item is None or not item.is_counted:
        return None
    return item.driver, item.csat, item.ces, item.themes, item.account_id, item.role


#: (driver, CSAT, CES, themes, account id, role) of a counted response.
Reasons = tuple[str | None, int | None, int | None, tuple[str, ...], str | None, str | None]


@lru_cache(maxsize=4096)
def _keys(signature: Signature) -> tuple[AggregateKey, ...]:
    survey_id, day, segment_values, channels = signature
    return tuple(
        key
        for segment in _segment_labels(segment_values)
        for channel_value in channels
        for key in _slice_keys(survey_id, day, segment, channel_value)
    )


@lru_cache(maxsize=8192)
def _account_keys(survey_id: str, day: date, account_id: str) -> tuple[AggregateKey, ...]:
    """The month and quarter keys of an account's slice (every channel) for one survey and day."""
    label = account_label(account_id)
    return tuple(
        AggregateKey(survey_id, granularity, period, label, ALL)
        for granularity, period in _day_periods(day)
        if granularity in ACCOUNT_GRANULARITIES
    )


@lru_cache(maxsize=8192)
def _slice_keys(survey_id: str, day: date, segment: str, channel: str) -> tuple[AggregateKey, ...]:
    """The four period keys (day, week, month, quarter) of one survey, day, segment and channel.

    Cached, so a batch meets the same key objects as the batches before it (dict and cache lookups
    then find them by identity).
    """
    return tuple(
        AggregateKey(survey_id, granularity, period, segment, channel) for granularity, period in _day_periods(day)
    )


def contribution(item: AnyResponse | None) -> Counters:
    """The counters one response adds to each of its keys (empty when it does not count)."""
    if item is None or not item.is_counted or item.score is None:
        return {}
    category = item.category or categorize(item.score)
    counters = {CATEGORY_COUNTERS[category]: 1, SCORE_COUNTERS[item.score]: 1}
    if item.csat is not None:
        counters[CSAT_COUNTERS[item.csat - CSAT_MIN]] = 1
    if item.ces is not None:
        counters[CES_COUNTERS[item.ces - CES_MIN]] = 1
    return counters


class _TransitionFields(NamedTuple):
    invite_id: str
    version: int
    record_time: datetime
    sequence_number: str
    old: AnyResponse | None
    new: AnyResponse | None
    #: The counted score before and after (``None`` where the response did not count).
    old_score: int | None
    new_score: int | None
    #: The ledger item that records this transition as applied.
    ledger_bucket: str
    #: The counted driver, CSAT, CES and themes before and after (``None`` where it did not count).
    old_reasons: Reasons | None
    new_reasons: Reasons | None


class Transition(_TransitionFields):
    """One stream record: the response before (``old``) and after (``new``) a write.

    Made from the first six fields; the counted scores and the ledger item are derived then. Immutable
    (a named tuple: made several times faster than a frozen dataclass, once per stream record).
    """

    __slots__ = ()

    def __new__(
        cls,
        invite_id: str,
        version: int,
        record_time: datetime,
        sequence_number: str,
        old: AnyResponse | None,
        new: AnyResponse | None,
    ) -> Transition:
        return cls.derived(
            invite_id,
            version,
            record_time,
            sequence_number,
            old,
            new,
            old.score if old is not None and old.is_counted else None,
            new.score if new is not None and new.is_counted else None,
            reasons_of(old),
            reasons_of(new),
        )

    @classmethod
    def derived(
        cls,
        invite_id: str,
        version: int,
        record_time: datetime,
        sequence_number: str,
        old: AnyResponse | None,
        new: AnyResponse | None,
        old_score: int | None,
        new_score: int | None,
        old_reasons: Reasons | None,
        new_reasons: Reasons | None,
    ) -> Transition:
        """The transition ``Transition(invite_id, ..., old, new)`` makes, given the counted scores and reasons
        its caller already derived (``old.score if old.is_counted``, :func:`reasons_of`; a test compares)."""
        return _tuple_new(
            cls,
            (
                invite_id,
                version,
                record_time,
                sequence_number,
                old,
                new,
                old_score,
                new_score,
                ledger_bucket(invite_id, record_time),
                old_reasons,
                new_reasons,
            ),
        )

    @property
    def moves_score(self) -> bool:
        """Whether the counted score changed (a first answer, a new score, or a removal)."""
        return self.old_score != self.new_score

    @property
    def moves_counts(self) -> bool:
        """Whether any aggregate changes: the counted score, or the driver, CSAT, CES or themes of a
        counted response."""
        return self.old_score != self.new_score or self.old_reasons != self.new_reasons

    def deltas(self) -> dict[AggregateKey, Counters]:
        return coalesce((self,))


_tuple_new = tuple.__new__


def ledger_bucket(invite_id: str, record_time: datetime) -> str:
    """The ledger item of a stream record: ``ledger#<epoch second of the record>#<shard of the invite>``.

    Deterministic per record (never Python's salted ``hash()``): a replay handled by another instance
    or after a deploy must find its claim in the same ledger item.
    """
    return _ledger_second(record_time) + _SHARD_TEXTS[zlib.crc32(invite_id.encode()) % LEDGER_BUCKETS]


def ledger_second(record_time: datetime) -> str:
    """The first part of a record's ledger item, ``ledger#<epoch second of the record>#``."""
    return _ledger_second(record_time)


def ledger_shard(invite_id: str) -> str:
    """The last part of a record's ledger item: the shard of its invite (``00`` to ``15``)."""
    return _SHARD_TEXTS[zlib.crc32(invite_id.encode()) % LEDGER_BUCKETS]


_SHARD_TEXTS = tuple(f"{shard:02d}" for shard in range(LEDGER_BUCKETS))


@lru_cache(maxsize=256)
def _ledger_second(record_time: datetime) -> str:
    # A batch's records share a few creation times (whole seconds): each prefix is written once.
    return f"ledger#{int(record_time.timestamp())}#"


@dataclass(slots=True)
class LedgerClaim:
    """The versions a batch applies for the invites of one ledger bucket."""

    min_versions: dict[str, int] = field(default_factory=dict)
    max_versions: dict[str, int] = field(default_factory=dict)

    def add(self, invite_id: str, version: int) -> None:
        low = self.min_versions.get(invite_id)
        if low is None or version < low:
            self.min_versions[invite_id] = version
        high = self.max_versions.get(invite_id)
        if high is None or version > high:
            self.max_versions[invite_id] = version


def coalesce(transitions: Iterable[Transition]) -> dict[AggregateKey, Counters]:
    """Sum the deltas of many transitions per key, dropping counters, and keys, whose sum is zero.

    Returns ``{key: {counter: delta}}``; keys with equal sums may share one counters dict (the periods of a
    slice, whose days fall in one week, month and quarter), so treat the dicts as read-only. Sums are kept
    per score, CSAT and CES value (a vector of 11 + 5 + 7 counts) until the end: a category's counter is
    the sum of its scores' counters. A response's driver and themes are slices (``driver=<id>``, ``theme=<id>``) beside
    its segment values, so an edit that changes them moves its counts between those slices.
    """
    # Per (survey, day, segment values, channel): responses that share it move exactly the same keys.
    by_signature: dict[Signature, list[int]] = {}
    # Per (survey, day, account): an account's answers, with its decision makers' categories.
    by_account: dict[tuple[str, date, str], list[int]] = {}
    for transition in transitions:
        # The stored category is checked against the score where records enter: the score decides.
        old_score, new_score = transition.old_score, transition.new_score
        if old_score is not None and transition.old is not None:
            _add(by_signature, transition.old, old_score, -1, by_account)
        if new_score is not None and transition.new is not None:
            _add(by_signature, transition.new, new_score, 1, by_account)
    # Then per (survey, day, segment, channel): one dimension at a time and all segments, this channel and
    # all channels. A stored vector is never changed (sums make new lists), so slices may share one.
    vectors_of: dict[tuple[str, date, str, str], list[list[int]]] = {}
    for (survey_id, day, pairs, channels), scores in by_signature.items():
        if not any(scores):
            continue
        for segment in _segment_labels(pairs):
            for channel_value in channels:
                slice_key = (survey_id, day, segment, channel_value)
                vectors = vectors_of.get(slice_key)
                if vectors is None:
                    vectors_of[slice_key] = [scores]
                else:
                    vectors.append(scores)
    # Each slice's sum, position by position, in C (a slice of one signature keeps that signature's vector).
    by_slice = {
        slice_key: vectors[0] if len(vectors) == 1 else list(map(sum, zip(*vectors, strict=True)))
        for slice_key, vectors in vectors_of.items()
    }
    # Then per key: the slice's four periods (days of one week, month or quarter share those keys).
    by_key: dict[AggregateKey, list[int]] = {}
    for slice_key, scores in by_slice.items():
        for key in _slice_keys(*slice_key):
            total = by_key.get(key)
            by_key[key] = scores if total is None else list(map(add, total, scores))
    counters_of: dict[int, Counters] = {}  # by id() of a vector that several keys share
    result: dict[AggregateKey, Counters] = {}
    for key, scores in by_key.items():
        counters = counters_of.get(id(scores))
        if counters is None:
            counters = counters_of[id(scores)] = _counters(scores)
        if counters:
            result[key] = counters  # shared by the keys of one vector: the writers build each once
    # Then each account's month and quarter (its days of one month share both keys).
    by_account_key: dict[AggregateKey, list[int]] = {}
    for (survey_id, day, account_id), sums in by_account.items():
        if not any(sums):
            continue
        for key in _account_keys(survey_id, day, account_id):
            total = by_account_key.get(key)
            by_account_key[key] = sums if total is None else list(map(add, total, sums))
    for key, sums in by_account_key.items():
        counters = _counters(sums)
        for name, value in zip(_DM_NAMES, sums[_DM_AT:], strict=True):
            if value:
                counters[name] = value
        if counters:
            result[key] = counters
    return result


def _add(
    by_signature: dict[Signature, list[int]],
    item: AnyResponse,
    score: int,
    sign: int,
    by_account: dict[tuple[str, date, str], list[int]],
) -> None:
    """Add (``sign`` 1) or remove (-1) one counted response's score, CSAT and CES to its signature's sums,
    and to its account's (with its category among the decision makers' when it is one)."""
    # _signature(item) and _add_answer(...), inline: once or twice per stream record.
    at = item.first_answered_at
    assert at is not None
    day = at.date() if at.tzinfo is UTC or at.utcoffset() == _ZERO else at.astimezone(UTC).date()
    segments, channel = item.segments, item.channel
    if item.driver is None and not item.themes and _NOT_SEGMENTS.isdisjoint(segments):
        pairs = tuple(sorted(segments.items()))
    else:
        pairs = segment_values(item)
    signature = (item.survey_id, day, pairs, (ALL, channel) if item.in_headline else (channel,))
    sums = by_signature.get(signature)
    if sums is None:
        sums = by_signature[signature] = [0] * _VECTOR_SIZE
    sums[score] += sign
    csat, ces = item.csat, item.ces
    if csat is not None:
        sums[_CSAT_AT + csat] += sign
    if ces is not None:
        sums[_CES_AT + ces] += sign
    account_id = item.account_id
    if account_id is None or not item.in_headline:
        return
    account_key = (signature[0], signature[1], account_id)
    sums = by_account.get(account_key)
    if sums is None:
        sums = by_account[account_key] = [0] * _ACCOUNT_VECTOR_SIZE
    _add_answer(sums, item, score, sign)
    if item.role == DECISION_MAKER:
        sums[_DM_POSITION[score]] += sign


def _add_answer(sums: list[int], item: AnyResponse, score: int, sign: int) -> None:
    """Add ``sign`` to the score's, the CSAT's and the CES's positions of a vector of sums."""
    sums[score] += sign
    if item.csat is not None:
        sums[_CSAT_AT + item.csat] += sign
    if item.ces is not None:
        sums[_CES_AT + item.ces] += sign


def _counters(sums: list[int]) -> Counters:
    """The non-zero counters of a vector of deltas: categories first, then scores, CSAT and CES values."""
    counters: Counters = {}
    for name, (low, high) in _CATEGORY_SCORE_RANGES:
        value = sum(sums[low:high])
        if value:
            counters[name] = value
    # The other non-zero positions, picked in C: their names in order, with their values (ints: 0 is false).
    counters.update(zip(compress(_VECTOR_COUNTERS, sums), filter(None, sums[:_VECTOR_SIZE]), strict=True))
    return counters


#: The counter of each position of a vector of sums (scores, then CSAT and CES values).
_VECTOR_COUNTERS: tuple[str, ...] = (*SCORE_COUNTERS, *_RATING_COUNTERS)


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
    deltas: dict[tuple[str, str], int] = {}  # a plain dict while counting: a Counter's misses are Python calls
    get = deltas.get
    for transition in transitions:
        old_score, new_score = transition.old_score, transition.new_score
        if old_score == new_score:
            continue
        if transition.old is not None and old_score is not None:
            key = (transition.old.survey_id, _CATEGORY_NAMES[old_score])
            deltas[key] = get(key, 0) - 1
        if transition.new is not None and new_score is not None:
            key = (transition.new.survey_id, _CATEGORY_NAMES[new_score])
            deltas[key] = get(key, 0) + 1
    return Counter({key: value for key, value in deltas.items() if value})
