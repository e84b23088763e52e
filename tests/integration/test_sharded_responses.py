"""On moto: a survey's answers are spread over the ``by_survey_shard`` index, and readers see all of them.

Pages merged from every shard come in one order (first answer time, then invite id) without repeats or
gaps, also across answers of the same millisecond; responses written before ``survey_shard`` existed are
read from the previous index until ``nps responses backfill-shards`` has given them a shard. A fresh
stack has no previous index (``stack``); a stack upgrading from the previous release keeps it for one
deploy (``upgrading``, as ``-c keepRetiringIndexes=true`` deploys it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from local.environment import LocalStack
from nps.kernel import aws
from nps.kernel.categories import categorize
from nps.kernel.periods import iso_timestamp
from nps.kernel.tables import RESPONSE_SURVEY_SHARDS, RESPONSES_BY_SURVEY, SHARDED_RESPONSES_MARKER, survey_shard
from nps.reporting.adapters.reads import DynamoResponseReader, StoredResponse
from nps.reporting.ranges import DateRange
from nps.responding.adapters.invites import Invite
from nps.responding.adapters.responses import DynamoResponseRepository, backfill_survey_shards

SURVEY = "viral"
SPAN = DateRange(date(2026, 3, 1), date(2026, 3, 31))
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _stack(keep_retiring_indexes: bool) -> Iterator[LocalStack]:
    from moto import mock_aws

    from local.environment import create_stack

    saved = dict(os.environ)
    with mock_aws():
        aws.reset_clients()
        yield create_stack("shards", keep_retiring_indexes=keep_retiring_indexes)
    aws.reset_clients()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """Tables as a fresh deployment creates them: no previous ``by_survey`` index."""
    yield from _stack(keep_retiring_indexes=False)


@pytest.fixture
def upgrading() -> Iterator[LocalStack]:
    """Tables as the upgrade deploy from the previous release leaves them: ``by_survey`` is still there."""
    yield from _stack(keep_retiring_indexes=True)


def index_names(stack: LocalStack, table: str) -> set[str]:
    described = aws.client("dynamodb").describe_table(TableName=stack.tables[table])["Table"]
    return {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}


def recording_queries(calls: list[str]) -> Any:
    """Patch the DynamoDB client so each ``Query`` appends its index name (or ``table``) to ``calls``."""
    client = aws.client("dynamodb")
    original = client.query

    def recording(**kwargs: Any) -> Any:
        calls.append(kwargs.get("IndexName", "table"))
        return original(**kwargs)

    return mock.patch.object(client, "query", recording)


def invite(number: int, survey_id: str = SURVEY) -> Invite:
    return Invite(
        invite_id=f"{number:04d}-invite-{number * 7919 % 10007:05d}",
        survey_id=survey_id,
        wave_id="w1",
        contact_id=f"c{number}",
        channel="email",
        locale="en",
        expires_at=2_000_000_000,
        sent_at=iso_timestamp(START - timedelta(days=1)),
        segments={"plan": "pro" if number % 2 else "free"},
    )


def answer(stack: LocalStack, number: int, at: datetime, score: int) -> None:
    """Record a first answer through the respond function's repository at ``at``."""
    repository = DynamoResponseRepository(stack.tables["responses"])
    repository.record_score(invite(number), score, categorize(score), iso_timestamp(at))


def legacy_answer(stack: LocalStack, number: int, at: datetime, score: int) -> None:
    """A response as the previous release stored it: the same attributes, no ``survey_shard``."""
    item = invite(number)
    aws.client("dynamodb").put_item(
        TableName=stack.tables["responses"],
        Item={
            "invite_id": {"S": item.invite_id},
            "survey_id": {"S": SURVEY},
            "wave_id": {"S": "w1"},
            "contact_id": {"S": item.contact_id},
            "channel": {"S": "email"},
            "locale": {"S": "en"},
            "segments": {"M": {k: {"S": v} for k, v in item.segments.items()}},
            "score": {"N": str(score)},
            "category": {"S": categorize(score).value},
            "counted": {"BOOL": True},
            "version": {"N": "1"},
            "first_answered_at": {"S": iso_timestamp(at)},
            "answered_at": {"S": iso_timestamp(at)},
            "source": {"S": "link"},
        },
    )


