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
from nps.kernel.categories import Category

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


def json_timestamp(at: datetime) -> str:
    """``at`` as pydantic serialises a ``datetime``: ISO-8601, ``Z`` for UTC, microseconds only when set."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


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


def _reasons_json(driver: str | None, csat: int | None, ces: int | None, themes: tuple[str, ...]) -> str:
    """The follow-up answers and themes of an answer event (its last fields), with their leading comma."""
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
    return PlainDetail(
        f'{answer},"score":{score:d},"category":{_CATEGORY_JSON[category]},'
        f'"previous_score":{previous},"previous_category":{_category(previous_category)},'
        f'"category_changed":{"true" if category_changed else "false"},'
        f'"category_entered":{"true" if category_entered else "false"},"version":{version:d},'
        f'"first_answered_at":"{first}","answered_at":"{answered}"'
        f"{_reasons_json(driver, csat, ces, themes)}}}"
    )


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
