"""The plain event details are the contract's JSON: the models accept them and write them alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from nps.events.details import (
    UNSUBSCRIBE_METHODS,
    PlainDetail,
    comment_received,
    contact_unsubscribed,
    invite_bounced,
    json_timestamp,
    response_retracted,
    response_scored,
)
from nps.events.models import (
    CommentReceivedDetail,
    ContactUnsubscribedDetail,
    InviteBouncedDetail,
    ResponseRetractedDetail,
    ResponseScoredDetail,
)
from nps.kernel.categories import categorize

IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]),
)


@given(IDS, st.none() | IDS, st.none() | IDS, st.none() | IDS, st.sampled_from(["email", "sms"]),
       st.sampled_from(UNSUBSCRIBE_METHODS), TIMES)  # fmt: skip
def test_contact_unsubscribed_is_the_models_json(
    contact: str, survey: str | None, wave: str | None, invite: str | None, channel: str, method: str, at: datetime
) -> None:
    plain = contact_unsubscribed(
        event_id=f"{invite}:unsubscribed:{method}", contact_id=contact, survey_id=survey, wave_id=wave,
        invite_id=invite, channel=channel, method=method, unsubscribed_at=at,
    )  # fmt: skip
    model = ContactUnsubscribedDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()
    assert model.unsubscribed_at == at


@given(IDS, IDS, IDS, IDS, st.sampled_from(["permanent", "transient", "complaint"]), st.booleans(), TIMES)
def test_invite_bounced_is_the_models_json(
    contact: str, survey: str, wave: str, invite: str, kind: str, suppressed: bool, at: datetime
) -> None:
    plain = invite_bounced(
        event_id=f"{invite}:bounced:{kind}", contact_id=contact, survey_id=survey, wave_id=wave, invite_id=invite,
        bounce_type=kind, suppressed=suppressed, bounced_at=at,  # type: ignore[arg-type]
    )  # fmt: skip
    model = InviteBouncedDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()


def test_timestamps_are_written_as_pydantic_writes_them() -> None:
    assert json_timestamp(datetime(2026, 11, 23, 10, 20, tzinfo=UTC)) == "2026-11-23T10:20:00Z"
    assert json_timestamp(datetime(2026, 11, 23, 10, 20, 0, 4500, tzinfo=UTC)) == "2026-11-23T10:20:00.004500Z"
    assert json_timestamp(datetime(2026, 11, 23, tzinfo=timezone(timedelta(hours=2)))) == "2026-11-23T00:00:00+02:00"


# -- the score function's answer events: any locale and segment text, written as the models write it ------

TEXT = st.text(max_size=40)  # quotes, backslashes, control characters, non-ASCII, surrogates excluded by default
SEGMENTS = st.dictionaries(st.text(min_size=1, max_size=64), TEXT, max_size=4)
SCORES = st.integers(min_value=0, max_value=10)
VERSIONS = st.integers(min_value=1, max_value=2**40)


@dataclass(frozen=True)
class Ids:
    """An answer's ids (:class:`nps.events.details.AnswerIds`), as the score stream's responses carry them."""

    survey_id: str
    wave_id: str
    invite_id: str
    contact_id: str
    channel: str
    locale: str
    segments: dict[str, str]


def answer(
    invite: str, survey: str, wave: str, contact: str, channel: str, locale: str, segments: dict[str, str]
) -> Ids:
    return Ids(survey, wave, invite, contact, channel, locale, segments)


@given(IDS, IDS, IDS, IDS, st.sampled_from(["email", "sms"]), TEXT, SEGMENTS, SCORES, st.none() | SCORES,
       VERSIONS, TIMES, TIMES)  # fmt: skip
def test_response_scored_is_the_models_json(
    invite: str, survey: str, wave: str, contact: str, channel: str, locale: str, segments: dict[str, str],
    score: int, previous: int | None, version: int, first: datetime, at: datetime,
) -> None:  # fmt: skip
    category, before = categorize(score), None if previous is None else categorize(previous)
    plain = response_scored(
        answer(invite, survey, wave, contact, channel, locale, segments), event_id=f"{invite}:{version}",
        score=score, category=category, previous_score=previous, previous_category=before,
        category_changed=before is not None and before is not category, category_entered=before is not category,
        version=version, first_answered_at=first, answered_at=at,
    )  # fmt: skip
    model = ResponseScoredDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()
    assert (model.locale, model.segments, model.answered_at) == (locale, segments, at)


@given(IDS, IDS, IDS, IDS, st.sampled_from(["email", "sms"]), TEXT, SEGMENTS, SCORES,
       st.integers(min_value=1, max_value=2000), VERSIONS, TIMES)  # fmt: skip
def test_comment_received_is_the_models_json(
    invite: str, survey: str, wave: str, contact: str, channel: str, locale: str, segments: dict[str, str],
    score: int, length: int, version: int, at: datetime,
) -> None:  # fmt: skip
    plain = comment_received(
        answer(invite, survey, wave, contact, channel, locale, segments), event_id=f"{invite}:{version}:comment",
        score=score, category=categorize(score), comment_length=length, version=version, commented_at=at,
    )  # fmt: skip
    model = CommentReceivedDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()


@given(IDS, IDS, IDS, IDS, st.sampled_from(["email", "sms"]), TEXT, SEGMENTS, SCORES,
       st.sampled_from(["automated", "removed"]), VERSIONS, TIMES)  # fmt: skip
def test_response_retracted_is_the_models_json(
    invite: str, survey: str, wave: str, contact: str, channel: str, locale: str, segments: dict[str, str],
    score: int, reason: str, version: int, at: datetime,
) -> None:  # fmt: skip
    plain = response_retracted(
        answer(invite, survey, wave, contact, channel, locale, segments), event_id=f"{invite}:{version}:retracted",
        previous_score=score, previous_category=categorize(score), reason=reason,  # type: ignore[arg-type]
        version=version, retracted_at=at,
    )  # fmt: skip
    model = ResponseRetractedDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()


def test_a_plain_detail_of_data_is_that_data_as_compact_json() -> None:
    detail = PlainDetail.of({"a": 'ü"x', "b": [1, None]})
    assert detail.model_dump_json() == '{"a":"ü\\"x","b":[1,null]}'