def order(response: StoredResponse) -> tuple[str, str]:
    return response.first_answered_at, response.invite_id


def every_page(reader: DynamoResponseReader, limit: int, **filters: Any) -> list[StoredResponse]:
    found: list[StoredResponse] = []
    cursor: str | None = None
    while True:
        page = reader.page(SURVEY, SPAN, limit=limit, cursor=cursor, **filters)
        assert len(page.responses) <= limit
        found += page.responses
        cursor = page.next_cursor
        if cursor is None:
            return found


def test_answers_are_written_to_the_shard_their_invite_id_hashes_to_and_spread_over_all(stack: LocalStack) -> None:
    # Given 120 answers of one survey
    for number in range(120):
        answer(stack, number, START + timedelta(seconds=number), 9)
    # Then each carries the shard of its invite id, and the shards are well spread
    items = aws.client("dynamodb").scan(TableName=stack.tables["responses"])["Items"]
    assert len(items) == 120
    shards = {item["survey_shard"]["S"] for item in items}
    assert all(item["survey_shard"]["S"] == survey_shard(SURVEY, item["invite_id"]["S"]) for item in items)
    assert len(shards) > RESPONSE_SURVEY_SHARDS * 3 // 4  # 31 of 32 expected, 24 is very unlikely to miss


@pytest.mark.parametrize("newest_first", [False, True])
def test_pages_merged_from_every_shard_hold_each_answer_once_in_order(stack: LocalStack, newest_first: bool) -> None:
    # Given 48 answers, six to a millisecond (ties across and within shards)
    for number in range(48):
        answer(stack, number, START + timedelta(milliseconds=number // 6), 10 - number % 11)
    # When they are read in pages of 7 (page boundaries fall inside runs of the same millisecond)
    reader = DynamoResponseReader(stack.tables["responses"], stack.tables["aggregates"])
    found = every_page(reader, 7, newest_first=newest_first)
    # Then every answer comes exactly once, in (time, invite id) order
    assert len(found) == 48
    assert [order(r) for r in found] == sorted((order(r) for r in found), reverse=newest_first)
    assert len({r.invite_id for r in found}) == 48
    # And filtered pages and counts agree with the answers
    detractors = every_page(reader, 9, newest_first=newest_first, category="detractor")
    expected = {invite(n).invite_id for n in range(48) if 10 - n % 11 <= 6}
    assert {r.invite_id for r in detractors} == expected
    assert reader.count(SURVEY, SPAN, category="detractor") == len(expected)
    assert [r.invite_id for r in reader.all(SURVEY, SPAN, page_size=64)] == [
        r.invite_id for r in sorted(found, key=order)
    ]


def test_a_page_reads_about_its_size_plus_a_few_items_per_shard(stack: LocalStack) -> None:
    for number in range(160):
        answer(stack, number, START + timedelta(seconds=number), 8)
    reader = DynamoResponseReader(stack.tables["responses"], stack.tables["aggregates"])
    backfill_survey_shards(stack.tables["responses"], stack.tables["aggregates"])  # no previous index to read
    page = reader.page(SURVEY, SPAN, limit=20)
    assert len(page.responses) == 20
    # Two items asked of each shard first, then more only from the shards the page drew on.
    assert reader.items_read <= 20 + 4 * RESPONSE_SURVEY_SHARDS


def test_older_responses_are_read_from_the_previous_index_until_the_backfill_shards_them(upgrading: LocalStack) -> None:
    stack = upgrading
    # Given answers from before the upgrade (no shard) and after it
    for number in range(30):
        legacy_answer(stack, number, START + timedelta(seconds=number), 3)
    for number in range(30, 60):
        answer(stack, number, START + timedelta(seconds=number), 9)
    # When reports read before the backfill
    before = DynamoResponseReader(stack.tables["responses"], stack.tables["aggregates"])
    assert before.reads_previous_index()
    # Then they see every answer once (the previous index gives only the unsharded ones)
    assert len(every_page(before, 8)) == 60
    assert before.count(SURVEY, SPAN) == 60
    assert before.count(SURVEY, SPAN, category="detractor") == 30

    # When the backfill runs (twice: it is idempotent)
    first = backfill_survey_shards(stack.tables["responses"], stack.tables["aggregates"], page_size=7)
    again = backfill_survey_shards(stack.tables["responses"], stack.tables["aggregates"])
    assert (first.scanned, first.sharded, first.already_sharded, first.marked) == (60, 30, 30, True)
    assert (again.sharded, again.already_sharded) == (0, 60)
    marker = aws.client("dynamodb").get_item(TableName=stack.tables["aggregates"], Key=_marker_key())
    assert "Item" in marker

    # Then readers no longer query the previous index, and still see every answer
    after = DynamoResponseReader(stack.tables["responses"], stack.tables["aggregates"])
    assert not after.reads_previous_index()
    calls: list[str] = []
    with recording_queries(calls):
        assert len(every_page(after, 8)) == 60
        assert after.count(SURVEY, SPAN, category="detractor") == 30
    assert RESPONSES_BY_SURVEY.name not in calls


def test_a_reader_without_the_marker_table_always_reads_the_previous_index_too(upgrading: LocalStack) -> None:
    stack = upgrading
    legacy_answer(stack, 1, START, 10)
    reader = DynamoResponseReader(stack.tables["responses"])
    assert reader.reads_previous_index()
    assert [r.invite_id for r in reader.all(SURVEY, SPAN)] == [invite(1).invite_id]


def test_a_cursor_past_the_range_returns_an_empty_last_page(stack: LocalStack) -> None:
    answer(stack, 1, START, 10)
    reader = DynamoResponseReader(stack.tables["responses"], stack.tables["aggregates"])
    page = reader.page(SURVEY, SPAN, limit=1)
    assert page.next_cursor is None
    assert len(page.responses) == 1
    (response,) = page.responses
    from nps.reporting.adapters.reads import encode_cursor

    late = encode_cursor(
        {"invite_id": {"S": "z"}, "survey_id": {"S": SURVEY}, "first_answered_at": {"S": "2027-01-01T00:00:00.000Z"}}
    )
    assert reader.page(SURVEY, SPAN, limit=5, cursor=late).responses == []
    assert response.invite_id == invite(1).invite_id


def _marker_key() -> dict[str, Any]:
    return {name: {"S": value} for name, value in SHARDED_RESPONSES_MARKER.items()}


def test_the_backfill_update_moves_no_count_and_publishes_nothing(upgrading: LocalStack) -> None:
    stack = upgrading
    # Given an older response with a comment, as the stream sees it before and after its backfill update
    legacy_answer(stack, 5, START, 4)
    key = {"invite_id": {"S": invite(5).invite_id}}
    table = stack.tables["responses"]
    aws.client("dynamodb").update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #c = :c, #ca = :at",
        ExpressionAttributeNames={"#c": "comment", "#ca": "comment_at"},
        ExpressionAttributeValues={":c": {"S": "slow"}, ":at": {"S": iso_timestamp(START)}},
    )
    old = aws.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    backfill_survey_shards(table, stack.tables["aggregates"])
    new = aws.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    assert new == {**old, "survey_shard": {"S": survey_shard(SURVEY, invite(5).invite_id)}}
    # When the score function reads that record, then it is neither a count transition nor a comment
    from nps.scoring.stream import parse_record

    parsed = parse_record("MODIFY", key, old, new, "1", START.timestamp())
    assert (parsed.transition, parsed.comment) == (None, None)


def test_a_fresh_stack_has_only_the_indexes_this_release_reads(stack: LocalStack) -> None:
    assert index_names(stack, "responses") == {"by_survey_shard"}
    assert index_names(stack, "aggregates") == {"by_survey_period"}


def test_an_upgrading_stack_keeps_the_previous_indexes_beside_the_new_ones(upgrading: LocalStack) -> None:
    assert index_names(upgrading, "responses") == {"by_survey_shard", RESPONSES_BY_SURVEY.name}
    assert index_names(upgrading, "aggregates") == {"by_survey_period", "by_survey"}


@pytest.mark.parametrize("with_marker_table", [True, False])
def test_a_reader_on_a_stack_without_the_previous_index_reads_every_answer_after_one_refused_query(
    stack: LocalStack, with_marker_table: bool
) -> None:
    # Given a fresh stack (no previous index, no backfill marker) with 40 answers, every fifth a detractor
    for number in range(40):
        answer(stack, number, START + timedelta(seconds=number), 3 if number % 5 == 0 else 9)
    reader = DynamoResponseReader(stack.tables["responses"], stack.tables["aggregates"] if with_marker_table else None)
    assert reader.reads_previous_index()  # no marker: it cannot know yet
    calls: list[str] = []
    # When reports page, count and export them
    with recording_queries(calls):
        found = every_page(reader, 7)
        detractors = reader.count(SURVEY, SPAN, category="detractor")
        exported = list(reader.all(SURVEY, SPAN))
    # Then every answer is there once, and the previous index was asked once, then never again
    assert len(found) == len({r.invite_id for r in found}) == 40
    assert detractors == 8
    assert [r.invite_id for r in exported] == [r.invite_id for r in found]
    assert calls.count(RESPONSES_BY_SURVEY.name) == 1
    assert not reader.reads_previous_index()


def test_a_refused_query_of_the_shards_is_raised_not_taken_for_a_missing_previous_index(stack: LocalStack) -> None:
    # A missing table (also ResourceNotFoundException in moto) is an error, never "no previous index".
    reader = DynamoResponseReader(f"{stack.tables['responses']}-gone")
    with pytest.raises(Exception, match="ResourceNotFound"):
        reader.count(SURVEY, SPAN)
    assert reader.reads_previous_index()


def test_any_other_refusal_of_the_previous_index_is_raised_and_the_index_is_asked_again(upgrading: LocalStack) -> None:
    from botocore.exceptions import ClientError

    legacy_answer(upgrading, 1, START, 10)
    reader = DynamoResponseReader(upgrading.tables["responses"], upgrading.tables["aggregates"])
    client = aws.client("dynamodb")
    original = client.query

    def throttled(**kwargs: Any) -> Any:
        if kwargs.get("IndexName") == RESPONSES_BY_SURVEY.name:
            code, message = "ProvisionedThroughputExceededException", "Rate of requests exceeded"
            raise ClientError({"Error": {"Code": code, "Message": message}}, "Query")
        return original(**kwargs)

    with mock.patch.object(client, "query", throttled), pytest.raises(ClientError):
        reader.count(SURVEY, SPAN)
    assert reader.reads_previous_index()
    assert reader.count(SURVEY, SPAN) == 1


def test_the_backfill_on_a_fresh_stack_scans_the_table_and_marks_it_done(stack: LocalStack) -> None:
    answer(stack, 1, START, 10)
    done = backfill_survey_shards(stack.tables["responses"], stack.tables["aggregates"])
    assert (done.scanned, done.sharded, done.already_sharded, done.marked) == (1, 0, 1, True)
    reader = DynamoResponseReader(stack.tables["responses"], stack.tables["aggregates"])
    assert not reader.reads_previous_index()
