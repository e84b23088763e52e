"""The plain event details are the contract's JSON: the models accept them and write them alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nps.events.details import (
    UNSUBSCRIBE_METHODS,
    PlainDetail,
    answer_scored,
    comment_received,
    contact_unsubscribed,
    invite_bounced,
    json_timestamp,
    read_time,
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
from nps.kernel.periods import iso_timestamp

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
#: The follow-up answers and themes an answer event carries (driver, CSAT, CES, themes).
REASONS = st.fixed_dictionaries(
    {
        "driver": st.none() | IDS,
        "csat": st.none() | st.integers(1, 5),
        "ces": st.none() | st.integers(1, 7),
        "themes": st.lists(IDS, max_size=50, unique=True).map(lambda ids: tuple(sorted(ids))),
    }
)


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


# Text as the respond path stores it, and text in other ISO 8601 shapes that fromisoformat also reads.
READ_TEXTS = st.one_of(
    TIMES.map(iso_timestamp),
    TIMES.map(lambda at: at.isoformat()),
    TIMES.map(lambda at: at.isoformat(timespec="milliseconds")),
    TIMES.map(lambda at: iso_timestamp(at).replace("T", " ")),
    TIMES.map(lambda at: at.astimezone(UTC).strftime("%G-W%V-%uT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"),
)


@given(READ_TEXTS)
def test_a_time_read_from_text_is_written_as_pydantic_writes_it(text: str) -> None:
    # Given a time the stream decoder reads from text (its JSON text then remembered for the common form)
    at = read_time(text)
    # Then the event's text is the one formatting the value gives, and the value is what fromisoformat reads
    assert at == datetime.fromisoformat(text)
    assert json_timestamp(at) == _formatted(at)


def _formatted(at: datetime) -> str:
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def test_a_remembered_text_belongs_to_its_own_time_only() -> None:
    # Given a time read from text, and an equal time made otherwise (another object, another zone)
    read = read_time("2026-03-10T09:00:17.020Z")
    same_instant = datetime(2026, 3, 10, 10, 0, 17, 20_000, tzinfo=timezone(timedelta(hours=1)))
    # Then each is written from its own value
    assert json_timestamp(read) == "2026-03-10T09:00:17.020000Z"
    assert json_timestamp(same_instant) == "2026-03-10T10:00:17.020000+01:00"
    assert json_timestamp(read_time("2026-03-10T09:00:17.000Z")) == "2026-03-10T09:00:17Z"


@given(IDS, IDS, IDS, IDS, st.sampled_from(["email", "sms"]), TEXT, SEGMENTS, SCORES, st.none() | SCORES,
       VERSIONS, TIMES, TIMES, REASONS)  # fmt: skip
def test_response_scored_is_the_models_json(
    invite: str, survey: str, wave: str, contact: str, channel: str, locale: str, segments: dict[str, str],
    score: int, previous: int | None, version: int, first: datetime, at: datetime, reasons: dict[str, Any],
) -> None:  # fmt: skip
    category, before = categorize(score), None if previous is None else categorize(previous)
    plain = response_scored(
        answer(invite, survey, wave, contact, channel, locale, segments), event_id=f"{invite}:{version}",
        score=score, category=category, previous_score=previous, previous_category=before,
        category_changed=before is not None and before is not category, category_entered=before is not category,
        version=version, first_answered_at=first, answered_at=at, **reasons,
    )  # fmt: skip
    model = ResponseScoredDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()
    assert (model.locale, model.segments, model.answered_at) == (locale, segments, at)
    assert (model.driver, model.csat, model.ces, model.themes) == (
        reasons["driver"],
        reasons["csat"],
        reasons["ces"],
        reasons["themes"],
    )


@given(IDS, IDS, IDS, IDS, st.sampled_from(["email", "sms"]), TEXT, SEGMENTS, SCORES, st.none() | SCORES,
       VERSIONS, TIMES, st.none() | TIMES, st.booleans(), REASONS)  # fmt: skip
def test_the_stream_builder_of_response_scored_writes_the_same_json(
    invite: str, survey: str, wave: str, contact: str, channel: str, locale: str, segments: dict[str, str],
    score: int, previous: int | None, version: int, first: datetime, at: datetime | None, read: bool,
    reasons: dict[str, Any],
) -> None:  # fmt: skip
    # Given any answer (its times read from our own text, as the stream decoder reads them, or made otherwise)
    if read:
        first = read_time(iso_timestamp(first))
    category, before = categorize(score), None if previous is None else categorize(previous)
    # When the score function's positional builder writes it
    fast = answer_scored(
        survey, wave, invite, contact, channel, locale, segments, score, previous, version, first, at,
        reasons["driver"], reasons["csat"], reasons["ces"], reasons["themes"],
    )  # fmt: skip
    # Then it is the keyword builder's JSON (which is the model's), the first answer's time standing for a missing one
    plain = response_scored(
        answer(invite, survey, wave, contact, channel, locale, segments), event_id=f"{invite}:{version}",
        score=score, category=category, previous_score=previous, previous_category=before,
        category_changed=before is not None and before is not category, category_entered=before is not category,
        version=version, first_answered_at=first, answered_at=first if at is None else at, **reasons,
    )  # fmt: skip
    assert fast.model_dump_json() == plain.model_dump_json()


@given(IDS, IDS, IDS, IDS, st.sampled_from(["email", "sms"]), TEXT, SEGMENTS, SCORES,
       st.integers(min_value=1, max_value=2000), VERSIONS, TIMES, REASONS)  # fmt: skip
def test_comment_received_is_the_models_json(
    invite: str, survey: str, wave: str, contact: str, channel: str, locale: str, segments: dict[str, str],
    score: int, length: int, version: int, at: datetime, reasons: dict[str, Any],
) -> None:  # fmt: skip
    plain = comment_received(
        answer(invite, survey, wave, contact, channel, locale, segments), event_id=f"{invite}:{version}:comment",
        score=score, category=categorize(score), comment_length=length, version=version, commented_at=at,
        **reasons,
    )  # fmt: skip
    model = CommentReceivedDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()
    assert model.themes == reasons["themes"]


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


def test_ten_of_the_largest_answer_events_fit_one_put_events_call() -> None:
    # Given answer events as large as the contract lets them be: 64-character ids, 8 segment values of
    # 64 characters that JSON escapes to 6 bytes each, a 35-character locale, a driver and 50 themes of
    # 64 characters each
    from nps.events.names import EVENT_SOURCE, RESPONSE_SCORED
    from nps.events.publisher import MAX_ENTRIES_PER_CALL
    from nps.reasons.scales import MAX_THEMES_PER_RESPONSE
    from nps.sending.surveys import MAX_SEGMENT_DIMENSIONS
    from tests.permissions.limits import EVENTS_BYTES, event_entry_size

    long_id = "i" * 64
    segments = {f"d{n}_" + "x" * 28: "\t" * 64 for n in range(MAX_SEGMENT_DIMENSIONS)}
    themes = tuple(sorted(f"{n:02d}" + "t" * 62 for n in range(MAX_THEMES_PER_RESPONSE)))
    at = datetime(2026, 11, 23, 10, 20, 0, 123456, tzinfo=timezone(timedelta(hours=-9, minutes=-30)))
    ids = answer(long_id, long_id, long_id, long_id, "email", "x" * 35, segments)
    detail = comment_received(
        ids, event_id=f"{long_id}:{2**40}:comment", score=0, category=categorize(0), comment_length=2000,
        version=2**40, commented_at=at, driver=long_id, csat=5, ces=7, themes=themes,
    )  # fmt: skip
    scored = response_scored(
        ids, event_id=f"{long_id}:{2**40}", score=0, category=categorize(0), previous_score=10,
        previous_category=categorize(10), category_changed=True, category_entered=True, version=2**40,
        first_answered_at=at, answered_at=at, driver=long_id, csat=5, ces=7, themes=themes,
    )  # fmt: skip
    CommentReceivedDetail.model_validate_json(detail.model_dump_json())
    largest = max(
        event_entry_size(
            {"Source": EVENT_SOURCE, "DetailType": RESPONSE_SCORED, "Detail": d.model_dump_json(),
             "Resources": [], "Time": True}
        )
        for d in (detail, scored)
    )  # fmt: skip
    # Then ten of them (one PutEvents call) stay far below EventBridge's 256 KB
    assert largest < 16 * 1024
    assert MAX_ENTRIES_PER_CALL * largest < EVENTS_BYTES // 2


@given(IDS, IDS, IDS, IDS, st.sampled_from(["email", "sms", "web", "link"]), st.sampled_from(["en", "de"]),
       st.dictionaries(st.sampled_from(["plan", "region"]), IDS, max_size=2),
       st.sampled_from(["referral", "review"]), TIMES)  # fmt: skip
def test_referral_clicked_is_the_models_json(
    survey: str, wave: str, invite: str, contact: str, channel: str, locale: str, segments: dict[str, str],
    target: str, at: datetime,
) -> None:  # fmt: skip
    from nps.events.details import referral_clicked
    from nps.events.models import ReferralClickedDetail

    plain = referral_clicked(
        survey_id=survey, wave_id=wave, invite_id=invite, contact_id=contact, channel=channel, locale=locale,
        segments=segments, target=target, clicked_at=at,
    )  # fmt: skip
    model = ReferralClickedDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()
    assert model.event_id == f"{invite}:clicked:{target}"
