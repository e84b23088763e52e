"""The follow-up record as stored: what the store writes is what it reads back."""

from __future__ import annotations

from typing import Any

import pytest

from nps.follow_ups.steps import FollowUp, Status

STORED: dict[str, Any] = {
    "follow_up_id": "inv-1-3",
    "invite_id": "inv-1",
    "category": "detractor",
    "status": "awaiting_resolution",
    "survey_id": "s-1",
    "wave_id": "w-1",
    "contact_id": "c-1",
    "audience": "default",
    "channel": "email",
    "locale": "en",
    "segments": {"plan": "pro"},
    "score": 3,
    "version": 3,
    "opened_at": "2026-11-23T10:16:45.000000Z",
    "email_sent": True,
    "comments": [{"version": 3, "text": "slow", "commented_at": "2026-11-23T10:20:00.000000Z"}],
    "comment_count": 1,
}


def test_a_stored_follow_up_reads_back_to_the_same_item() -> None:
    # Given a follow-up item with the table's own attributes beside its fields (TTL, email claim)
    item = STORED | {"expires_at_ttl": 1_800_000_000, "email_claim": True}
    # When it is read and written again
    follow_up = FollowUp.from_dict(item)
    # Then the status is the enum, unknown attributes are dropped and unset fields are left out
    assert follow_up.status is Status.AWAITING_RESOLUTION
    assert follow_up.as_dict(exclude_none=True) == STORED | {"execution": "", "comments_sent": 0}
    assert FollowUp.from_dict(follow_up.as_dict()) == follow_up


def test_a_follow_up_without_a_required_field_or_with_an_unknown_status_is_refused() -> None:
    with pytest.raises(TypeError):
        FollowUp.from_dict({k: v for k, v in STORED.items() if k != "score"})
    with pytest.raises(ValueError, match="'lost'"):
        FollowUp.from_dict(STORED | {"status": "lost"})


def test_event_fields_carry_ids_answer_and_segments_only() -> None:
    follow_up = FollowUp.from_dict(STORED | {"task_token": "secret-token"})
    fields = follow_up.event_fields("opened")
    assert fields == {
        "event_id": "inv-1-3:opened",
        "follow_up_id": "inv-1-3",
        "survey_id": "s-1",
        "wave_id": "w-1",
        "invite_id": "inv-1",
        "contact_id": "c-1",
        "channel": "email",
        "locale": "en",
        "segments": {"plan": "pro"},
        "score": 3,
        "category": "detractor",
    }
    assert "secret-token" not in repr(fields)
    # A copy, so an event built from it cannot change the record
    fields["segments"]["plan"] = "free"
    assert follow_up.segments == {"plan": "pro"}
