"""Comments behind a driver or theme, page by page across the reader's scan limit: each once, none lost."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from local.environment import LocalStack
from nps.cli.reports import latest_comments
from nps.kernel import aws
from nps.kernel.tables import survey_shard
from nps.reporting.adapters.reads import REASON_SCAN_LIMIT, DynamoResponseReader
from nps.reporting.ranges import DateRange

SURVEY = "survey-pages"
SPAN = DateRange(date(2026, 5, 1), date(2026, 5, 31))


def write(stack: LocalStack, count: int, mentions: set[int], *, same_instant_every: int = 7) -> None:
    client = aws.client("dynamodb")
    start = datetime(2026, 5, 10, tzinfo=UTC)
    requests = []
    for index in range(count):
        invite_id = f"inv-{index:05d}"
        # Several answers share an instant (different shards, same sort key): ties across pages.
        at = start + timedelta(milliseconds=(index // same_instant_every) * 1000)
        item: dict[str, Any] = {
            "invite_id": {"S": invite_id},
            "survey_id": {"S": SURVEY},
            "survey_shard": {"S": survey_shard(SURVEY, invite_id)},
            "wave_id": {"S": "w1"},
            "contact_id": {"S": f"c-{index}"},
            "channel": {"S": "email"},
            "locale": {"S": "en"},
            "segments": {"M": {}},
            "score": {"N": str(index % 11)},
            "category": {"S": "promoter" if index % 11 >= 9 else "passive" if index % 11 >= 7 else "detractor"},
            "counted": {"BOOL": True},
            "first_answered_at": {"S": at.isoformat(timespec="milliseconds").replace("+00:00", "Z")},
            "comment": {"S": f"comment {index}"},
            "version": {"N": "1"},
            "themes": {"L": [{"S": "price"}] if index in mentions else []},
        }
        if index in mentions:
            item["driver"] = {"S": "price"}
        requests.append({"PutRequest": {"Item": item}})
    for begin in range(0, len(requests), 25):
        pending: dict[str, Any] = {stack.tables["responses"]: requests[begin : begin + 25]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def pages(stack: LocalStack, segment: tuple[str, str], limit: int, newest_first: bool) -> tuple[list[str], int]:
    reader = DynamoResponseReader(stack.tables["responses"], stack.tables["aggregates"])
    seen: list[str] = []
    cursor = None
    calls = 0
    while True:
        page = reader.page(
            SURVEY, SPAN, limit=limit, cursor=cursor, newest_first=newest_first, with_comment=True, segment=segment
        )
        calls += 1
        assert len(page.responses) <= limit
        seen += [r.invite_id for r in page.responses]
        cursor = page.next_cursor
        if cursor is None:
            return seen, calls
        assert calls < 200


def test_pages_across_the_scan_limit_hold_every_mention_once(platform: LocalStack) -> None:
    # Given more commented responses than one driver or theme page examines, the mentions spread over them
    # (at both ends, on both sides of the scan limit, some sharing an instant with their neighbours)
    count = REASON_SCAN_LIMIT + 120
    mentions = set(random.Random(16).sample(range(count), 9)) | {0, count - 1, 119, 120, count - REASON_SCAN_LIMIT}
    write(platform, count, mentions)
    expected = {f"inv-{i:05d}" for i in mentions}
    # When they are read page by page, newest and oldest first, by theme and by driver
    for segment, limit, newest_first in ((("theme", "price"), 2, True), (("driver", "price"), 5, False)):
        seen, _ = pages(platform, segment, limit, newest_first)
        # Then every mention comes exactly once
        assert len(seen) == len(set(seen))
        assert set(seen) == expected


def test_the_html_reports_latest_comments_of_a_rare_theme_are_found_past_the_scan_limit(platform: LocalStack) -> None:
    # Given a theme mentioned only by the oldest responses, more than a page's scan limit behind the newest
    count = REASON_SCAN_LIMIT + 60
    write(platform, count, {0, 1, 2})
    reader = DynamoResponseReader(platform.tables["responses"], platform.tables["aggregates"])
    # (one page stops at the scan limit with none of them, and a cursor)
    first = reader.page(SURVEY, SPAN, limit=12, newest_first=True, with_comment=True, segment=("theme", "price"))
    assert (first.responses, first.next_cursor is not None) == ([], True)
    # When the HTML report takes the latest comments of that theme
    shown, more = latest_comments(reader, SURVEY, SPAN, limit=12, segment=("theme", "price"))
    # Then it shows the three, newest first, and knows there are no more
    assert [r.invite_id for r in shown] == ["inv-00002", "inv-00001", "inv-00000"]
    assert more is False
    # And with a smaller limit it stops there and says more exist
    shown, more = latest_comments(reader, SURVEY, SPAN, limit=2, segment=("theme", "price"))
    assert ([r.invite_id for r in shown], more) == (["inv-00002", "inv-00001"], True)
