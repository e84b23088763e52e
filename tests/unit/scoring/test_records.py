"""nps.scoring.records: the stream decoder accepts exactly what the stored response's contract accepts,
and the event details the stream path builds as dicts are the contract's events, byte for byte.

Deliberately stricter than the model's lax mode on types no stored response holds: a boolean written as
text ("yes"), a version, CSAT or CES written as text and a timestamp written as a number are malformed
here (the model would coerce them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nps.events.models import CommentReceivedDetail, ResponseItem, ResponseRetractedDetail, ResponseScoredDetail
from nps.events.publisher import detail_json
from nps.kernel.streams import MalformedRecord, plain_image
from nps.scoring import records
from nps.scoring.aggregation import Transition
from nps.scoring.records import Response, response_from_image
from nps.scoring.stream import comment_event, scored_event

SERIALIZER = TypeSerializer()
FIELDS = tuple(ResponseItem.model_fields)

valid_times = st.datetimes(timezones=st.just(UTC)).map(
    lambda at: {"S": at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
)
valid: dict[str, st.SearchStrategy[Any]] = {
    "invite_id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True).map(lambda v: {"S": v}),
    "survey_id": st.just({"S": "srv_1"}),
    "wave_id": st.just({"S": "w_1"}),
    "contact_id": st.just({"S": "c-1"}),
    "channel": st.sampled_from([{"S": "email"}, {"S": "sms"}]),
    "locale": st.sampled_from([{"S": "de"}, {"S": "en"}]),
    "segments": st.dictionaries(st.text(min_size=1, max_size=3), st.text(max_size=3), max_size=2).map(
        lambda v: dict(SERIALIZER.serialize(v))
    ),
    "score": st.integers(0, 10).map(lambda v: {"N": str(v)}),
    "category": st.none(),  # filled in from the score below
    "comment": st.text(max_size=5).map(lambda v: {"S": v}),
    "version": st.integers(0, 5).map(lambda v: {"N": str(v)}),
    "first_answered_at": valid_times,
    "answered_at": valid_times,
    "comment_at": valid_times,
    "source": st.just({"S": "link"}),
    "counted": st.sampled_from([{"BOOL": True}, {"BOOL": False}]),
    "confidence": st.just({"S": "human"}),
    "driver": st.sampled_from([{"S": "price"}, {"S": "support"}]),
    "csat": st.integers(1, 5).map(lambda v: {"N": str(v)}),
    "ces": st.integers(1, 7).map(lambda v: {"N": str(v)}),
    "themes": st.lists(st.sampled_from(["price", "support", "ux"]), max_size=4).map(
        lambda v: {"L": [{"S": theme} for theme in v]}
    ),
    "account_id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True).map(lambda v: {"S": v}),
    "role": st.sampled_from([{"S": "decision_maker"}, {"S": "user"}, {"S": "ops_lead"}]),
}
# What one attribute may wrongly (or legitimately) be instead: absent, NULL, another type, out of range.
wrong: dict[str, list[Any]] = {
    "invite_id": [{"S": ""}, {"S": "inv 1"}, {"S": "x" * 65}, {"S": "inv\n"}, {"N": "1"}],
    "survey_id": [{"S": "ü"}, {"NULL": True}],
    "channel": [{"S": "fax"}, {"NULL": True}],
    "locale": [{"NULL": True}, {"N": "1"}],
    "segments": [{"M": {"plan": {"N": "3"}}}, {"M": {"": {"S": "x"}}}, {"M": {"x" * 65: {"S": "x"}}}, {"NULL": True}],
    "score": [{"N": "11"}, {"N": "-1"}, {"N": "7.5"}, {"N": "9.0"}, {"S": "nine"}, {"NULL": True}],
    "category": [{"S": "fan"}, {"NULL": True}],
    "comment": [{"S": "x" * 2001}, {"NULL": True}, {"N": "1"}],
    "version": [{"N": "-1"}, {"N": "2.0"}, {"NULL": True}],
    "first_answered_at": [{"S": "not a time"}, {"S": "2026-13-01T00:00:00Z"}, {"NULL": True}],
    "answered_at": [{"NULL": True}],  # (a number: the contract reads epoch seconds, stored answers never hold one)
    "counted": [{"NULL": True}],
    "confidence": [{"NULL": True}],
    "source": [{"NULL": True}],
    "driver": [{"S": "pri ce"}, {"S": ""}, {"N": "1"}, {"NULL": True}],
    "csat": [{"N": "0"}, {"N": "6"}, {"N": "4.0"}, {"N": "4.5"}, {"N": "04"}, {"NULL": True}],
    "ces": [{"N": "8"}, {"N": "-1"}, {"N": "7.0"}, {"NULL": True}],
    "themes": [
        {"L": [{"S": "b"}, {"S": "a"}, {"S": "a"}]},  # unsorted, repeated: read sorted and unique
        {"SS": ["support", "price"]},
        {"L": [{"S": "pri ce"}]},
        {"L": [{"N": "1"}]},
        {"L": [{"S": f"t{n}"} for n in range(51)]},
        {"S": "price"},
        {"NULL": True},
    ],
    "account_id": [{"S": "ac me"}, {"S": ""}, {"S": "x" * 65}, {"N": "1"}, {"NULL": True}],
    "role": [{"S": "Decision Maker"}, {"S": "9x"}, {"S": ""}, {"N": "1"}, {"NULL": True}],
}


@st.composite
def images(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed image with at most one attribute absent, NULL or wrong (and unknown ones ignored)."""
    image: dict[str, Any] = {name: draw(strategy) for name, strategy in valid.items() if name != "category"}
    score = int(image["score"]["N"])
    image["category"] = {"S": "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"}
    image["ttl"] = {"N": "1900000000"}
    change = draw(st.sampled_from([None, *valid]))
    if change is not None:
        replacement = draw(st.sampled_from([None, *wrong.get(change, [])]))
        if replacement is None:
            del image[change]
        else:
            image[change] = replacement
    return image


