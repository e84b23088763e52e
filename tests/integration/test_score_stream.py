"""The score function on moto's DynamoDB stream: aggregates exactly once, events to the bus."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.score import handler as score
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext
from nps.kernel import aws
from nps.kernel.periods import Granularity, period_keys
from nps.reasons.questions import FollowUpQuestions
from nps.scoring.adapters.aggregates import DynamoAggregateStore
from nps.scoring.aggregation import AggregateKey
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.support.taps import issue_invite


def run(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = score.lambda_handler(event, LambdaContext())
    return result


def aggregate_items(stack: LocalStack) -> dict[tuple[str, str], dict[str, int]]:
    """Every aggregate item's counters, ledger items excluded."""
    items = aws.client("dynamodb").scan(TableName=stack.tables["aggregates"])["Items"]
    return {
        (i["pk"]["S"], i["period"]["S"]): {k: int(v["N"]) for k, v in i.items() if "N" in v}
        for i in items
        if not i["pk"]["S"].startswith(("ledger#", "commit#"))
    }


def recount(stack: LocalStack) -> dict[tuple[str, str], dict[str, int]]:
    """The aggregates computed directly from the responses table: categories, scores, CSAT and CES values,
    by all segments, each segment value, the driver chosen and each theme of the comment."""
    expected: dict[tuple[str, str], Counter[str]] = {}
    for item in aws.client("dynamodb").scan(TableName=stack.tables["responses"])["Items"]:
        if "score" not in item:
            continue
        value = int(item["score"]["N"])
        at = datetime.fromisoformat(item["first_answered_at"]["S"].replace("Z", "+00:00"))
        segments = ["*"] + [f"{d}={v['S']}" for d, v in sorted(item["segments"]["M"].items())]
        segments += [f"driver={item['driver']['S']}"] if "driver" in item else []
        segments += sorted({f"theme={t['S']}" for t in item.get("themes", {}).get("L", [])})
        counters = [f"score_{value}", "promoters" if value >= 9 else "passives" if value >= 7 else "detractors"]
        counters += [f"{name}_{item[name]['N']}" for name in ("csat", "ces") if name in item]
        for granularity, period in period_keys(at).items():
            for segment in segments:
                for channel in ("*", item["channel"]["S"]):
                    key = (f"{item['survey_id']['S']}#{granularity.value}#{segment}#{channel}", period)
                    counts = expected.setdefault(key, Counter())
                    for name in counters:
                        counts[name] += 1
    return {key: dict(counts) for key, counts in expected.items()}


def nonzero(items: dict[tuple[str, str], dict[str, int]]) -> dict[tuple[str, str], dict[str, int]]:
    return {k: {n: v for n, v in c.items() if v} for k, c in items.items() if any(c.values())}


