"""Segment values as people write them ("Gold #1", "EU=West") go through a whole wave and are counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from local import demo_sending as ds
from local.environment import LocalStack
from nps.kernel import aws

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(START)
    with ds.handlers(clock):
        yield clock


def test_a_segment_value_with_a_hash_or_an_equals_sign_is_sent_and_counted(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given contacts whose segment values hold the aggregate key's separators
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None, "channels": ["email"]})
    ds.import_csv(
        platform, "contact_id,email,plan,region\nc1,a@example.com,Gold #1,EU\nc2,b@example.com,basic,EU=West\n"
    )
    # When a wave is planned and delivered
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    # Then both invites are recorded as sent (not left unknown after the email went out)
    statuses = {item["contact_id"]["S"]: item["status"]["S"] for item in ds.invite_items(platform)}
    assert statuses == {"c1": "sent", "c2": "sent"}
    # And invites_sent is counted under the segment value as written
    items = aws.client("dynamodb").scan(TableName=platform.tables["aggregates"])["Items"]
    counted = {
        (item["segment"]["S"], item["channel"]["S"])
        for item in items
        if "invites_sent" in item and item.get("granularity", {}).get("S") == "day"
    }
    assert ("plan=Gold #1", "*") in counted
    assert ("region=EU=West", "*") in counted
