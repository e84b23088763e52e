"""Scoring a batch of responses-table stream records: classify, aggregate exactly once, publish events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from nps.events.models import (
    COMMENT_RECEIVED,
    RESPONSE_RETRACTED,
    RESPONSE_SCORED,
    CommentReceivedDetail,
    ResponseItem,
    ResponseRetractedDetail,
    ResponseScoredDetail,
)
from nps.events.patterns import is_resurvey_wave
from nps.events.publisher import Event, Publisher
from nps.kernel.categories import categorize
from nps.kernel.streams import MalformedRecord
from nps.scoring.adapters.aggregates import CommitStats
from nps.scoring.aggregation import Transition


class AggregateStore(Protocol):
    def commit(self, transitions: Sequence[Transition], now: datetime) -> CommitStats: ...


def _image(raw: Mapping[str, Any] | None) -> ResponseItem | None:
    """The response in an image, or ``None`` for an image without a score (nothing to count yet)."""
    if not raw or raw.get("score") is None:
        return None
    return ResponseItem.model_validate(raw)


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """What one stream record means: a move in the counts and/or a new comment (either may be absent)."""

    transition: Transition | None
    comment: Event | None


def parse_record(
    event_name: str,
    keys: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
    new_image: Mapping[str, Any] | None,
    sequence_number: str | None,
    created_at: float | None,
) -> ParsedRecord:
    """Read a deserialized stream record: its count transition and its ``NPS Comment Received`` event.

    Raises :class:`MalformedRecord` (or a pydantic ``ValidationError``) for records that are not
    well-formed responses, so the batch reports them as failures instead of losing them.
    """
    transition, old, new = _parse(event_name, keys, old_image, new_image, sequence_number, created_at)
    return ParsedRecord(transition, comment_event(old, new))


def _parse(
    event_name: str,
    keys: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
    new_image: Mapping[str, Any] | None,
    sequence_number: str | None,
    created_at: float | None,
) -> tuple[Transition | None, ResponseItem | None, ResponseItem | None]:
    if event_name not in {"INSERT", "MODIFY", "REMOVE"}:
        raise MalformedRecord(f"unknown stream event {event_name!r}")
    if not sequence_number or created_at is None:
        raise MalformedRecord("stream record without sequence number or creation time")
    if not old_image and not new_image:
        raise MalformedRecord("stream record without images (the stream must be NEW_AND_OLD_IMAGES)")
    old = _image(old_image)
    new = None if event_name == "REMOVE" else _image(new_image)
    latest = new or old
    if latest is None:
        return None, old, new  # neither side has a score: nothing to count
    invite_id = str((keys or {}).get("invite_id", latest.invite_id))
    if any(item is not None and item.invite_id != invite_id for item in (old, new)):
        raise MalformedRecord("stream record keys do not match its images")
    for item in (old, new):
        if item is not None and item.score is not None and item.category not in (None, categorize(item.score)):
            raise MalformedRecord("stored category does not match the stored score")
    old_score = old.score if old is not None and old.is_counted else None
    new_score = new.score if new is not None and new.is_counted else None
    if old_score == new_score:
        return None, old, new  # a comment, or a write that did not change the counted score
    transition = Transition(
        invite_id=invite_id,
        # A removal is ordered after the last version it removes.
        version=latest.version + (1 if new is None else 0),
        record_time=datetime.fromtimestamp(float(created_at), UTC),
        sequence_number=sequence_number,
        old=old,
        new=new,
    )
    return transition, old, new


def _response_ids(item: ResponseItem) -> dict[str, Any]:
    """The ids and segment values every response event carries (never personal data)."""
    return {
        "survey_id": item.survey_id,
        "wave_id": item.wave_id,
        "invite_id": item.invite_id,
        "contact_id": item.contact_id,
        "channel": item.channel,
        "locale": item.locale,
        "segments": item.segments,
    }


def comment_event(old: ResponseItem | None, new: ResponseItem | None) -> Event | None:
    """``NPS Comment Received`` when a scored response gains a comment or its comment changes."""
    if new is None or new.score is None or not new.comment:
        return None
    commented_at = new.comment_at or new.answered_at or new.first_answered_at
    if commented_at is None:
        return None
    if old is not None and old.comment == new.comment:
        return None
    detail = CommentReceivedDetail(
        event_id=f"{new.invite_id}:{new.version}:comment",
        **_response_ids(new),
        score=new.score,
        category=categorize(new.score),
        comment_length=len(new.comment),
        version=new.version,
        commented_at=commented_at,
    )
    return Event(COMMENT_RECEIVED, detail)


def retracted_event(transition: Transition) -> Event | None:
    """``NPS Response Retracted`` when a counted answer stops counting (automated, or deleted)."""
    old = transition.old
    if old is None or old.score is None or transition.old_score is None or transition.new_score is not None:
        return None
    return Event(
        RESPONSE_RETRACTED,
        ResponseRetractedDetail(
            event_id=f"{old.invite_id}:{transition.version}:retracted",
            **_response_ids(old),
            previous_score=old.score,
            previous_category=categorize(old.score),
            reason="automated" if transition.new is not None else "removed",
            version=transition.version,
            retracted_at=transition.record_time,
        ),
    )


def scored_event(transition: Transition) -> Event | None:
    """``NPS Response Scored`` for a first answer or a changed score (not for removals)."""
    new = transition.new
    if new is None or new.score is None or not new.is_counted or not transition.moves_counts:
        return retracted_event(transition)
    assert new.first_answered_at is not None
    previous_score = transition.old_score
    category = categorize(new.score)
    previous_category = categorize(previous_score) if previous_score is not None else None
    detail = ResponseScoredDetail(
        event_id=f"{new.invite_id}:{new.version}",
        **_response_ids(new),
        score=new.score,
        category=category,
        previous_score=previous_score,
        previous_category=previous_category,
        category_changed=previous_category is not None and previous_category != category,
        category_entered=previous_category != category,
        version=new.version,
        first_answered_at=new.first_answered_at,
        answered_at=new.answered_at or new.first_answered_at,
    )
    return Event(RESPONSE_SCORED, detail)


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
        stats = self.store.commit([t for t in transitions if not _resurvey(t)], now)
        events = [e for e in (scored_event(t) for t in transitions) if e is not None]
        events += other_events
        published = self.publisher.publish(events) if events else 0
        return BatchResult(stats, published)
