"""Scoring a batch of responses-table stream records: classify, aggregate exactly once, publish events.

Records are validated once, where they enter (:mod:`nps.scoring.records`); past that point the batch
works on plain slotted values. Event details are written as JSON text once, by the typed builders of
:mod:`nps.events.details` (the contract models' fields and formats; a test compares them byte for byte),
so a batch defines no pydantic model and serialises nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from nps.events.details import answer_scored, comment_received, response_retracted
from nps.events.names import COMMENT_RECEIVED, RESPONSE_RETRACTED, RESPONSE_SCORED
from nps.events.patterns import RESURVEY_WAVE_PREFIX, is_resurvey_wave
from nps.events.publisher import Event, Publisher
from nps.kernel.categories import SCORES, Category, categorize
from nps.kernel.streams import MalformedRecord
from nps.scoring.aggregation import Transition, ledger_second, ledger_shard
from nps.scoring.records import Image, Response, response_from_image

if TYPE_CHECKING:
    from nps.events.models import ResponseItem
    from nps.scoring.adapters.aggregates import CommitStats

    AnyResponse = Response | ResponseItem

_tuple_new = tuple.__new__
_EVENT_NAMES = frozenset({"INSERT", "MODIFY", "REMOVE"})
#: The category of each score (scores are checked to be 0-10 where records enter).
_CATEGORIES: tuple[Category, ...] = tuple(categorize(score) for score in SCORES)


_new_object = object.__new__
_set_detail_type = Event.__dict__["detail_type"].__set__
_set_detail = Event.__dict__["detail"].__set__
_set_resources = Event.__dict__["resources"].__set__


class AggregateStore(Protocol):
    def commit(self, transitions: Sequence[Transition], now: datetime) -> CommitStats: ...


class ParsedRecord(NamedTuple):
    """What one stream record means: a move in the counts and/or a new comment (either may be absent)."""

    transition: Transition | None
    comment: Event | None


def _parsed(transition: Transition | None, comment: Event | None) -> ParsedRecord:
    # ParsedRecord(transition, comment) without the named tuple's Python-level __new__.
    return _tuple_new(ParsedRecord, (transition, comment))


def parse_record(
    event_name: str,
    keys: Image | None,
    old_image: Image | None,
    new_image: Image | None,
    sequence_number: str | None,
    created_at: float | None,
) -> ParsedRecord:
    """Read one stream record (images in DynamoDB JSON): its count transition and its comment event.

    ``created_at`` is the record's ``ApproximateCreationDateTime`` (epoch seconds). Raises
    :class:`MalformedRecord` for records that are not well-formed responses, so the batch reports them
    as failures instead of losing them.
    """
    if event_name not in _EVENT_NAMES:
        raise MalformedRecord(f"unknown stream event {event_name!r}")
    if not sequence_number or created_at is None:
        raise MalformedRecord("stream record without sequence number or creation time")
    if not old_image and not new_image:
        raise MalformedRecord("stream record without images (the stream must be NEW_AND_OLD_IMAGES)")
    old = response_from_image(old_image) if old_image else None  # an INSERT has none
    new = None if event_name == "REMOVE" else response_from_image(new_image)
    latest = new or old
    if latest is None:
        return _parsed(None, None)  # neither side has a score: nothing to count
    key = (keys or _NO_KEYS).get("invite_id")
    invite_id = latest.invite_id if key is None else key.get("S")
    # Each side's fields at once (a response is a named tuple); ``Response.is_counted`` and :func:`reasons_of`
    # inline (a test compares with ``Transition(...)``). The decoder read the score as 0-10.
    old_score = old_reasons = new_score = new_reasons = comment = None
    if old is not None:
        (old_invite, _, _, _, _, _, _, score, category, _, _, first_answered_at, _, _, _, counted, _, _,
         driver, csat, ces, themes, account_id, role) = old  # fmt: skip
        if old_invite != invite_id:
            raise MalformedRecord("stream record keys do not match its images")
        if score is not None and category is not None and category is not _CATEGORIES[score]:
            raise MalformedRecord("stored category does not match the stored score")
        if counted and score is not None and first_answered_at is not None:
            old_score = score
            old_reasons = (driver, csat, ces, themes, account_id, role)
    if new is not None:
        (new_invite, _, _, _, _, _, _, score, category, new_comment, _, first_answered_at, _, _, _, counted, _, _,
         driver, csat, ces, themes, account_id, role) = new  # fmt: skip
        if new_invite != invite_id:
            raise MalformedRecord("stream record keys do not match its images")
        if score is not None and category is not None and category is not _CATEGORIES[score]:
            raise MalformedRecord("stored category does not match the stored score")
        if new_comment:
            comment = comment_event(old, new)
        if counted and score is not None and first_answered_at is not None:
            new_score = score
            new_reasons = (driver, csat, ces, themes, account_id, role)
    if old_score == new_score and old_reasons == new_reasons:
        # A comment with the same themes, or a write that changed nothing counted (score, driver, CSAT,
        # CES, themes).
        return _parsed(None, comment)
    invite_id = str(invite_id)
    record_time, ledger_second = _record_moment(created_at)
    # Transition.derived(...), its ledger item from the record's cached second (a test compares them).
    return _parsed(
        _tuple_new(
            Transition,
            (
                invite_id,
                latest.version + (1 if new is None else 0),  # a removal is ordered after the last version it removes
                record_time,
                sequence_number,
                old,
                new,
                old_score,
                new_score,
                ledger_second + ledger_shard(invite_id),
                old_reasons,
                new_reasons,
            ),
        ),
        comment,
    )


_NO_KEYS: Image = {}
#: Per ``ApproximateCreationDateTime`` as the record gives it: its UTC time and ledger second (a batch's
#: records share a few). Cleared when full.
_RECORD_MOMENTS: dict[Any, tuple[datetime, str]] = {}
_MAX_RECORD_MOMENTS = 1024


def _record_moment(created_at: Any) -> tuple[datetime, str]:
    """:func:`_record_time` of ``created_at`` and its :func:`~nps.scoring.aggregation.ledger_second`."""
    try:
        moment = _RECORD_MOMENTS.get(created_at)
    except TypeError:  # unhashable: not a number either
        moment = None
    if moment is None:
        record_time = _record_time(created_at)
        moment = (record_time, ledger_second(record_time))
        if len(_RECORD_MOMENTS) >= _MAX_RECORD_MOMENTS:
            _RECORD_MOMENTS.clear()
        _RECORD_MOMENTS[created_at] = moment
    return moment


def _record_time(created_at: Any) -> datetime:
    """A record's ``ApproximateCreationDateTime`` (epoch seconds) as a UTC time; raises
    :class:`MalformedRecord` for an unreadable one."""
    try:
        return _utc_time(float(created_at))
    except (TypeError, ValueError, OverflowError):
        raise MalformedRecord("stream record with an unreadable creation time") from None


@lru_cache(maxsize=256)
def _utc_time(seconds: float) -> datetime:
    # A batch's records share a few creation times: each is converted once.
    return datetime.fromtimestamp(seconds, UTC)


def comment_event(old: AnyResponse | None, new: AnyResponse | None) -> Event | None:
    """``NPS Comment Received`` when a scored response gains a comment or its comment changes."""
    if new is None or new.score is None or not new.comment:
        return None
    commented_at = new.comment_at or new.answered_at or new.first_answered_at
    if commented_at is None:
        return None
    if old is not None and old.comment == new.comment:
        return None
    detail = comment_received(
        new,
        event_id=f"{new.invite_id}:{new.version}:comment",
        score=new.score,
        category=_CATEGORIES[new.score],
        comment_length=len(new.comment),
        version=new.version,
        commented_at=commented_at,
        driver=new.driver,
        csat=new.csat,
        ces=new.ces,
        themes=new.themes,
    )
    return Event(COMMENT_RECEIVED, detail)


def retracted_event(transition: Transition) -> Event | None:
    """``NPS Response Retracted`` when a counted answer stops counting (automated, or deleted)."""
    old = transition.old
    if old is None or old.score is None or transition.old_score is None or transition.new_score is not None:
        return None
    detail = response_retracted(
        old,
        event_id=f"{old.invite_id}:{transition.version}:retracted",
        previous_score=old.score,
        previous_category=_CATEGORIES[old.score],
        reason="automated" if transition.new is not None else "removed",
        version=transition.version,
        retracted_at=transition.record_time,
    )
    return Event(RESPONSE_RETRACTED, detail)


def scored_event(transition: Transition) -> Event | None:
    """``NPS Response Scored`` for a first answer or a changed score (not for removals)."""
    new = transition.new
    score = transition.new_score
    previous_score = transition.old_score
    if new is None or score is None or previous_score == score:
        return retracted_event(transition)
    if type(new) is Response:
        # The stream's own responses (most calls): their fields in order, read at once.
        (invite_id, survey_id, wave_id, contact_id, channel, locale, segments, _, _, _, version, first_answered_at,
         answered_at, _, _, _, _, _, driver, csat, ces, themes, _, _) = new  # fmt: skip
    else:
        invite_id, survey_id, wave_id, contact_id = new.invite_id, new.survey_id, new.wave_id, new.contact_id
        channel, locale, segments, version = new.channel, new.locale, new.segments, new.version
        first_answered_at, answered_at = new.first_answered_at, new.answered_at
        driver, csat, ces, themes = new.driver, new.csat, new.ces, new.themes
    assert first_answered_at is not None  # a counted score has its first answer's time
    detail = answer_scored(
        survey_id,
        wave_id,
        invite_id,
        contact_id,
        channel,
        locale,
        segments,
        score,
        previous_score,
        version,
        first_answered_at,
        answered_at,
        driver,
        csat,
        ces,
        themes,
    )
    # Event(RESPONSE_SCORED, detail) without the frozen dataclass's generated __init__: its slots, set once.
    event = _new_object(Event)
    _set_detail_type(event, RESPONSE_SCORED)
    _set_detail(event, detail)
    _set_resources(event, ())
    return event


def _resurvey(transition: Transition) -> bool:
    item = transition.new or transition.old
    return item is not None and is_resurvey_wave(item.wave_id)


@dataclass(frozen=True, slots=True)
class BatchResult:
    commit: CommitStats
    events_published: int


class ScoringService:
    def __init__(self, store: AggregateStore, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def apply(
        self, transitions: Sequence[Transition], now: datetime, other_events: Sequence[Event] = ()
    ) -> BatchResult:
        """Commit the aggregates (exactly once), then publish the events (at least once).

        Events are published for every transition in the batch, replays included: if a previous
        attempt committed but failed to publish, this is what delivers them. Subscribers dedupe on
        ``detail.event_id``.
        """
        # Re-survey answers resolve their follow-up (their events go out) but stay out of the aggregates.
        stats = self.store.commit(
            # _resurvey(t), inline: once per record.
            [
                t
                for t in transitions
                if (item := t.new or t.old) is None or not item.wave_id.startswith(RESURVEY_WAVE_PREFIX)
            ],
            now,
        )
        events = [e for t in transitions if (e := scored_event(t)) is not None]
        events += other_events
        published = self.publisher.publish(events) if events else 0
        return BatchResult(stats, published)


def parse_stream_record(raw: Mapping[str, Any]) -> ParsedRecord:
    """:func:`parse_record` of one record as Lambda delivers it (``eventName`` and ``dynamodb``)."""
    stream = raw.get("dynamodb")
    if not isinstance(stream, dict):
        raise MalformedRecord("stream record without a dynamodb section")
    return parse_record(
        str(raw.get("eventName")),
        stream.get("Keys"),
        stream.get("OldImage"),
        stream.get("NewImage"),
        stream.get("SequenceNumber"),
        stream.get("ApproximateCreationDateTime"),
    )
