"""The service limits the recorder enforces where moto does not."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tests.permissions.limits import ITEM_LIMIT, event_entry_size, exceeded, item_size, value_size


def test_item_size_follows_the_dynamodb_rules() -> None:
    # Names and strings count their UTF-8 bytes; a number about a byte per two digits plus one.
    assert item_size({"pk": {"S": "abc"}}) == 5
    assert item_size({"city": {"S": "Zürich"}}) == 4 + 7
    assert value_size({"N": "12345"}) == 4
    assert value_size({"BOOL": True}) == 1
    # Maps and lists: 3 bytes, plus one per element, plus the elements (and map keys).
    assert value_size({"M": {"a": {"S": "x"}}}) == 3 + 1 + 1 + 1
    assert value_size({"L": [{"S": "xy"}, {"S": "z"}]}) == 3 + (2 + 1) + (1 + 1)


def test_a_put_over_400_kb_is_caught_and_one_under_is_not() -> None:
    under = {"pk": {"S": "k"}, "body": {"S": "x" * (ITEM_LIMIT - 10)}}
    over = {"pk": {"S": "k"}, "body": {"S": "x" * ITEM_LIMIT}}
    assert exceeded("dynamodb", "PutItem", {"TableName": "t", "Item": under}) == []
    assert exceeded("dynamodb", "PutItem", {"TableName": "t", "Item": over})


def test_transactions_batches_events_and_messages_over_their_limits_are_caught() -> None:
    update = {"Update": {"TableName": "t", "Key": {"pk": {"S": "k"}}, "UpdateExpression": "ADD n :one"}}
    assert exceeded("dynamodb", "TransactWriteItems", {"TransactItems": [update] * 100}) == []
    assert exceeded("dynamodb", "TransactWriteItems", {"TransactItems": [update] * 101})
    entry = {"Source": "nps", "DetailType": "NPS Response Scored", "Detail": "{}"}
    assert exceeded("events", "PutEvents", {"Entries": [entry] * 10}) == []
    assert exceeded("events", "PutEvents", {"Entries": [entry] * 11})
    big = {**entry, "Detail": json.dumps({"x": "y" * 30_000})}
    assert exceeded("events", "PutEvents", {"Entries": [big] * 9})
    assert exceeded("sqs", "SendMessage", {"QueueUrl": "q", "MessageBody": "m" * (256 * 1024 + 1)})
    batch = [{"Id": str(i), "MessageBody": "m" * 30_000} for i in range(9)]
    assert exceeded("sqs", "SendMessageBatch", {"QueueUrl": "q", "Entries": batch})


def test_an_event_entry_is_sized_as_eventbridge_counts_it() -> None:
    entry = {"Source": "nps", "DetailType": "T", "Detail": "{}", "Resources": ["arn:a"], "Time": "2026-01-01"}
    assert event_entry_size(entry) == 14 + 3 + 1 + 2 + 5


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=40), max_size=8))
def test_a_string_items_size_is_its_names_and_values_in_utf8(attributes: dict[str, str]) -> None:
    item = {name: {"S": value} for name, value in attributes.items()}
    assert item_size(item) == sum(len(n.encode()) + len(v.encode()) for n, v in attributes.items())
