"""The comment sentiment function on moto, through the real handlers: a comment is tapped, scored on the
stream, its event reaches the function's queue, and Comprehend's result lands on the response once.

moto's Comprehend answers a canned result (``NEUTRAL``; key phrases without text), so what is checked
here is the wiring and the bookkeeping; the rules on real answers are in tests/unit/reasons/test_sentiment.py.
Every call is judged against the function's synthesized role by the permission recorder.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.comment_sentiment import handler as sentiment
from functions.score import handler as score
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext, sqs_record
from nps.kernel import aws
from nps.reasons.sentiment import comment_digest
from nps.responding.adapters.sentiment import ComprehendAnalyser
from tests.support.taps import issue_invite


@pytest.fixture
def stack(platform: LocalStack) -> Iterator[LocalStack]:
    sentiment.store.cache_clear()
    yield platform
    sentiment.store.cache_clear()


def score_stream(reader: StreamReader) -> None:
    for batch in reader.read_batches():
        assert score.lambda_handler(batch, LambdaContext())["batchItemFailures"] == []


def queued(stack: LocalStack) -> list[dict[str, Any]]:
    """The comment events waiting for the function, as SQS event records (left on the queue)."""
    sqs = aws.client("sqs")
    url = stack.comment_sentiment_queue_url
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [sqs_record(m, arn) for m in messages]


def run(records: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = sentiment.lambda_handler({"Records": records}, LambdaContext())
    return result


def item(stack: LocalStack, invite_id: str) -> dict[str, Any]:
    found: dict[str, Any] = aws.client("dynamodb").get_item(
        TableName=stack.tables["responses"], Key={"invite_id": {"S": invite_id}}, ConsistentRead=True
    )["Item"]
    return found


def comprehend_calls() -> list[str]:
    calls: list[str] = []
    aws.client("comprehend").meta.events.register(
        "before-call.comprehend.*", lambda model, **_: calls.append(model.name)
    )
    return calls


def aggregates(stack: LocalStack) -> list[dict[str, Any]]:
    return sorted(
        aws.client("dynamodb").scan(TableName=stack.tables["aggregates"])["Items"],
        key=lambda i: (i["pk"]["S"], i["period"]["S"]),
    )


def test_a_comment_is_analysed_once_in_its_locale_and_moves_no_aggregate(stack: LocalStack) -> None:
    reader = StreamReader(stack.stream_arns["responses"])
    calls = comprehend_calls()
    # Given a German detractor's comment, scored on the stream (which publishes NPS Comment Received)
    invite = issue_invite(stack, "inv-de", locale="de")
    invite.tap(3)
    assert invite.comment("Der Support hat nie zurückgerufen")["statusCode"] == 200
    score_stream(reader)
    (record,) = queued(stack)
    assert json.loads(record["body"])["detail"]["invite_id"] == "inv-de"
    counted = aggregates(stack)
    version = item(stack, "inv-de")["version"]

    # When the function runs on the event
    assert run([record])["batchItemFailures"] == []

    # Then Comprehend was asked once for each analysis, in German, and the result is on the response
    assert calls == ["DetectSentiment", "DetectKeyPhrases"]
    stored = item(stack, "inv-de")
    assert stored["sentiment"] == {"S": "neutral"}
    assert set(stored["sentiment_scores"]["M"]) == {"positive", "negative", "neutral", "mixed"}
    assert stored["sentiment_language"] == {"S": "de"}
    assert stored["sentiment_digest"] == {"S": comment_digest("Der Support hat nie zurückgerufen")}
    assert stored["key_phrases"] == {"L": []}  # moto's canned phrases carry no text
    assert stored["version"] == version  # not a new version of the answer

    # When the same event is delivered again
    assert run([record])["batchItemFailures"] == []
    # Then Comprehend is not called again
    assert calls == ["DetectSentiment", "DetectKeyPhrases"]

    # And the stream record of the analysis moves no aggregate and publishes no new comment event
    score_stream(reader)
    assert aggregates(stack) == counted
    assert [r["messageId"] for r in queued(stack)] == [record["messageId"]]  # only the first event


def test_an_unsupported_locale_is_recorded_as_skipped_without_calling_comprehend(stack: LocalStack) -> None:
    reader = StreamReader(stack.stream_arns["responses"])
    calls = comprehend_calls()
    invite = issue_invite(stack, "inv-nl", locale="nl")
    invite.tap(9)
    invite.comment("Snelle levering")
    score_stream(reader)
    assert run(queued(stack))["batchItemFailures"] == []
    stored = item(stack, "inv-nl")
    assert stored["sentiment_skipped"] == {"S": "unsupported_language"}
    assert "sentiment" not in stored
    assert calls == []


def test_throttling_fails_only_that_message_so_it_is_retried_and_nothing_is_stored(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = StreamReader(stack.stream_arns["responses"])
    for invite_id in ("inv-a", "inv-b"):
        invite = issue_invite(stack, invite_id)
        invite.tap(6)
        invite.comment(f"Comment of {invite_id}")
    score_stream(reader)
    records = queued(stack)
    assert len(records) == 2
    original = ComprehendAnalyser.detect

    def throttled_for_a(self: Any, text: str, language: str) -> Any:
        if "inv-a" in text:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "DetectSentiment")
        return original(self, text, language)

    monkeypatch.setattr(ComprehendAnalyser, "detect", throttled_for_a)
    result = run(records)

    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    by_invite = {json.loads(r["body"])["detail"]["invite_id"]: r["messageId"] for r in records}
    assert failed == {by_invite["inv-a"]}
    assert "sentiment" not in item(stack, "inv-a")
    assert item(stack, "inv-b")["sentiment"] == {"S": "neutral"}


def test_a_message_without_an_invite_fails_and_goes_to_the_dlq_after_its_retries(stack: LocalStack) -> None:
    # (SQS moves it to the DLQ after the queue's last receive: tests/infra/test_comment_sentiment.py)
    message = {"MessageId": "m-1", "ReceiptHandle": "h", "Body": json.dumps({"detail": {"invite_id": 7}})}
    record = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:comments")
    assert run([record])["batchItemFailures"] == [{"itemIdentifier": "m-1"}]


def test_the_report_shows_each_analysed_comments_label_in_comments_and_the_export(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from functions.report import handler as report
    from local.lambda_events import http_event

    reader = StreamReader(stack.stream_arns["responses"])
    for invite_id, locale in (("inv-en", "en"), ("inv-nl", "nl")):
        invite = issue_invite(stack, invite_id, locale=locale)
        invite.tap(4)
        invite.comment(f"Comment {invite_id}")
    score_stream(reader)
    assert run(queued(stack))["batchItemFailures"] == []
    # Given a stack that analyses comments
    report.responses.cache_clear()
    today = datetime.now(UTC).date().isoformat()
    query = {"from": today, "to": today}
    try:
        # When the comments and the export are read
        comments = report.lambda_handler(http_event("GET", "/reports/survey-1/comments", query), LambdaContext())
        export = report.lambda_handler(http_event("GET", "/reports/survey-1/export", query), LambdaContext())
        # (and once the comment changes, its old label is no longer shown until the new one is analysed)
        aws.client("dynamodb").update_item(
            TableName=stack.tables["responses"],
            Key={"invite_id": {"S": "inv-en"}},
            UpdateExpression="SET #c = :c",
            ExpressionAttributeNames={"#c": "comment"},
            ExpressionAttributeValues={":c": {"S": "A newer comment"}},
        )
        changed = report.lambda_handler(http_event("GET", "/reports/survey-1/comments", query), LambdaContext())
    finally:
        report.responses.cache_clear()
    # Then the analysed comment carries its label, the skipped one none
    labels = {c["invite_id"]: c["sentiment"] for c in json.loads(comments["body"])["comments"]}
    assert labels == {"inv-en": "neutral", "inv-nl": None}
    assert {c["invite_id"]: c["sentiment"] for c in json.loads(changed["body"])["comments"]} == {
        "inv-en": None,
        "inv-nl": None,
    }
    rows = list(csv.DictReader(io.StringIO(export["body"].removeprefix("\ufeff"))))
    assert {r["invite_id"]: r["sentiment"] for r in rows} == {"inv-en": "neutral", "inv-nl": ""}


def test_the_store_writes_only_while_the_analysed_comment_is_current_and_counts(stack: LocalStack) -> None:
    from nps.reasons.sentiment import Detection, analysis_of
    from nps.responding.adapters.sentiment import DynamoCommentStore

    table, client = stack.tables["responses"], aws.client("dynamodb")
    client.put_item(
        TableName=table,
        Item={
            "invite_id": {"S": "inv-x"},
            "comment": {"S": "newer"},
            "locale": {"S": "en"},
            "counted": {"BOOL": True},
            "sentiment_skipped": {"S": "unsupported_language"},
        },
    )
    store = DynamoCommentStore(table)
    detection = Detection("NEGATIVE", {"Negative": 0.9, "Positive": 0.1}, (("slow support", 0.93),))
    older = analysis_of(detection, "en", comment_digest("older"), truncated=False)
    newer = analysis_of(detection, "en", comment_digest("newer"), truncated=False)

    # An analysis of a comment the response no longer has is refused
    assert not store.store_analysis("inv-x", "older", older)
    assert "sentiment" not in item(stack, "inv-x")
    # The current comment's is written, and replaces an earlier skip
    assert store.store_analysis("inv-x", "newer", newer)
    stored = item(stack, "inv-x")
    assert stored["sentiment"] == {"S": "negative"}
    assert stored["key_phrases"] == {"L": [{"M": {"text": {"S": "slow support"}, "score": {"N": "0.9300"}}}]}
    assert "sentiment_skipped" not in stored
    assert store.current("inv-x") is not None
    assert store.current("inv-x").analysed_digest == comment_digest("newer")  # type: ignore[union-attr]
    # A skip removes an earlier analysis
    assert store.store_skipped("inv-x", "newer", comment_digest("newer"), "unsupported_language")
    assert not {"sentiment", "sentiment_scores", "key_phrases"} & set(item(stack, "inv-x"))
    # A retracted answer, or a deleted response, takes nothing (and no item is created)
    client.update_item(
        TableName=table,
        Key={"invite_id": {"S": "inv-x"}},
        UpdateExpression="SET counted = :false",
        ExpressionAttributeValues={":false": {"BOOL": False}},
    )
    assert not store.store_analysis("inv-x", "newer", newer)
    assert not store.store_analysis("inv-gone", "newer", newer)
    assert "Item" not in client.get_item(TableName=table, Key={"invite_id": {"S": "inv-gone"}})
    assert store.current("inv-gone") is None
