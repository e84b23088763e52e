"""nps.scoring.stream: reading deserialized stream records, the scored, retracted and comment events, and
commit-then-publish."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from pydantic import ValidationError

from nps.events.models import (
    COMMENT_RECEIVED,
    RESPONSE_RETRACTED,
    RESPONSE_SCORED,
    CommentReceivedDetail,
    ResponseItem,
    ResponseRetractedDetail,
    ResponseScoredDetail,
)
from nps.events.publisher import Event, detail_json
from nps.kernel.categories import Category
from nps.kernel.streams import MalformedRecord
from nps.scoring.aggregation import Transition
from nps.scoring.stream import (
    BatchResult,
    ParsedRecord,
    ScoringService,
    comment_event,
    parse_record,
    retracted_event,
    scored_event,
)
from tests.support.fakes import NOW, FakeAggregateStore, FakePublisher

MakeImage = Callable[..., dict[str, Any]]
MakeItem = Callable[..., ResponseItem]
MakeTransition = Callable[..., Transition]

CREATED = Decimal(1795423815)  # ApproximateCreationDateTime, epoch seconds
KEYS = {"invite_id": "inv_1"}


def parse(event_name: str, old: dict[str, Any] | None, new: dict[str, Any] | None, **record: Any) -> Transition | None:
    return parse_full(event_name, old, new, **record).transition


def parse_full(
    event_name: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    *,
    keys: dict[str, Any] | None = KEYS,
    sequence_number: str | None = "4100000000000001",
    created_at: Any = CREATED,
) -> ParsedRecord:
    return parse_record(event_name, typed(keys), typed(old), typed(new), sequence_number, created_at)


def typed(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """A plain image (as the test factories make it) in DynamoDB JSON, as the stream delivers it."""
    if image is None:
        return None
    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in image.items()}


# --------------------------------------------------------------------------------------------------
# the transition of a record
# --------------------------------------------------------------------------------------------------


def test_insert_of_a_first_answer(make_image: MakeImage) -> None:
    # Given an INSERT whose new image holds a score of 9 (numbers as Decimal, timestamps as text)
    new_image = make_image(score=9, version=1)
    assert isinstance(new_image["score"], Decimal)

    # When parsed
    transition = parse("INSERT", None, new_image)

    # Then it is a first answer at the record's creation time
    assert transition is not None
    assert transition.old is None
    assert transition.new is not None
    assert transition.new.score == 9
    assert transition.new.category is Category.PROMOTER
    assert transition.new.segments == {"region": "EU", "plan": "pro"}
    assert transition.new.first_answered_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert transition.invite_id == "inv_1"
    assert transition.version == 1
    assert transition.sequence_number == "4100000000000001"
    assert transition.record_time == datetime.fromtimestamp(1795423815, UTC)
    assert transition.record_time.tzinfo is not None
    assert transition.moves_counts


def test_modify_with_a_new_score(make_image: MakeImage) -> None:
    transition = parse("MODIFY", make_image(score=6, version=1), make_image(score=9, version=2))
    assert transition is not None
    assert (transition.old_score, transition.new_score) == (6, 9)
    assert transition.version == 2


def test_modify_that_only_adds_a_comment_is_skipped(make_image: MakeImage) -> None:
    # Given a MODIFY whose score did not change (a comment was added)
    old = make_image(score=7, version=1)
    new = make_image(score=7, version=2, comment="Fast delivery", comment_at="2026-11-20T09:05:00.000Z")
    # Then there is nothing to count
    assert parse("MODIFY", old, new) is None


def test_remove_is_ordered_after_the_version_it_removes(make_image: MakeImage) -> None:
    # Given a REMOVE (TTL or erasure) of a counted response at version 3
    transition = parse("REMOVE", make_image(score=4, version=3), None)
    # Then it subtracts the old score, and its version is 4 so it sorts after the last write
    assert transition is not None
    assert transition.new is None
    assert transition.old_score == 4
    assert transition.new_score is None
    assert transition.version == 4


def test_remove_ignores_a_new_image_if_one_is_present(make_image: MakeImage) -> None:
    transition = parse("REMOVE", make_image(score=4, version=3), make_image(score=4, version=3))
    assert transition is not None
    assert transition.new is None


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY", "REMOVE"])
def test_images_without_a_score_are_ignored(event_name: str) -> None:
    # Given images with the key only (an invite's item before any answer)
    # Then the record cannot affect the counts and yields None
    assert parse(event_name, {"invite_id": "inv_1"}, {"invite_id": "inv_1"}) is None


def test_removal_of_an_unanswered_item_is_ignored(make_image: MakeImage) -> None:
    assert parse("REMOVE", make_image(score=None), None) is None


@pytest.mark.parametrize("event_name", ["insert", "UPDATE", "", "DELETE", "TTL"])
def test_unknown_event_name_is_malformed(make_image: MakeImage, event_name: str) -> None:
    with pytest.raises(MalformedRecord, match="unknown stream event"):
        parse(event_name, None, make_image())


@pytest.mark.parametrize("sequence_number", [None, ""])
def test_missing_sequence_number_is_malformed(make_image: MakeImage, sequence_number: str | None) -> None:
    with pytest.raises(MalformedRecord, match="sequence number"):
        parse("INSERT", None, make_image(), sequence_number=sequence_number)


def test_missing_creation_time_is_malformed(make_image: MakeImage) -> None:
    with pytest.raises(MalformedRecord, match="creation time"):
        parse("INSERT", None, make_image(), created_at=None)


@pytest.mark.parametrize(("old", "new"), [(None, None), ({}, {}), ({}, None)])
def test_record_without_any_image_is_malformed(old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    # Given a KEYS_ONLY-style record (the stream must be NEW_AND_OLD_IMAGES)
    with pytest.raises(MalformedRecord, match="without images"):
        parse("MODIFY", old, new)


@pytest.mark.parametrize(("score", "category"), [(9, "detractor"), (6, "promoter"), (7, "promoter")])
def test_stored_category_that_contradicts_the_score_is_malformed(
    make_image: MakeImage, score: int, category: str
) -> None:
    with pytest.raises(MalformedRecord, match="category"):
        parse("INSERT", None, make_image(score=score, category=category))


def test_contradicting_category_in_the_old_image_is_malformed_too(make_image: MakeImage) -> None:
    with pytest.raises(MalformedRecord, match="category"):
        parse("MODIFY", make_image(score=3, category="passive"), make_image(score=9))


def test_keys_that_do_not_match_the_images_are_malformed(make_image: MakeImage) -> None:
    with pytest.raises(MalformedRecord, match="keys"):
        parse("INSERT", None, make_image(invite_id="inv_1"), keys={"invite_id": "inv_other"})


def test_invite_id_falls_back_to_the_image_without_keys(make_image: MakeImage) -> None:
    transition = parse("INSERT", None, make_image(invite_id="inv_7"), keys=None)
    assert transition is not None
    assert transition.invite_id == "inv_7"


@pytest.mark.parametrize(
    "overrides",
    [
        {"score": Decimal(11)},
        {"score": Decimal(-1)},
        {"score": Decimal("7.5")},
        {"channel": "fax"},
        {"invite_id": "inv 1"},
        {"version": Decimal(-1)},
        {"first_answered_at": "not a time"},
    ],
    ids=["score-11", "score-minus-1", "score-7.5", "channel", "invite-id", "version", "timestamp"],
)
def test_invalid_image_raises_a_validation_error(make_image: MakeImage, overrides: dict[str, Any]) -> None:
    # Given an image that is not a well-formed response (e.g. score 11, with category left out)
    image = make_image(category=None, **overrides)
    # When parsed / Then MalformedRecord, which the batch reports as a failure
    with pytest.raises(MalformedRecord):
        parse("INSERT", None, image, keys={"invite_id": image["invite_id"]})


def test_unknown_attributes_in_an_image_are_ignored(make_image: MakeImage) -> None:
    image = make_image() | {"ttl": Decimal(1900000000), "email": "should-not-matter@example.com"}
    transition = parse("INSERT", None, image)
    assert transition is not None
    assert transition.new is not None
    assert not hasattr(transition.new, "email")


# --------------------------------------------------------------------------------------------------
# scored_event
# --------------------------------------------------------------------------------------------------


def test_first_answer_event(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given a first answer of 9
    transition = make_transition(None, make_item(score=9, version=1, comment=None))

    # When the event is built
    event = scored_event(transition)

    # Then it is an NPS Response Scored event without a previous score
    assert event is not None
    assert event.detail_type == RESPONSE_SCORED == "NPS Response Scored"
    detail = ResponseScoredDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.event_id == "inv_1:1"
    assert (detail.score, detail.category) == (9, Category.PROMOTER)
    assert detail.previous_score is None
    assert detail.previous_category is None
    assert detail.category_changed is False
    assert detail.category_entered is True  # a first answer puts the contact in its category
    assert detail.survey_id == "srv_1"
    assert detail.segments == {"region": "EU", "plan": "pro"}


def test_changed_score_event_reports_the_previous_score_and_category(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    transition = make_transition(make_item(score=6, version=1), make_item(score=9, version=2))
    event = scored_event(transition)
    assert event is not None
    detail = ResponseScoredDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.event_id == "inv_1:2"
    assert detail.previous_score == 6
    assert detail.previous_category is Category.DETRACTOR
    assert detail.category is Category.PROMOTER
    assert detail.category_changed is True
    assert detail.category_entered is True


def test_change_within_a_category_is_not_a_category_change(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    event = scored_event(make_transition(make_item(score=9, version=1), make_item(score=10, version=2)))
    assert event is not None
    detail = ResponseScoredDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.previous_score == 9
    assert detail.previous_category is Category.PROMOTER
    assert detail.category_changed is False
    assert detail.category_entered is False  # still a promoter: no new follow-up


def test_removal_of_a_counted_answer_is_a_retraction_not_a_scored_event(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    # Given a counted 9 that is deleted (TTL or erasure)
    event = scored_event(make_transition(make_item(score=9), None, version=2))
    # Then subscribers are told it no longer counts, with the reason "removed"
    assert event is not None
    assert event.detail_type == RESPONSE_RETRACTED
    detail = ResponseRetractedDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.reason == "removed"
    assert detail.previous_score == 9


def test_comment_only_change_has_no_event(make_item: MakeItem, make_transition: MakeTransition) -> None:
    transition = make_transition(make_item(score=8, version=1), make_item(score=8, version=2, comment="ok"))
    assert scored_event(transition) is None


def test_answered_at_falls_back_to_first_answered_at(make_item: MakeItem, make_transition: MakeTransition) -> None:
    event = scored_event(make_transition(None, make_item(answered_at=None)))
    assert event is not None
    detail = ResponseScoredDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.answered_at == detail.first_answered_at


def test_event_detail_carries_ids_only_never_the_comment(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given a changed score on a response that also has a comment
    secret = "call me on +49 151 1234567, alice@example.com"
    transition = make_transition(
        make_item(score=3, version=2, comment=secret), make_item(score=10, version=3, comment=secret)
    )
    # When the event is built / Then the comment text is nowhere in what subscribers receive
    event = scored_event(transition)
    assert event is not None
    payload = detail_json(event.detail)
    assert "comment" not in payload
    assert secret not in json.dumps(payload)
    assert payload["schema_version"] == "1.0"


def test_event_from_a_parsed_stream_record(make_image: MakeImage) -> None:
    # End to end within the module: a MODIFY record from 6 to 10 becomes the right event
    transition = parse("MODIFY", make_image(score=6, version=1), make_image(score=10, version=2))
    assert transition is not None
    event = scored_event(transition)
    assert event is not None
    assert detail_json(event.detail)["previous_category"] == "detractor"
    assert detail_json(event.detail)["category"] == "promoter"


# --------------------------------------------------------------------------------------------------
# parse_record: the transition and the comment event of one record
# --------------------------------------------------------------------------------------------------

COMMENTED_AT = "2026-11-20T09:05:00.000Z"
RETRACTED_AT_RECORD = datetime.fromtimestamp(1795423815, UTC)


def retracted_image(make_image: MakeImage, **overrides: Any) -> dict[str, Any]:
    """The image after ``retract_recent``: the score stays, no longer counted, first answer removed."""
    fields: dict[str, Any] = {"score": 9, "version": 2, "counted": False, "first_answered_at": None} | overrides
    return make_image(**fields) | {
        "automated_score": Decimal(fields["score"]),
        "automated_reasons": {"burst of different scores"},
        "retracted_at": "2026-11-20T09:00:30.000Z",
    }


def test_a_comment_that_changes_the_themes_moves_counts_without_a_scored_event(make_image: MakeImage) -> None:
    # Given a counted answer whose comment arrives tagged with a theme
    old = make_image(score=4, version=1)
    new = make_image(score=4, version=2, comment="Too expensive", themes=["price"])
    # When parsed
    parsed = parse_full("MODIFY", old, new)
    # Then it moves counts (into theme=price), says the comment arrived, and is no new score
    assert parsed.transition is not None
    assert parsed.transition.moves_counts
    assert not parsed.transition.moves_score
    assert parsed.transition.new_reasons == (None, None, None, ("price",), None, None)
    assert parsed.comment is not None
    assert scored_event(parsed.transition) is None


def test_a_retag_moves_only_theme_counts_and_publishes_no_event(make_image: MakeImage) -> None:
    # Given the write of `nps survey retag`: the same comment (text and time), other themes, the next version
    old = make_image(score=3, version=2, comment="Support was slow", comment_at=COMMENTED_AT, themes=["support"])
    new = make_image(score=3, version=3, comment="Support was slow", comment_at=COMMENTED_AT, themes=["speed"])
    # When parsed
    parsed = parse_full("MODIFY", old, new)
    # Then the counts move from theme=support to theme=speed, and nothing else moves
    assert parsed.transition is not None
    assert not parsed.transition.moves_score
    moved = {key.segment for key in parsed.transition.deltas()}
    assert moved == {"theme=support", "theme=speed"}
    # And no subscriber hears of it: no scored, retracted or comment event
    assert scored_event(parsed.transition) is None
    assert parsed.comment is None


@pytest.mark.parametrize(
    "answers", [{"driver": "support"}, {"csat": 5}, {"ces": 2}, {"driver": "price", "csat": 1, "ces": 7}]
)
def test_a_new_follow_up_answer_moves_counts_without_an_event(make_image: MakeImage, answers: dict[str, Any]) -> None:
    old = make_image(score=8, version=1)
    new = make_image(score=8, version=2, **answers)
    transition = parse("MODIFY", old, new)
    assert transition is not None
    assert transition.moves_counts
    assert scored_event(transition) is None


def test_a_comment_with_the_same_themes_and_answers_moves_nothing(make_image: MakeImage) -> None:
    old = make_image(score=8, version=2, comment="Too expensive", themes=["price"], csat=3)
    new = make_image(score=8, version=3, comment="Far too expensive", themes=["price"], csat=3)
    parsed = parse_full("MODIFY", old, new)
    assert parsed.transition is None
    assert parsed.comment is not None


def test_parse_record_of_a_first_answer_has_a_transition_and_no_comment(make_image: MakeImage) -> None:
    # Given an INSERT of a first answer without a comment
    parsed = parse_full("INSERT", None, make_image(score=9, version=1))
    # Then it moves the counts and there is no comment event
    assert isinstance(parsed, ParsedRecord)
    assert parsed.transition is not None
    assert parsed.transition.new_score == 9
    assert parsed.comment is None


def test_parse_record_of_a_comment_has_a_comment_event_and_no_transition(make_image: MakeImage) -> None:
    # Given a MODIFY that adds a comment to a counted 7
    old = make_image(score=7, version=1)
    new = make_image(score=7, version=2, comment="Fast delivery", comment_at=COMMENTED_AT)

    # When parsed
    parsed = parse_full("MODIFY", old, new)

    # Then nothing is counted, and an NPS Comment Received event carries the comment's length, not its text
    assert parsed.transition is None
    assert parsed.comment is not None
    assert parsed.comment.detail_type == COMMENT_RECEIVED == "NPS Comment Received"
    detail = CommentReceivedDetail.model_validate_json(parsed.comment.detail.model_dump_json())
    assert detail.event_id == "inv_1:2:comment"
    assert (detail.score, detail.category) == (7, Category.PASSIVE)
    assert detail.comment_length == len("Fast delivery")
    assert detail.version == 2
    assert detail.commented_at == datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
    assert detail.segments == {"region": "EU", "plan": "pro"}
    assert "Fast delivery" not in json.dumps(detail_json(detail))


def test_parse_record_of_a_changed_comment_has_a_comment_event(make_image: MakeImage) -> None:
    old = make_image(score=7, version=2, comment="Fast", comment_at=COMMENTED_AT)
    new = make_image(score=7, version=3, comment="Fast delivery, friendly staff", comment_at=COMMENTED_AT)
    parsed = parse_full("MODIFY", old, new)
    assert parsed.comment is not None
    detail = CommentReceivedDetail.model_validate_json(parsed.comment.detail.model_dump_json())
    assert detail.event_id == "inv_1:3:comment"


def test_parse_record_of_a_write_that_keeps_the_comment_has_no_comment_event(make_image: MakeImage) -> None:
    # Given a score change on a response whose comment stays the same
    old = make_image(score=7, version=2, comment="Fast", comment_at=COMMENTED_AT)
    new = make_image(score=9, version=3, comment="Fast", comment_at=COMMENTED_AT)
    # Then the score moves, but no comment was received
    parsed = parse_full("MODIFY", old, new)
    assert parsed.transition is not None
    assert parsed.comment is None


def test_parse_record_of_a_removal_has_no_comment_event(make_image: MakeImage) -> None:
    parsed = parse_full("REMOVE", make_image(score=4, version=3, comment="Slow", comment_at=COMMENTED_AT), None)
    assert parsed.transition is not None
    assert parsed.transition.new is None
    assert parsed.comment is None


def test_parse_record_of_images_without_a_score_is_empty() -> None:
    assert parse_full("MODIFY", {"invite_id": "inv_1"}, {"invite_id": "inv_1"}) == ParsedRecord(None, None)


def test_parse_record_rejects_malformed_records(make_image: MakeImage) -> None:
    with pytest.raises(MalformedRecord, match="unknown stream event"):
        parse_full("UPDATE", None, make_image())
    with pytest.raises(MalformedRecord, match="creation time"):
        parse_full("INSERT", None, make_image(), created_at=None)


def test_an_answer_that_never_counted_moves_nothing(make_image: MakeImage) -> None:
    # Given an item whose only score is not counted (held back, no first answer time)
    image = make_image(score=9, counted=False, first_answered_at=None)
    # Then neither its insert nor its removal moves the counts
    assert parse("INSERT", None, image) is None
    assert parse("REMOVE", image, None) is None


def test_a_retraction_record_subtracts_the_answer(make_image: MakeImage) -> None:
    # Given a MODIFY from a counted 9 to the same 9 retracted as automated
    transition = parse("MODIFY", make_image(score=9, version=1), retracted_image(make_image))

    # Then the 9 leaves the counts
    assert transition is not None
    assert (transition.old_score, transition.new_score) == (9, None)
    assert transition.moves_counts
    deltas = transition.deltas()
    assert len(deltas) == 24
    assert all(counters == {"promoters": -1, "score_9": -1} for counters in deltas.values())


def test_a_retraction_record_becomes_a_retracted_event(make_image: MakeImage) -> None:
    transition = parse("MODIFY", make_image(score=9, version=1), retracted_image(make_image))
    assert transition is not None

    # When the event for it is built
    event = scored_event(transition)

    # Then it is NPS Response Retracted, reason "automated", at the stream record's time
    assert event is not None
    assert event.detail_type == RESPONSE_RETRACTED == "NPS Response Retracted"
    detail = ResponseRetractedDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.event_id == "inv_1:2:retracted"
    assert detail.reason == "automated"
    assert (detail.previous_score, detail.previous_category) == (9, Category.PROMOTER)
    assert detail.version == 2
    assert detail.retracted_at == RETRACTED_AT_RECORD
    assert (detail.survey_id, detail.wave_id, detail.contact_id) == ("srv_1", "wave_1", "ct_1")
    assert detail.segments == {"region": "EU", "plan": "pro"}


def test_a_held_back_answer_counted_by_its_comment_is_a_first_answer(make_image: MakeImage) -> None:
    # Given a retracted 4 that a comment counts again (record_score with source "comment")
    old = retracted_image(make_image, score=4, version=2)
    new = make_image(score=4, version=3, source="comment", answered_at="2026-11-20T09:10:00.000Z")

    # When parsed and turned into an event
    transition = parse("MODIFY", old, new)
    assert transition is not None
    event = scored_event(transition)

    # Then it adds the 4 and is scored as a first answer (nothing counted before)
    assert (transition.old_score, transition.new_score) == (None, 4)
    assert event is not None
    assert event.detail_type == RESPONSE_SCORED
    detail = ResponseScoredDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.previous_score is None
    assert detail.event_id == "inv_1:3"


# --------------------------------------------------------------------------------------------------
# retracted_event
# --------------------------------------------------------------------------------------------------


def test_retracted_event_of_a_removal(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given a counted 6 with a comment, removed at version 4
    secret = "alice@example.com"
    transition = make_transition(make_item(score=6, version=3, comment=secret), None, version=4)

    # When the retraction event is built
    event = retracted_event(transition)

    # Then it says "removed", is ordered by the removal's version, and carries ids only
    assert event is not None
    detail = ResponseRetractedDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.event_id == "inv_1:4:retracted"
    assert detail.reason == "removed"
    assert (detail.previous_score, detail.previous_category) == (6, Category.DETRACTOR)
    assert detail.retracted_at == NOW
    payload = detail_json(event.detail)
    assert payload["schema_version"] == "1.0"
    assert "comment" not in payload
    assert secret not in json.dumps(payload)


def test_retracted_event_when_an_answer_stops_counting(make_item: MakeItem, make_transition: MakeTransition) -> None:
    transition = make_transition(
        make_item(score=2, version=1), make_item(score=2, version=2, counted=False, first_answered_at=None)
    )
    event = retracted_event(transition)
    assert event is not None
    detail = ResponseRetractedDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.reason == "automated"
    assert detail.version == 2


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (None, {"score": 9}),
        ({"score": 6}, {"score": 9, "version": 2}),
        ({"score": 8}, {"score": 8, "version": 2, "comment": "ok"}),
        ({"score": 4, "counted": False}, None),
        ({"score": 4, "counted": False}, {"score": 5, "counted": False, "version": 2}),
        ({"score": 4, "first_answered_at": None}, None),
    ],
    ids=["first-answer", "change", "comment-only", "uncounted-removed", "uncounted-changed", "never-answered"],
)
def test_no_retracted_event_unless_a_counted_answer_stops_counting(
    make_item: MakeItem,
    make_transition: MakeTransition,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> None:
    transition = make_transition(
        make_item(**old) if old is not None else None,
        make_item(**new) if new is not None else None,
        version=2,
    )
    assert retracted_event(transition) is None


def test_retracted_event_reason_is_a_closed_set() -> None:
    fields: dict[str, Any] = {
        "event_id": "inv_1:2:retracted",
        "survey_id": "srv_1",
        "wave_id": "wave_1",
        "invite_id": "inv_1",
        "contact_id": "ct_1",
        "channel": "email",
        "locale": "en",
        "segments": {},
        "previous_score": 9,
        "previous_category": "promoter",
        "version": 2,
        "retracted_at": NOW,
    }
    assert ResponseRetractedDetail.model_validate(fields | {"reason": "automated"}).reason == "automated"
    with pytest.raises(ValidationError):
        ResponseRetractedDetail.model_validate(fields | {"reason": "changed_mind"})


# --------------------------------------------------------------------------------------------------
# comment_event
# --------------------------------------------------------------------------------------------------


def test_comment_event_for_a_first_comment_on_a_new_item(make_item: MakeItem) -> None:
    event = comment_event(None, make_item(score=3, comment="Too expensive", comment_at=NOW))
    assert event is not None
    assert event.detail_type == COMMENT_RECEIVED
    detail = CommentReceivedDetail.model_validate_json(event.detail.model_dump_json())
    assert detail.commented_at == NOW
    assert detail.category is Category.DETRACTOR


def test_comment_event_time_falls_back_to_the_answer_times(make_item: MakeItem) -> None:
    # Given comments without a comment time / Then the answer time, else the first answer time, is used
    answered = make_item(comment="ok", answered_at=NOW)
    first_only = make_item(comment="ok", answered_at=None)
    for item, expected in ((answered, NOW), (first_only, first_only.first_answered_at)):
        event = comment_event(None, item)
        assert event is not None
        detail = CommentReceivedDetail.model_validate_json(event.detail.model_dump_json())
        assert detail.commented_at == expected


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"comment": "ok"}, None),
        (None, {"comment": None}),
        (None, {"comment": ""}),
        (None, {"comment": "ok", "score": None}),
        (None, {"comment": "ok", "comment_at": None, "answered_at": None, "first_answered_at": None}),
        ({"comment": "ok"}, {"comment": "ok", "version": 2}),
    ],
    ids=["removed", "no-comment", "empty-comment", "no-score", "no-time", "same-comment"],
)
def test_no_comment_event_unless_a_scored_response_gains_or_changes_a_comment(
    make_item: MakeItem, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> None:
    assert comment_event(make_item(**old) if old else None, make_item(**new) if new else None) is None


# --------------------------------------------------------------------------------------------------
# ScoringService
# --------------------------------------------------------------------------------------------------


def test_apply_commits_before_it_publishes(
    aggregate_store: FakeAggregateStore,
    publisher: FakePublisher,
    make_item: MakeItem,
    make_transition: MakeTransition,
) -> None:
    # Given a batch with a first answer, a score change, a removal
    transitions = [
        make_transition(None, make_item(invite_id="inv_a", score=9)),
        make_transition(make_item(invite_id="inv_b", score=6), make_item(invite_id="inv_b", score=8, version=2)),
        make_transition(make_item(invite_id="inv_c", score=2), None, version=2),
    ]
    service = ScoringService(aggregate_store, publisher)

    # When the batch is applied
    result = service.apply(transitions, NOW)

    # Then the aggregates are committed first with the whole batch, then one event per transition is
    # published in batch order: two scored, and a retraction for the removal
    assert aggregate_store.log.calls == ["commit", "publish"]
    assert aggregate_store.commits == [(transitions, NOW)]
    assert len(publisher.published) == 1
    assert [(e.detail_type, detail_json(e.detail)["invite_id"]) for e in publisher.published[0]] == [
        (RESPONSE_SCORED, "inv_a"),
        (RESPONSE_SCORED, "inv_b"),
        (RESPONSE_RETRACTED, "inv_c"),
    ]
    assert isinstance(result, BatchResult)
    assert result.commit.transitions == 3
    assert result.events_published == 3


def test_nothing_is_published_when_the_commit_fails(
    aggregate_store: FakeAggregateStore,
    publisher: FakePublisher,
    make_item: MakeItem,
    make_transition: MakeTransition,
) -> None:
    aggregate_store.fail_with = RuntimeError("transaction cancelled")
    service = ScoringService(aggregate_store, publisher)
    with pytest.raises(RuntimeError, match="transaction cancelled"):
        service.apply([make_transition(None, make_item())], NOW)
    assert aggregate_store.log.calls == ["commit"]
    assert publisher.published == []


def test_publisher_is_not_called_without_events(
    aggregate_store: FakeAggregateStore,
    publisher: FakePublisher,
    make_item: MakeItem,
    make_transition: MakeTransition,
) -> None:
    # Given a batch whose only transition moves no counted score (an uncounted answer changing)
    unmoved = make_transition(make_item(score=4, counted=False), make_item(score=5, counted=False, version=2))
    assert not unmoved.moves_counts
    # When applied / Then the aggregates are committed but there is nothing to publish
    result = ScoringService(aggregate_store, publisher).apply([unmoved], NOW)
    assert aggregate_store.log.calls == ["commit"]
    assert result.events_published == 0


def test_empty_batch_still_commits_and_publishes_nothing(
    aggregate_store: FakeAggregateStore, publisher: FakePublisher
) -> None:
    result = ScoringService(aggregate_store, publisher).apply([], NOW)
    assert aggregate_store.log.calls == ["commit"]
    assert result.events_published == 0
    assert result.commit.transitions == 0


def test_other_events_are_published_after_the_scored_events(
    aggregate_store: FakeAggregateStore,
    publisher: FakePublisher,
    make_item: MakeItem,
    make_transition: MakeTransition,
) -> None:
    # Given a first answer and, from another record of the batch, a comment event
    comment = comment_event(None, make_item(invite_id="inv_b", score=8, comment="ok", comment_at=NOW))
    assert comment is not None
    transitions = [make_transition(None, make_item(invite_id="inv_a", score=9))]

    # When applied
    result = ScoringService(aggregate_store, publisher).apply(transitions, NOW, [comment])

    # Then one publish call carries the scored event, then the comment event
    assert aggregate_store.log.calls == ["commit", "publish"]
    assert [e.detail_type for e in publisher.published[0]] == [RESPONSE_SCORED, COMMENT_RECEIVED]
    assert publisher.published[0][1] is comment
    assert result.events_published == 2


def test_a_batch_of_comments_only_commits_nothing_and_publishes_the_comments(
    aggregate_store: FakeAggregateStore, publisher: FakePublisher, make_item: MakeItem
) -> None:
    comment = comment_event(None, make_item(comment="ok", comment_at=NOW))
    assert comment is not None
    events: list[Event] = [comment]
    result = ScoringService(aggregate_store, publisher).apply([], NOW, events)
    assert aggregate_store.log.calls == ["commit", "publish"]
    assert aggregate_store.commits == [([], NOW)]
    assert publisher.published == [events]
    assert result.events_published == 1


def test_a_sentiment_analysis_written_on_a_response_moves_nothing_and_publishes_nothing(
    make_image: MakeImage,
) -> None:
    # Given the comment sentiment function's write: the same version, score, comment and themes, plus
    # the analysis attributes (nps.responding.adapters.sentiment)
    old = make_image(score=3, version=2, comment="Support was slow", comment_at=COMMENTED_AT, themes=["support"])
    analysis = {
        "sentiment": "negative",
        "sentiment_scores": {"negative": Decimal("0.97"), "positive": Decimal("0.01")},
        "key_phrases": [{"text": "Support", "score": Decimal("0.99")}],
        "sentiment_language": "en",
        "sentiment_truncated": False,
        "sentiment_digest": "sha256:00",
    }
    # When the stream delivers it
    parsed = parse_full("MODIFY", old, {**old, **analysis})
    # Then no count moves and no response or comment event is published again
    assert parsed.transition is None
    assert parsed.comment is None
    # and the same holds for a skip record
    skipped = parse_full("MODIFY", old, {**old, "sentiment_skipped": "unsupported_language"})
    assert (skipped.transition, skipped.comment) == (None, None)
