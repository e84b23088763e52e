"""Event details as plain JSON text, built once, without pydantic.

The models in :mod:`nps.events.models` stay the contract (JSON Schemas, docs). The functions that publish
many events, or must start fast, build their details here from values checked where they entered:

* the score function's answer events (``NPS Response Scored``, ``NPS Response Retracted``, ``NPS Comment
  Received``), a hundred or more per stream batch, from responses the stream decoder validated
  (:mod:`nps.scoring.records`). Writing their JSON from a template (every string through the JSON
  encoder's own escaping) costs a fraction of building a dict and serialising it;
* ``NPS Contact Unsubscribed`` and ``NPS Invite Bounced``, from an invite read back from our own table,
  an SES notification parsed field by field, or a suppression the unsubscribe wrote. Defining and building
  the models there cost those functions about 60–90 ms of cold start (pydantic itself, the model classes,
  their first schema build) for no check the input had not had.

Every builder gives the models' own JSON, byte for byte: ``tests/unit/events/test_plain_details.py``
validates their output with the models and compares it with the models' serialisation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, Literal, Protocol

from nps.events.names import ID_PATTERN
from nps.kernel.categories import SCORES, Category, categorize

SCHEMA_VERSION = "1.0"
#: :data:`nps.events.fields.Id`.
_ID = re.compile(ID_PATTERN)
CHANNELS = ("email", "sms")
UNSUBSCRIBE_METHODS = ("link", "one_click", "sms_stop", "complaint")
BounceType = Literal["permanent", "transient", "complaint"]


@dataclass(frozen=True, slots=True)
class PlainDetail:
    """An event detail as its JSON text (compact, non-ASCII kept, keys in the model's field order).

    Has the one method the publisher calls on a detail (:class:`nps.events.publisher.Detail`), so it
    goes wherever a contract model does. Build it with this module's functions (or :meth:`of`).
    """

    text: str

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> PlainDetail:
        """The detail of JSON-ready ``data``, written as pydantic's ``model_dump_json`` writes a model."""
        return cls(json.dumps(data, separators=(",", ":"), ensure_ascii=False))

    def model_dump_json(self) -> str:
        """The JSON text."""
        return self.text


_new_object = object.__new__
#: The slot of :attr:`PlainDetail.text` (a frozen dataclass's fields are set through their slots).
_set_text = PlainDetail.__dict__["text"].__set__


def json_timestamp(at: datetime) -> str:
    """``at`` as pydantic serialises a ``datetime``: ISO-8601, ``Z`` for UTC, microseconds only when set."""
    known = _READ_TIMES.get(id(at))
    if known is not None and known[0] is at:
        return known[1]
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


#: Times read from text of our own form (``2026-03-10T09:00:17.020Z``) with their JSON text, by ``id()`` of
#: the ``datetime`` (kept with it, so an id is never taken for another object's). ``isoformat`` costs more
#: than the rest of an answer event, and the score stream reads two such times per record.
_READ_TIMES: dict[int, tuple[datetime, str]] = {}
#: About 2 MB at most; a clear (every few dozen batches of 100) costs speed, never a value.
_MAX_READ_TIMES = 8_192


def read_time(text: str) -> datetime:
    """``datetime.fromisoformat(text)``; for UTC text with milliseconds, as :func:`~nps.kernel.periods.iso_timestamp`
    writes it, :func:`json_timestamp` then gives the JSON text without formatting the value again.

    Raises ``ValueError`` for text that is not an ISO 8601 time.
    """
    at = datetime.fromisoformat(text)
    # The separators of ``2026-03-10T09:00:17.020Z`` (every third character from the fifth) and the ``Z``.
    if len(text) == 24 and text[4:20:3] == "--T::." and text[23] == "Z":
        # Parsed, so the other characters are digits: the JSON text has microseconds, or none when zero.
        if len(_READ_TIMES) >= _MAX_READ_TIMES:
            _READ_TIMES.clear()
        _READ_TIMES[id(at)] = (at, f"{text[:23]}000Z" if at.microsecond else f"{text[:19]}Z")
    return at


def contact_unsubscribed(
    *,
    event_id: str,
    contact_id: str,
    survey_id: str | None,
    wave_id: str | None,
    invite_id: str | None,
    channel: str,
    method: str,
    unsubscribed_at: datetime,
) -> PlainDetail:
    """The detail of ``NPS Contact Unsubscribed`` (:class:`nps.events.models.ContactUnsubscribedDetail`)."""
    return PlainDetail.of(
        {
            "schema_version": SCHEMA_VERSION,
            "event_id": event_id,
            "contact_id": contact_id,
            "survey_id": survey_id,
            "wave_id": wave_id,
            "invite_id": invite_id,
            "channel": channel,
            "method": method,
            "unsubscribed_at": json_timestamp(unsubscribed_at),
        }
    )


def invite_bounced(
    *,
    event_id: str,
    contact_id: str,
    survey_id: str,
    wave_id: str,
    invite_id: str,
    bounce_type: BounceType,
    suppressed: bool,
    bounced_at: datetime,
) -> PlainDetail:
    """The detail of ``NPS Invite Bounced`` (:class:`nps.events.models.InviteBouncedDetail`)."""
    return PlainDetail.of(
        {
            "schema_version": SCHEMA_VERSION,
            "event_id": event_id,
            "contact_id": contact_id,
            "survey_id": survey_id,
            "wave_id": wave_id,
            "invite_id": invite_id,
            "channel": "email",
            "bounce_type": bounce_type,
            "suppressed": suppressed,
            "bounced_at": json_timestamp(bounced_at),
        }
    )


def referral_clicked(
    *,
    survey_id: str,
    wave_id: str,
    invite_id: str,
    contact_id: str,
    channel: str,
    locale: str,
    segments: Mapping[str, str],
    target: str,
    clicked_at: datetime,
) -> PlainDetail:
    """The detail of ``NPS Referral Clicked`` (:class:`nps.events.models.ReferralClickedDetail`)."""
    return PlainDetail.of(
        {
            "schema_version": SCHEMA_VERSION,
            "event_id": f"{invite_id}:clicked:{target}",
            "survey_id": survey_id,
            "wave_id": wave_id,
            "invite_id": invite_id,
            "contact_id": contact_id,
            "channel": channel,
            "locale": locale,
            "segments": dict(segments),
            "target": target,
            "clicked_at": json_timestamp(clicked_at),
        }
    )


# -- answer events (the score function) ----------------------------------------------------------------
# Every string goes through the JSON encoder's own escaping (``encode_basestring``, what ``json.dumps``
# uses with ``ensure_ascii=False``); numbers, booleans and category names are written as JSON writes them.


def _number(value: int | None) -> str:
    return "null" if value is None else str(int(value))


_CATEGORY_JSON = {category: f'"{category.value}"' for category in Category}
#: The category of each score, 0-10.
SCORE_CATEGORIES: tuple[Category, ...] = tuple(categorize(score) for score in SCORES)


def _category(value: Category | None) -> str:
    return "null" if value is None else _CATEGORY_JSON[value]


@lru_cache(maxsize=4096)
def _survey_fields(survey_id: str, wave_id: str) -> str:
    # A batch holds a few surveys and waves: their part of the JSON is written once per process.
    return f',"survey_id":{encode_basestring(survey_id)},"wave_id":{encode_basestring(wave_id)}'


@lru_cache(maxsize=4096)
def _audience_fields(channel: str, locale: str, pairs: tuple[tuple[str, str], ...]) -> str:
    # A survey has a handful of channel, locale and segment value combinations: each is written once.
    segments = json.dumps(dict(pairs), separators=(",", ":"), ensure_ascii=False)
    return f',"channel":{encode_basestring(channel)},"locale":{encode_basestring(locale)},"segments":{segments}'


class AnswerIds(Protocol):
    """What every answer event copies from its response (:class:`nps.events.models.AnswerDetail`'s fields
    after ``event_id``); the score stream's responses (:class:`nps.scoring.records.Response`) have them."""

    @property
    def survey_id(self) -> str: ...
    @property
    def wave_id(self) -> str: ...
    @property
    def invite_id(self) -> str: ...
    @property
    def contact_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def locale(self) -> str: ...
    @property
    def segments(self) -> Mapping[str, str]: ...


def _answer_fields(event_id: str, ids: AnswerIds) -> str:
    """The opening of an answer event's JSON (:class:`nps.events.models.AnswerDetail`), without its ``}``."""
    return (
        f'{{"schema_version":"{SCHEMA_VERSION}","event_id":{encode_basestring(event_id)}'
        f"{_survey_fields(ids.survey_id, ids.wave_id)}"
        f',"invite_id":{encode_basestring(ids.invite_id)},"contact_id":{encode_basestring(ids.contact_id)}'
        f"{_audience_fields(ids.channel, ids.locale, tuple(ids.segments.items()))}"
    )


_NO_REASONS_JSON = ',"driver":null,"csat":null,"ces":null,"themes":[]'


def _reasons_json(driver: str | None, csat: int | None, ces: int | None, themes: tuple[str, ...]) -> str:
    """The follow-up answers and themes of an answer event (its last fields), with their leading comma."""
    if driver is None and csat is None and ces is None and not themes:
        return _NO_REASONS_JSON  # most answers: a score alone
    listed = ",".join(encode_basestring(theme) for theme in themes)
    return (
        f',"driver":{"null" if driver is None else encode_basestring(driver)},'
        f'"csat":{"null" if csat is None else f"{csat:d}"},"ces":{"null" if ces is None else f"{ces:d}"},'
        f'"themes":[{listed}]'
    )


def response_scored(
    ids: AnswerIds,
    *,
    event_id: str,
    score: int,
    category: Category,
    previous_score: int | None,
    previous_category: Category | None,
    category_changed: bool,
    category_entered: bool,
    version: int,
    first_answered_at: datetime,
    answered_at: datetime,
    driver: str | None = None,
    csat: int | None = None,
    ces: int | None = None,
    themes: tuple[str, ...] = (),
) -> PlainDetail:
    """The detail of ``NPS Response Scored`` (:class:`nps.events.models.ResponseScoredDetail`)."""
    answer = _answer_fields(event_id, ids)
    first = json_timestamp(first_answered_at)
    answered = first if answered_at is first_answered_at else json_timestamp(answered_at)
    # Numbers inline (``:d`` writes an int as ``str(int(n))`` does): one event per scored record.
    previous = "null" if previous_score is None else f"{previous_score:d}"
    # PlainDetail(text) without its generated __init__ (one event per scored record): set its one slot.
    detail = _new_object(PlainDetail)
    _set_text(
        detail,
        f'{answer},"score":{score:d},"category":{_CATEGORY_JSON[category]},'
        f'"previous_score":{previous},"previous_category":{_category(previous_category)},'
        f'"category_changed":{"true" if category_changed else "false"},'
        f'"category_entered":{"true" if category_entered else "false"},"version":{version:d},'
        f'"first_answered_at":"{first}","answered_at":"{answered}"'
        f"{_reasons_json(driver, csat, ces, themes)}}}",
    )
    return detail


#: Per score: its JSON fields in an answer event (``,"score":9,"category":"promoter"``).
_SCORE_FIELDS: tuple[str, ...] = tuple(
    f',"score":{score},"category":{_category(categorize(score))}' for score in SCORES
)


def _move_fields(previous: int | None, score: int) -> str:
    """The previous score's fields and the two category flags of ``NPS Response Scored`` (``category_changed``:
    a previous category that differs; ``category_entered``: no previous category, or another one)."""
    category = SCORE_CATEGORIES[score]
    before = None if previous is None else SCORE_CATEGORIES[previous]
    changed = before is not None and before is not category
    return (
        f',"previous_score":{_number(previous)},"previous_category":{_category(before)},'
        f'"category_changed":{"true" if changed else "false"},'
        f'"category_entered":{"true" if before is not category else "false"}'
    )


#: :func:`_move_fields` of every (previous score or None, score).
_MOVE_FIELDS: dict[tuple[int | None, int], str] = {
    (previous, score): _move_fields(previous, score) for previous in (None, *SCORES) for score in SCORES
}


def answer_scored(
    survey_id: str,
    wave_id: str,
    invite_id: str,
    contact_id: str,
    channel: str,
    locale: str,
    segments: Mapping[str, str],
    score: int,
    previous_score: int | None,
    version: int,
    first_answered_at: datetime,
    answered_at: datetime | None,
    driver: str | None,
    csat: int | None,
    ces: int | None,
    themes: tuple[str, ...],
) -> PlainDetail:
    """:func:`response_scored` for a first answer or a changed score, from the answer's fields in order.

    The score function's builder (one call per scored stream record): the event id is
    ``<invite_id>:<version>``, the categories and their flags follow from ``score`` and ``previous_score``
    (0-10, as the stream decoder checked them), and ``answered_at`` None is the first answer's time.
    Gives exactly the text :func:`response_scored` gives for the same values (a property test compares).
    """
    first = json_timestamp(first_answered_at)
    answered = first if answered_at is first_answered_at or answered_at is None else json_timestamp(answered_at)
    reasons = (
        _NO_REASONS_JSON
        if driver is None and csat is None and ces is None and not themes
        else _reasons_json(driver, csat, ces, themes)
    )
    detail = _new_object(PlainDetail)
    _set_text(
        detail,
        f'{{"schema_version":"{SCHEMA_VERSION}","event_id":{encode_basestring(f"{invite_id}:{version:d}")}'
        f"{_survey_fields(survey_id, wave_id)}"
        f',"invite_id":{encode_basestring(invite_id)},"contact_id":{encode_basestring(contact_id)}'
        f"{_audience_fields(channel, locale, tuple(segments.items()))}{_SCORE_FIELDS[score]}"
        f'{_MOVE_FIELDS[previous_score, score]},"version":{version:d},'
        f'"first_answered_at":"{first}","answered_at":"{answered}"{reasons}}}',
    )
    return detail


def comment_received(
    ids: AnswerIds,
    *,
    event_id: str,
    score: int,
    category: Category,
    comment_length: int,
    version: int,
    commented_at: datetime,
    driver: str | None = None,
    csat: int | None = None,
    ces: int | None = None,
    themes: tuple[str, ...] = (),
) -> PlainDetail:
    """The detail of ``NPS Comment Received`` (:class:`nps.events.models.CommentReceivedDetail`)."""
    answer = _answer_fields(event_id, ids)
    return PlainDetail(
        f'{answer},"score":{_number(score)},"category":{_category(category)},'
        f'"comment_length":{_number(comment_length)},"version":{_number(version)},'
        f'"commented_at":"{json_timestamp(commented_at)}"{_reasons_json(driver, csat, ces, themes)}}}'
    )


def response_retracted(
    ids: AnswerIds,
    *,
    event_id: str,
    previous_score: int,
    previous_category: Category,
    reason: Literal["automated", "removed"],
    version: int,
    retracted_at: datetime,
) -> PlainDetail:
    """The detail of ``NPS Response Retracted`` (:class:`nps.events.models.ResponseRetractedDetail`)."""
    answer = _answer_fields(event_id, ids)
    return PlainDetail(
        f'{answer},"previous_score":{_number(previous_score)},'
        f'"previous_category":{_category(previous_category)},"reason":{encode_basestring(reason)},'
        f'"version":{_number(version)},"retracted_at":"{json_timestamp(retracted_at)}"}}'
    )


def is_id(value: object) -> bool:
    """Whether ``value`` is an id as the contract defines it (1–64 letters, digits, ``_`` or ``-``)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None
