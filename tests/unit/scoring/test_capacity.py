"""nps.scoring.capacity: a full batch of the largest response records fits Lambda's invocation payload."""

from __future__ import annotations

import json
from typing import Any

from nps.kernel.categories import MAX_COMMENT_LENGTH
from nps.scoring.capacity import LAMBDA_PAYLOAD_LIMIT_BYTES, MAX_STREAM_RECORD_BYTES, STREAM_BATCH_SIZE


def largest_image(version: int) -> dict[str, Any]:
    """The biggest response the contract allows: 64-character ids, ten 64/64 segments, a 4-byte-character comment."""
    long_id = "x" * 64
    return {
        "invite_id": {"S": long_id},
        "survey_id": {"S": long_id},
        "wave_id": {"S": long_id},
        "contact_id": {"S": long_id},
        "channel": {"S": "email"},
        "locale": {"S": "es"},
        "segments": {"M": {f"{d:02d}" + "d" * 62: {"S": "v" * 64} for d in range(10)}},
        "score": {"N": "10"},
        "category": {"S": "promoter"},
        "comment": {"S": "😀" * MAX_COMMENT_LENGTH},
        "version": {"N": str(version)},
        "first_answered_at": {"S": "2026-11-20T09:00:00.000Z"},
        "answered_at": {"S": "2026-11-20T09:00:00.000Z"},
        "comment_at": {"S": "2026-11-20T09:00:00.000Z"},
        "source": {"S": "page"},
        "counted": {"BOOL": True},
        "confidence": {"S": "human"},
        "automated_reasons": {"SS": ["burst of different scores", "preview link fetched"]},
        "expires_at_ttl": {"N": "1900000000"},
    }


def test_a_full_batch_of_the_largest_records_fits_the_invocation_payload() -> None:
    # Given the largest MODIFY record the responses stream can carry (both images at their biggest)
    record = {
        "eventID": "f" * 32,
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-central-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795423815.0,
            "Keys": {"invite_id": {"S": "x" * 64}},
            "NewImage": largest_image(2),
            "OldImage": largest_image(1),
            "SequenceNumber": "9" * 40,
            "SizeBytes": 400_000,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-central-1:123456789012:table/nps-responses/stream/2026-03-10T00:00:00",
    }
    size = len(json.dumps(record, ensure_ascii=False).encode())
    # Then it is within the size the batch is chosen for, and a full batch of them fits in 6 MB
    assert size <= MAX_STREAM_RECORD_BYTES
    batch = {"Records": [record] * STREAM_BATCH_SIZE}
    assert len(json.dumps(batch, ensure_ascii=False).encode()) < LAMBDA_PAYLOAD_LIMIT_BYTES