def assert_decodes_like_the_contract(image: dict[str, Any]) -> None:
    try:
        expected: ResponseItem | None = ResponseItem.model_validate(plain_image(image))
    except (ValidationError, MalformedRecord):
        expected = None
    try:
        decoded = response_from_image(image)
    except MalformedRecord:
        # It rejects only what the contract rejects
        assert expected is None, image
        return
    if expected is not None and expected.score is None:
        assert decoded is None  # a response without a score yet: nothing to count
        return
    # What it accepts, the contract accepts, with the same values
    assert decoded is not None
    assert expected is not None, image
    assert {name: getattr(decoded, name) for name in FIELDS} == expected.model_dump()
    assert decoded.is_counted == expected.is_counted


@settings(max_examples=200, deadline=None)
@given(images())
def test_the_decoder_accepts_exactly_what_the_contract_model_accepts(image: dict[str, Any]) -> None:
    assert_decodes_like_the_contract(image)


@settings(max_examples=200, deadline=None)
@given(images())
def test_the_inline_reading_gives_what_the_checked_reading_gives(image: dict[str, Any]) -> None:
    # Given any image / When the inline reading (the usual shape) reads it, or leaves it to the checked one
    try:
        usual = records._usual_response(image)
    except records._Unusual:
        return
    # Then the checked reading gives exactly the same response
    assert usual == records._checked_response(image)


@pytest.mark.parametrize("text", ["1e1", "09", "010", "10.0"])
def test_a_score_in_another_number_notation_is_read_as_the_contract_reads_it(text: str) -> None:
    image = {
        "invite_id": {"S": "inv_1"},
        "survey_id": {"S": "srv_1"},
        "wave_id": {"S": "w_1"},
        "contact_id": {"S": "c_1"},
        "channel": {"S": "email"},
        "score": {"N": text},
        "version": {"N": "1"},
    }
    assert_decodes_like_the_contract(image)


@pytest.mark.parametrize(
    ("name", "value"),
    [(name, value) for name, values in wrong.items() for value in [None, *values]],
    ids=lambda v: repr(v)[:24],
)
def test_each_absent_null_or_wrong_attribute_is_judged_like_the_contract(name: str, value: Any) -> None:
    # Given a well-formed image with one attribute absent (None) or replaced
    image = {
        "invite_id": {"S": "inv_1"},
        "survey_id": {"S": "srv_1"},
        "wave_id": {"S": "w_1"},
        "contact_id": {"S": "c_1"},
        "channel": {"S": "email"},
        "locale": {"S": "de"},
        "segments": {"M": {"plan": {"S": "pro"}}},
        "score": {"N": "7"},
        "category": {"S": "passive"},
        "comment": {"S": "ok"},
        "version": {"N": "2"},
        "first_answered_at": {"S": "2026-11-20T09:00:00.000Z"},
        "answered_at": {"S": "2026-11-20T09:00:00.000Z"},
        "comment_at": {"S": "2026-11-20T09:01:00.000Z"},
        "source": {"S": "link"},
        "counted": {"BOOL": True},
        "confidence": {"S": "human"},
        "driver": {"S": "price"},
        "csat": {"N": "4"},
        "ces": {"N": "6"},
        "themes": {"L": [{"S": "price"}, {"S": "support"}]},
        "account_id": {"S": "acme"},
        "role": {"S": "decision_maker"},
    }
    if value is None:
        del image[name]
    else:
        image[name] = value
    # Then the decoder accepts or rejects it as the contract model does, with the same values
    assert_decodes_like_the_contract(image)


