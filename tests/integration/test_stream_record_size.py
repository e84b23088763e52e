"""The largest responses stream record, written by the real respond-side code on moto and read from the
stream as Lambda delivers it, is within the bound ``nps.scoring.capacity`` sizes the stream source by.

A response keeps every saved comment (``comments``, up to ``MAX_COMMENTS_PER_RESPONSE``), the latest again
as ``comment``, its themes and follow-up answers, and a MODIFY record carries the item before and after:
the bound must come from what the code stores, not from a hand-written list of attributes.
"""

from __future__ import annotations

import json
from decimal import Decimal

from local.environment import LocalStack, StreamReader
from nps.accounts.membership import Membership
from nps.kernel.categories import MAX_COMMENT_LENGTH, Category
from nps.reasons.answers import FollowUpAnswers
from nps.reasons.scales import MAX_THEMES_PER_RESPONSE
from nps.responding.adapters.invites import Invite
from nps.responding.adapters.responses import MAX_COMMENTS_PER_RESPONSE, DynamoResponseRepository
from nps.scoring.capacity import (
    LAMBDA_PAYLOAD_LIMIT_BYTES,
    MAX_STREAM_RECORD_BYTES,
    MIN_RECORDS_PER_INVOCATION,
    STREAM_BATCH_SIZE,
    TYPICAL_STREAM_RECORD_BYTES,
)

LONG_ID = 64
SEGMENT_DIMENSIONS = 10


def largest_invite() -> Invite:
    """An invite at the contract's limits: 64-character ids, ten 64/64 segments, an account with a role."""
    return Invite(
        invite_id="i" * LONG_ID,
        survey_id="s" * LONG_ID,
        wave_id="w" * LONG_ID,
        contact_id="c" * LONG_ID,
        channel="email",
        locale="es",
        expires_at=1_900_000_000,
        sent_at="2026-11-20T08:00:00.000Z",
        segments={f"{d:02d}" + "d" * (LONG_ID - 2): "v" * LONG_ID for d in range(SEGMENT_DIMENSIONS)},
        account=Membership("a" * LONG_ID, "decision_maker", Decimal("999999999999999.99")),
    )


def record_size(record: dict[str, object]) -> int:
    """Bytes of one record in the Lambda event's JSON (UTF-8)."""
    return len(json.dumps(record, ensure_ascii=False).encode())


def test_the_largest_record_the_code_can_write_is_within_the_bound_and_one_always_fits(
    platform: LocalStack,
) -> None:
    # Given a response answered and then commented as often as allowed, each comment at the maximum
    # length of 4-byte characters, with every theme and every follow-up answer
    invite = largest_invite()
    responses = DynamoResponseRepository(platform.tables["responses"])
    reader = StreamReader(platform.stream_arns["responses"])
    responses.record_score(invite, 10, Category.PROMOTER, "2026-11-20T09:00:00.000Z")
    themes = tuple(f"{n:02d}" + "t" * (LONG_ID - 2) for n in range(MAX_THEMES_PER_RESPONSE))
    for n in range(MAX_COMMENTS_PER_RESPONSE):
        saved = responses.save_comment(
            invite.invite_id,
            "😀" * MAX_COMMENT_LENGTH,
            f"2026-11-20T09:{n:02d}:00.000Z",
            themes=themes,
            answers=FollowUpAnswers("d" * LONG_ID, 5, 7),
        )
        assert saved
    # When the stream delivers its records
    records = [r for r in reader.read_records() if r["dynamodb"]["Keys"]["invite_id"]["S"] == invite.invite_id]
    assert len(records[-1]["dynamodb"]["NewImage"]["comments"]["L"]) == MAX_COMMENTS_PER_RESPONSE
    largest = max(record_size(record) for record in records)
    # Then the last MODIFY (both images at their biggest) is the largest, within the documented bound
    assert largest == record_size(records[-1])
    assert largest <= MAX_STREAM_RECORD_BYTES
    # (and the bound is not loose: it is what the code writes, give or take the stream's metadata)
    assert largest * 1.05 > MAX_STREAM_RECORD_BYTES
    # And Lambda can always deliver at least MIN_RECORDS_PER_INVOCATION of them within its 6 MB payload
    assert MIN_RECORDS_PER_INVOCATION * MAX_STREAM_RECORD_BYTES <= LAMBDA_PAYLOAD_LIMIT_BYTES
    assert MIN_RECORDS_PER_INVOCATION >= 1


def test_a_full_batch_of_typical_records_fits_the_payload(platform: LocalStack) -> None:
    # Given a typical answer: short ids, two segments, one comment of 200 characters
    invite = Invite(
        invite_id="inv-typical-0001" * 4,
        survey_id="onboarding",
        wave_id="2026-11",
        contact_id="contact-000123",
        channel="email",
        locale="en",
        expires_at=1_900_000_000,
        sent_at="2026-11-20T08:00:00.000Z",
        segments={"plan": "pro", "region": "emea"},
    )
    responses = DynamoResponseRepository(platform.tables["responses"])
    reader = StreamReader(platform.stream_arns["responses"])
    responses.record_score(invite, 9, Category.PROMOTER, "2026-11-20T09:00:00.000Z")
    responses.save_comment(
        invite.invite_id, "The support team was quick and kind. " * 5 + "Thanks!", "2026-11-20T09:01:00Z"
    )
    sizes = [
        record_size(record)
        for record in reader.read_records()
        if record["dynamodb"]["Keys"]["invite_id"]["S"] == invite.invite_id
    ]
    assert sizes
    # Then each is within the typical size the batch size is chosen for, and a full batch fits in 6 MB
    assert max(sizes) <= TYPICAL_STREAM_RECORD_BYTES
    assert STREAM_BATCH_SIZE * TYPICAL_STREAM_RECORD_BYTES <= LAMBDA_PAYLOAD_LIMIT_BYTES
