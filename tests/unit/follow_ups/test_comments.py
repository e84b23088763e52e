"""What one detractor's comments can grow to: a follow-up keeps the latest comments within a count and a
byte budget, counts every one, and its item and task messages stay far below DynamoDB's 400 KB item
limit and SQS's 256 KB message limit whatever the sizes and the number of comments."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nps.follow_ups.adapters.store import follow_up_item, task_message_body
from nps.follow_ups.steps import (
    FOLLOW_UP_COMMENT_BYTES_KEPT,
    FOLLOW_UP_COMMENTS_KEPT,
    FollowUp,
    FollowUpService,
    Status,
    comment_text_bytes,
    keep_latest_comments,
)
from nps.kernel.categories import MAX_COMMENT_LENGTH
from tests.support.dynamodb_size import ITEM_LIMIT_BYTES, dynamodb_item_size

SQS_MESSAGE_LIMIT_BYTES = 256 * 1024
#: "Well under" the limits: a quarter of DynamoDB's, half of SQS's.
ITEM_BUDGET = ITEM_LIMIT_BYTES // 4
MESSAGE_BUDGET = SQS_MESSAGE_LIMIT_BYTES // 2
#: One character of each UTF-8 width (1 to 4 bytes); the 4-byte one also escapes to 12 bytes in JSON.
CHARACTERS = ("a", "é", "€", "😀", "\n", '"')


def follow_up(**fields: Any) -> FollowUp:
    """A detractor follow-up waiting for the team, every optional field filled at its longest."""
    values: dict[str, Any] = {
        "follow_up_id": "inv-" + "0" * 32 + "-999",
        "invite_id": "inv-" + "0" * 32,
        "category": "detractor",
        "status": Status.AWAITING_RESOLUTION,
        "survey_id": "s" * 64,
        "wave_id": "w" * 64,
        "contact_id": "c" * 128,
        "audience": "a" * 64,
        "channel": "email",
        "locale": "en",
        "segments": {f"dimension-{i}": "v" * 64 for i in range(10)},
        "score": 0,
        "version": 999,
        "opened_at": "2026-11-23T10:16:45.000000Z",
        "execution": "arn:aws:states:us-east-1:123456789012:execution:" + "x" * 200,
        "email_sent": True,
        "email_reason": "r" * 64,
        "task_token": "t" * 1024,
        "comment_update_due": "2026-11-23T10:21:45.000000Z",
    }
    return FollowUp.from_dict(values | fields)


comment_shapes = st.lists(
    st.tuples(st.integers(1, MAX_COMMENT_LENGTH), st.sampled_from(CHARACTERS)), min_size=1, max_size=40
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=comment_shapes, count=st.integers(1, 5000))
def test_any_number_and_size_of_comments_keeps_the_follow_up_and_its_task_messages_bounded(
    shapes: list[tuple[int, str]], count: int
) -> None:
    # Given a detractor who sends `count` comments, their lengths and characters cycling through `shapes`
    kept: list[dict[str, Any]] = []
    texts = [shapes[n % len(shapes)][1] * shapes[n % len(shapes)][0] for n in range(count)]
    for n, text in enumerate(texts):
        kept = keep_latest_comments(kept, {"version": n + 2, "text": text, "commented_at": "2026-11-23T10:17:00Z"})
    # Then the latest comments are kept, in order, within the count and byte budget; the newest always
    assert 1 <= len(kept) <= FOLLOW_UP_COMMENTS_KEPT
    assert comment_text_bytes(kept) <= FOLLOW_UP_COMMENT_BYTES_KEPT
    assert [c["text"] for c in kept] == texts[len(texts) - len(kept) :]
    # And the follow-up's item, as the store writes it, stays far below the 400 KB item limit
    stored = follow_up(comments=kept, comment_count=count, comments_sent=max(0, count - 1))
    assert dynamodb_item_size(follow_up_item(stored, ttl=2_000_000_000)) < ITEM_BUDGET
    # And every message to the team's task queue stays far below SQS's 256 KB, counting what is omitted
    update = FollowUpService.task_message(
        "comment_added", stored, comment=kept[-1], new_comments=count, update_id=f"{stored.follow_up_id}:comments:1"
    )
    assert len(task_message_body(update).encode()) < MESSAGE_BUDGET
    assert (update["comment_count"], update["comments_omitted"]) == (count, count - len(kept))


def test_a_single_comment_of_the_longest_size_in_4_byte_characters_is_kept_whole() -> None:
    text = "😀" * MAX_COMMENT_LENGTH
    assert keep_latest_comments([], {"text": text}) == [{"text": text}]
    # and it pushes out older comments until the byte budget holds
    older = [{"text": "€" * MAX_COMMENT_LENGTH} for _ in range(5)]
    kept = keep_latest_comments(older, {"text": text})
    assert kept[-1] == {"text": text}
    assert comment_text_bytes(kept) <= FOLLOW_UP_COMMENT_BYTES_KEPT < comment_text_bytes([*kept[:1], *kept])