def test_an_image_without_a_score_is_nothing_to_count() -> None:
    assert response_from_image({"invite_id": {"S": "inv_1"}}) is None
    assert response_from_image({"invite_id": {"S": "inv_1"}, "score": {"NULL": True}}) is None
    assert response_from_image(None) is None


def test_a_malformed_value_names_the_attribute_not_its_content() -> None:
    image = {"invite_id": {"S": "alice@example.com"}, "score": {"N": "9"}, "channel": {"S": "email"}}
    with pytest.raises(MalformedRecord) as raised:
        response_from_image(image)
    assert "alice" not in str(raised.value)


# --------------------------------------------------------------------------------------------------
# Event details built as dicts are the contract's details
# --------------------------------------------------------------------------------------------------

AT = datetime(2026, 11, 20, 9, 0, 0, 123000, tzinfo=UTC)


def response(**overrides: Any) -> Response:
    fields: dict[str, Any] = {
        "invite_id": "inv_1",
        "survey_id": "srv_1",
        "wave_id": "w_1",
        "contact_id": "c_1",
        "channel": "email",
        "locale": "de",
        "segments": {"region": "EU", "plan": "prø"},
        "score": 9,
        "version": 2,
        "first_answered_at": AT,
        "answered_at": AT.replace(microsecond=0),
        "comment": "Schnell",
        "comment_at": AT,
    }
    return Response(**(fields | overrides))


def transition(old: Response | None, new: Response | None, version: int = 2) -> Transition:
    return Transition("inv_1", version, AT, "100", old, new)


@pytest.mark.parametrize(
    ("event", "model"),
    [
        (lambda: scored_event(transition(None, response())), ResponseScoredDetail),
        (lambda: scored_event(transition(response(score=3, version=1), response(score=9))), ResponseScoredDetail),
        (lambda: scored_event(transition(response(), None, version=3)), ResponseRetractedDetail),
        (lambda: scored_event(transition(response(), response(counted=False))), ResponseRetractedDetail),
        (lambda: comment_event(response(comment=None), response()), CommentReceivedDetail),
    ],
    ids=["first answer", "changed score", "removed", "automated", "comment"],
)
def test_event_details_serialise_exactly_as_the_contract_models_do(event: Any, model: Any) -> None:
    # Given an event the stream path builds
    built = event()
    assert built is not None
    text = built.detail.model_dump_json()
    # When the contract model validates that detail (extra fields are forbidden there)
    validated = model.model_validate_json(text)
    # Then the model's own JSON is the JSON the publisher sends, byte for byte
    assert text == validated.model_dump_json()
    assert detail_json(built.detail) == detail_json(validated)


def test_in_headline_is_read_from_the_image_and_defaults_to_true() -> None:
    from nps.scoring.records import response_from_image

    base = {
        "invite_id": {"S": "sl-1"},
        "survey_id": {"S": "s1"},
        "wave_id": {"S": "link-1"},
        "contact_id": {"S": "_anonymous"},
        "channel": {"S": "link_anonymous"},
        "score": {"N": "9"},
        "first_answered_at": {"S": "2026-11-20T09:00:00Z"},
    }
    apart = response_from_image(base | {"in_headline": {"BOOL": False}})
    plain = response_from_image(base)
    assert apart is not None
    assert apart.in_headline is False
    assert plain is not None
    assert plain.in_headline is True
    with pytest.raises(MalformedRecord):
        response_from_image(base | {"in_headline": {"S": "no"}})


def test_in_headline_is_read_alike_by_the_inline_and_the_checked_reader() -> None:
    from nps.scoring.records import _checked_response, _usual_response

    image = {
        "invite_id": {"S": "sl-1"},
        "survey_id": {"S": "s1"},
        "wave_id": {"S": "link-1"},
        "contact_id": {"S": "anonymous"},
        "channel": {"S": "link_anonymous"},
        "score": {"N": "9"},
        "version": {"N": "1"},
        "first_answered_at": {"S": "2026-11-20T09:00:00Z"},
    }
    for flag in (False, True):
        usual = _usual_response(image | {"in_headline": {"BOOL": flag}})
        checked = _checked_response(image | {"in_headline": {"BOOL": flag}})
        assert usual is not None
        assert checked is not None
        assert usual.in_headline is flag
        assert usual == checked