def follow_ups(stack: LocalStack) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    sqs = aws.client("sqs")
    while True:
        batch = sqs.receive_message(QueueUrl=stack.follow_up_queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=stack.follow_up_queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def reader(platform: LocalStack) -> StreamReader:
    return StreamReader(platform.stream_arns["responses"], batch_size=7)


#: A survey that asks every follow-up question and tags comments about price and support.
REASONS_SURVEY: dict[str, Any] = {
    "survey_id": "survey-1",
    "name": "Reasons",
    "brand_name": "Acme",
    "sender": "surveys@example.com",
    "channels": ["email", "sms"],
    "locales": ["en"],
    "segment_dimensions": ["plan", "region"],
    "reasons": {
        "drivers": [{"id": d, "label": {"en": d.title()}} for d in ("price", "support", "ux")],
        "csat": {"enabled": True},
        "ces": {"enabled": True},
        "themes": [
            {"id": "price", "label": {"en": "Price"}, "phrases": {"en": ["price", "expensive"]}},
            {"id": "support", "label": {"en": "Support"}, "phrases": {"en": ["support", "help desk"]}},
        ],
    },
}
COMMENTS = ("Too expensive", "Support was slow", "because", "The price, and the help desk never called")


def put_reasons_survey(stack: LocalStack) -> FollowUpQuestions:
    survey = Survey.model_validate(REASONS_SURVEY)
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    questions = survey.follow_up_questions("en")
    assert questions is not None
    return questions


def tap_a_campaign(stack: LocalStack) -> None:
    """Scores, changed minds, comments tagged with themes, follow-up answers and their edits."""
    questions = put_reasons_survey(stack)
    scores = [0, 3, 6, 7, 8, 9, 10, 10, 9, 5, 2, 8, 9, 10, 4]
    for index, value in enumerate(scores):
        invite = issue_invite(
            stack,
            f"inv-{index}",
            channel="sms" if index % 3 == 0 else "email",
            segments={"plan": ["free", "pro"][index % 2], "region": ["emea", "amer", "apac"][index % 3]},
            questions=questions,
        )
        invite.tap(value)
        if index % 4 == 0:
            invite.tap((value + 5) % 11)  # a changed mind
        shown = (value + 5) % 11 if index % 4 == 0 else value
        if index % 5 == 0:
            invite.comment("because")
        if index % 3 == 1:
            answers = {"driver": ("price", "support", "ux")[index % 4 % 3], "csat": str(1 + index % 5)}
            invite.comment(COMMENTS[index % 4], shown, answers)
        if index % 6 == 1:
            # A changed answer (another driver and CES), then a new comment with other themes
            invite.comment("", shown, {"driver": "ux", "ces": str(1 + index % 7)})
            invite.comment(COMMENTS[(index // 6 + 1) % 4], shown)


def test_aggregates_equal_a_recount_from_the_responses_table(platform: LocalStack, reader: StreamReader) -> None:
    # Given a campaign with changed scores and comments
    tap_a_campaign(platform)
    # When the stream is scored batch by batch
    batches = reader.read_batches()
    assert len(batches) > 2
    for event in batches:
        assert run(event) == {"batchItemFailures": []}
    # Then every aggregate key holds exactly what a recount of the responses table gives
    settled = nonzero(aggregate_items(platform))
    assert settled == recount(platform)
    # (driver and theme slices, CSAT and CES counters included: the campaign has them)
    slices = {pk.split("#")[2] for pk, _ in settled}
    assert {"driver=price", "driver=ux", "theme=price", "theme=support"} <= slices
    assert any(name.startswith("csat_") for counters in settled.values() for name in counters)
    assert any(name.startswith("ces_") for counters in settled.values() for name in counters)


def test_replaying_batches_and_overlapping_sub_batches_leaves_aggregates_unchanged(
    platform: LocalStack, reader: StreamReader
) -> None:
    tap_a_campaign(platform)
    batches = reader.read_batches()
    for event in batches:
        run(event)
    settled = aggregate_items(platform)
    # Replay every batch, then sub-batches that overlap batch boundaries (as bisect-on-error retries do)
    records = [r for event in batches for r in event["Records"]]
    for event in batches:
        run(event)
    for start in range(0, len(records), 6):
        run({"Records": records[start : start + 5]})
        run({"Records": records[start + 2 : start + 11]})
    run({"Records": records})
    assert aggregate_items(platform) == settled
    assert nonzero(settled) == recount(platform)


def test_a_score_change_moves_the_response_between_categories(platform: LocalStack, reader: StreamReader) -> None:
    invite = issue_invite(platform, "inv-move", segments={"plan": "pro"})
    invite.tap(6)
    for event in reader.read_batches():
        run(event)
    invite.tap(9)
    for event in reader.read_batches():
        run(event)
    today = period_keys(datetime.now(UTC))[Granularity.DAY]
    counters = DynamoAggregateStore(platform.tables["aggregates"]).get(AggregateKey("survey-1", Granularity.DAY, today))
    assert counters["promoters"] == 1
    assert counters["detractors"] == 0
    assert counters["score_6"] == 0
    assert counters["score_9"] == 1


def test_detractor_events_reach_the_follow_up_queue_with_ids_only(platform: LocalStack, reader: StreamReader) -> None:
    issue_invite(platform, "inv-det").tap(2)
    issue_invite(platform, "inv-pro").tap(10)
    for event in reader.read_batches():
        run(event)
    (message,) = follow_ups(platform)
    assert message["source"] == "nps"
    assert message["detail-type"] == "NPS Response Scored"
    detail = message["detail"]
    assert detail["invite_id"] == "inv-det"
    assert detail["category"] == "detractor"
    assert detail["schema_version"] == "1.0"
    assert detail["event_id"] == "inv-det:1"
    assert "@" not in json.dumps(detail)


def test_a_change_event_carries_the_previous_score_and_category(platform: LocalStack, reader: StreamReader) -> None:
    invite = issue_invite(platform, "inv-change")
    invite.tap(9)
    invite.tap(6)
    for event in reader.read_batches():
        run(event)
    (message,) = follow_ups(platform)  # only the detractor (6) routes to follow-up
    detail = message["detail"]
    assert (detail["score"], detail["previous_score"]) == (6, 9)
    assert (detail["category"], detail["previous_category"]) == ("detractor", "promoter")
    assert detail["category_changed"] is True


def test_a_malformed_record_is_reported_and_records_after_it_wait_for_redelivery(
    platform: LocalStack, reader: StreamReader
) -> None:
    # Given a batch whose second scored record is poisoned (a score of 42)
    for index, value in enumerate([9, 3, 10]):
        issue_invite(platform, f"inv-p{index}").tap(value)
    records = reader.read_records()
    scored = [i for i, r in enumerate(records) if "score" in r["dynamodb"].get("NewImage", {})]
    poisoned_index = scored[1]
    poisoned = json.loads(json.dumps(records[poisoned_index]))
    poisoned["dynamodb"]["NewImage"]["score"] = {"N": "42"}
    batch = [*records[:poisoned_index], poisoned, *records[poisoned_index + 1 :]]
    # When the batch is scored
    result = run({"Records": batch})
    # Then the poisoned record is reported, and only the records before it were counted
    assert result["batchItemFailures"] == [{"itemIdentifier": poisoned["dynamodb"]["SequenceNumber"]}]
    today = period_keys(datetime.now(UTC))[Granularity.DAY]
    store = DynamoAggregateStore(platform.tables["aggregates"])
    assert store.get(AggregateKey("survey-1", Granularity.DAY, today)).get("promoters") == 1
    # When the stream redelivers from the failed record with the real data
    assert run({"Records": records[poisoned_index:]}) == {"batchItemFailures": []}
    counters = store.get(AggregateKey("survey-1", Granularity.DAY, today))
    assert (counters["promoters"], counters["detractors"]) == (2, 1)


def test_a_batch_that_cannot_publish_fails_and_its_retry_does_not_double_count(
    platform: LocalStack, reader: StreamReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_invite(platform, "inv-x").tap(1)
    (event,) = reader.read_batches()
    events = aws.client("events")
    real_put = events.put_events

    def failing_put(**kwargs: Any) -> dict[str, Any]:
        return {
            "FailedEntryCount": len(kwargs["Entries"]),
            "Entries": [{"ErrorCode": "InternalFailure"}] * len(kwargs["Entries"]),
        }

    monkeypatch.setattr(events, "put_events", failing_put)
    monkeypatch.setattr("nps.events.publisher.time.sleep", lambda _: None)
    with pytest.raises(Exception, match="could not be published"):
        run(event)
    monkeypatch.setattr(events, "put_events", real_put)
    assert run(event) == {"batchItemFailures": []}
    assert nonzero(aggregate_items(platform)) == recount(platform)
    assert len(follow_ups(platform)) == 1


def tap_a_wide_campaign(stack: LocalStack, count: int = 40) -> None:
    """Three segment dimensions with 2 × 3 × 4 values and two channels: over 100 keys per batch."""
    for index in range(count):
        invite = issue_invite(
            stack,
            f"wide-{index}",
            channel="sms" if index % 5 in (1, 3) else "email",
            segments={
                "plan": ["free", "pro"][index % 2],
                "region": ["emea", "amer", "apac"][index % 3],
                "tier": ["t1", "t2", "t3", "t4"][index % 4],
            },
        )
        invite.tap(index % 11)


def count_key_writes(monkeypatch: pytest.MonkeyPatch) -> list[Counter[tuple[str, str]]]:
    """Record, per scored batch, how many times each aggregate key was written."""
    client = aws.client("dynamodb")
    real = client.transact_write_items
    per_batch: list[Counter[tuple[str, str]]] = []

    def counting(**kwargs: Any) -> Any:
        result = real(**kwargs)
        for action in kwargs["TransactItems"]:
            update = action.get("Update")
            if update and not update["Key"]["pk"]["S"].startswith(("ledger#", "commit#")):
                per_batch[-1][(update["Key"]["pk"]["S"], update["Key"]["period"]["S"])] += 1
        return result

    monkeypatch.setattr(client, "transact_write_items", counting)
    return per_batch


def test_a_batch_with_more_keys_than_one_transaction_writes_each_key_once(
    platform: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch touching more than 100 aggregate keys
    tap_a_wide_campaign(platform)
    (event,) = StreamReader(platform.stream_arns["responses"], batch_size=200).read_batches()
    writes = count_key_writes(monkeypatch)
    # When it is scored
    writes.append(Counter())
    assert run(event) == {"batchItemFailures": []}
    # Then it commits in chunks, every key written exactly once, and the counts are right
    assert len(writes[0]) > 100
    assert set(writes[0].values()) == {1}
    assert nonzero(aggregate_items(platform)) == recount(platform)
    # And a replay, whole or in overlapping parts, changes nothing
    settled = aggregate_items(platform)
    records = event["Records"]
    for part in (records, records[: len(records) // 2], records[len(records) // 3 :]):
        writes.append(Counter())
        run({"Records": part})
    assert aggregate_items(platform) == settled
    assert all(not batch for batch in writes[1:])


def test_an_interrupted_chunked_commit_is_finished_by_the_retry_without_double_counting(
    platform: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nps.scoring.adapters.aggregates import DynamoAggregateStore as Store

    tap_a_wide_campaign(platform)
    (event,) = StreamReader(platform.stream_arns["responses"], batch_size=200).read_batches()
    # Given the function dies after the ledger claim and the first chunk of keys
    real_finish = Store._finish

    def crash_after_first_chunk(self: Store, *args: Any) -> None:
        commit_id, claims, total, now, stats = args[:5]
        real_finish(self, commit_id, claims, total, now, stats, frozenset(range(1, 1000)))  # chunk 0 only
        raise RuntimeError("function timed out")

    monkeypatch.setattr(Store, "_finish", crash_after_first_chunk)
    with pytest.raises(RuntimeError, match="timed out"):
        run(event)
    monkeypatch.setattr(Store, "_finish", real_finish)
    assert nonzero(aggregate_items(platform)) != recount(platform)
    # When the stream retries with a bisected half of the batch, then the other half
    records = event["Records"]
    middle = len(records) // 2
    assert run({"Records": records[:middle]}) == {"batchItemFailures": []}
    assert run({"Records": records[middle:]}) == {"batchItemFailures": []}
    # Then the interrupted commit was finished from its record and nothing counts twice
    assert nonzero(aggregate_items(platform)) == recount(platform)


def spread_over_seconds(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as if created one second apart: one ledger item each, so claims need several transactions."""
    spread: list[dict[str, Any]] = json.loads(json.dumps(records))
    first = int(spread[0]["dynamodb"]["ApproximateCreationDateTime"])
    for offset, record in enumerate(spread):
        record["dynamodb"]["ApproximateCreationDateTime"] = first + offset
    return spread


@settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(crash_after=st.integers(1, 3), cuts=st.lists(st.integers(1, 119), max_size=3, unique=True))
def test_a_crash_between_sharded_ledger_claims_and_any_replay_count_each_answer_once(
    platform: LocalStack, crash_after: int, cuts: list[int]
) -> None:
    # Given a batch whose ledger claims span more items than one transaction holds (two claim
    # transactions, then two chunks of aggregate keys: four in all), on a fresh table
    clear_table(platform.tables["aggregates"])
    if not scan_count(platform.tables["responses"]):
        tap_a_wide_campaign(platform, count=120)
    (event,) = StreamReader(platform.stream_arns["responses"], batch_size=500).read_batches()
    records = spread_over_seconds(event["Records"])
    assert len(records) >= 120
    client = aws.client("dynamodb")
    real = client.transact_write_items
    calls = 0

    def dies_after_some_transactions(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > crash_after:
            raise RuntimeError("function timed out")
        return real(**kwargs)

    # When the function dies after ``crash_after`` of them (between claims, or between chunks)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client, "transact_write_items", dies_after_some_transactions)
        with pytest.raises(RuntimeError, match="timed out"):
            run({"Records": records})
    # And the stream delivers the batch again in other pieces (which land on other ledger items and
    # claim groups than the first attempt), then whole
    bounds = [0, *sorted(cuts), len(records)]
    for start, end in itertools.pairwise(bounds):
        if start < end:
            assert run({"Records": records[start:end]}) == {"batchItemFailures": []}
    assert run({"Records": records}) == {"batchItemFailures": []}
    # Then every answer counts exactly once
    assert nonzero(aggregate_items(platform)) == recount(platform)


def clear_table(table: str) -> None:
    client = aws.client("dynamodb")
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            client.delete_item(TableName=table, Key={"pk": item["pk"], "period": item["period"]})


def scan_count(table: str) -> int:
    return int(aws.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])


def test_a_new_comment_publishes_a_comment_event_without_its_text(platform: LocalStack, reader: StreamReader) -> None:
    # Given a subscriber rule for comment events (routed to a queue here)
    events = aws.client("events")
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="comments")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="comments",
        EventBusName=platform.bus_name,
        EventPattern=json.dumps({"source": ["nps"], "detail-type": ["NPS Comment Received"]}),
    )
    events.put_targets(Rule="comments", EventBusName=platform.bus_name, Targets=[{"Id": "q", "Arn": queue_arn}])
    # When a detractor answers and then explains, with a driver and a CSAT, and the stream is scored
    # (twice, as on a retry)
    invite = issue_invite(platform, "inv-why", questions=put_reasons_survey(platform))
    invite.tap(4)
    invite.comment("Call me at +1 555 0100, support never answered", 4, {"driver": "support", "csat": "1"})
    batches = reader.read_batches()
    for event in batches + batches:
        run(event)
    # Then comment events carry ids, score and length, never the text (stable id for dedupe)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    details = [json.loads(m["Body"])["detail"] for m in messages]
    assert {d["event_id"] for d in details} == {"inv-why:2:comment"}
    detail = details[0]
    assert (detail["category"], detail["score"], detail["comment_length"]) == ("detractor", 4, 46)
    assert "555" not in json.dumps(detail)
    # and the follow-up answers and the comment's themes
    assert (detail["driver"], detail["csat"], detail["ces"], detail["themes"]) == ("support", 1, None, ["support"])
