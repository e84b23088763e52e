"""Service limits that moto does not enforce, checked on every recorded call.

Each limit is the documented hard quota of the service (not adjustable):

- DynamoDB: an item at most 400 KB (``PutItem``; the size of a ``TransactWriteItems`` ``Put`` item
  too), a transaction at most 100 actions and 4 MB, ``BatchWriteItem`` at most 25 requests,
  ``BatchGetItem`` at most 100 keys ("Service, account, and table quotas in Amazon DynamoDB").
  Item size as DynamoDB counts it ("Item sizes and formats"): attribute name bytes plus value bytes;
  numbers about one byte per two digits plus one; lists and maps 3 bytes plus one per element.
- EventBridge ``PutEvents``: at most 10 entries, and entries summing to at most 256 KB, each sized as
  "Calculating PutEvents event entry size" describes.
- SQS: a message (body and attributes) at most 256 KB, a batch at most 10 messages and 256 KB in all.
  (SQS accepts 1 MiB since 2025; the platform keeps to 256 KB, what EventBridge, SNS and the Lambda
  event sources it feeds accept.)
- SNS: a message at most 256 KB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

KB = 1024
ITEM_LIMIT = 400 * KB
TRANSACTION_ITEMS = 100
TRANSACTION_BYTES = 4 * KB * KB
BATCH_WRITE_REQUESTS = 25
BATCH_GET_KEYS = 100
EVENTS_PER_PUT = 10
EVENTS_BYTES = 256 * KB
MESSAGE_BYTES = 256 * KB
MESSAGES_PER_BATCH = 10


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value in its wire form (``{"S": "..."}`` etc.)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(data) if isinstance(data, bytes | bytearray) else len(str(data).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in data.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB counts for an item: attribute names plus values."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def event_entry_size(entry: Mapping[str, Any]) -> int:
    """Bytes of one ``PutEvents`` entry as EventBridge counts them."""
    size = 14 if entry.get("Time") else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key, "")).encode())
    size += sum(len(r.encode()) for r in entry.get("Resources", []))
    return size


def _message_size(body: str, attributes: Mapping[str, Any] | None) -> int:
    size = len(body.encode())
    for name, attribute in (attributes or {}).items():
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        size += len(str(attribute.get("StringValue", "")).encode()) + len(attribute.get("BinaryValue", b""))
    return size


def exceeded(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """The limits one call goes over, each as a sentence (empty when it is within every limit)."""
    found: list[str] = []
    if service == "dynamodb":
        if operation == "PutItem" and item_size(params["Item"]) > ITEM_LIMIT:
            found.append(f"an item of {item_size(params['Item'])} bytes (DynamoDB's limit is {ITEM_LIMIT})")
        if operation == "TransactWriteItems":
            actions = params["TransactItems"]
            if len(actions) > TRANSACTION_ITEMS:
                found.append(f"a transaction of {len(actions)} actions (the limit is {TRANSACTION_ITEMS})")
            total = len(json.dumps(actions, default=str).encode())
            if total > TRANSACTION_BYTES:
                found.append(f"a transaction of about {total} bytes (the limit is {TRANSACTION_BYTES})")
            for action in actions:
                put = action.get("Put")
                if put and item_size(put["Item"]) > ITEM_LIMIT:
                    found.append(f"a transaction Put item of {item_size(put['Item'])} bytes (limit {ITEM_LIMIT})")
        if operation == "BatchWriteItem":
            requests = sum(len(r) for r in params["RequestItems"].values())
            if requests > BATCH_WRITE_REQUESTS:
                found.append(f"a batch write of {requests} requests (the limit is {BATCH_WRITE_REQUESTS})")
        if operation == "BatchGetItem":
            keys = sum(len(r["Keys"]) for r in params["RequestItems"].values())
            if keys > BATCH_GET_KEYS:
                found.append(f"a batch get of {keys} keys (the limit is {BATCH_GET_KEYS})")
    elif service == "events" and operation == "PutEvents":
        entries = params["Entries"]
        if len(entries) > EVENTS_PER_PUT:
            found.append(f"PutEvents with {len(entries)} entries (the limit is {EVENTS_PER_PUT})")
        total = sum(event_entry_size(e) for e in entries)
        if total > EVENTS_BYTES:
            found.append(f"PutEvents entries of {total} bytes (the limit is {EVENTS_BYTES})")
    elif service == "sqs" and operation == "SendMessage":
        size = _message_size(params["MessageBody"], params.get("MessageAttributes"))
        if size > MESSAGE_BYTES:
            found.append(f"an SQS message of {size} bytes (the platform's limit is {MESSAGE_BYTES})")
    elif service == "sqs" and operation == "SendMessageBatch":
        entries = params["Entries"]
        total = sum(_message_size(e["MessageBody"], e.get("MessageAttributes")) for e in entries)
        if len(entries) > MESSAGES_PER_BATCH:
            found.append(f"an SQS batch of {len(entries)} messages (the limit is {MESSAGES_PER_BATCH})")
        if total > MESSAGE_BYTES:
            found.append(f"an SQS batch of {total} bytes (the limit is {MESSAGE_BYTES})")
    elif service == "sns" and operation == "Publish":
        size = _message_size(str(params.get("Message", "")), params.get("MessageAttributes"))
        if size > MESSAGE_BYTES:
            found.append(f"an SNS message of {size} bytes (the limit is {MESSAGE_BYTES})")
    return found
