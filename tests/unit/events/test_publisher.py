"""nps.events.publisher: publishing to EventBridge in chunks of 10, retrying only failed entries, failing loudly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from nps.events.publisher import MAX_ENTRIES_PER_CALL, Event, EventPublisher, EventPublishError, detail_json
from tests.support.fakes import FakeEventsClient


class Detail(BaseModel):
    n: int


def events(count: int) -> list[Event]:
    return [Event("NPS Test Event", Detail(n=i)) for i in range(count)]


def numbers(entries: list[dict[str, Any]]) -> list[int]:
    return [json.loads(entry["Detail"])["n"] for entry in entries]


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def publisher(sleeps: Sleeps) -> EventPublisher:
    return EventPublisher("nps-bus", sleep=sleeps)


def test_25_events_are_sent_in_3_calls_of_at_most_10(
    events_client: FakeEventsClient, publisher: EventPublisher
) -> None:
    # Given 25 events / When published
    sent = publisher.publish(events(25))
    # Then three PutEvents calls of 10, 10 and 5 entries, in order, and 25 reported
    assert MAX_ENTRIES_PER_CALL == 10
    assert [len(call) for call in events_client.calls] == [10, 10, 5]
    assert [n for call in events_client.calls for n in numbers(call)] == list(range(25))
    assert sent == 25


@pytest.mark.parametrize(("count", "calls"), [(1, [1]), (10, [10]), (11, [10, 1]), (20, [10, 10])])
def test_chunk_boundaries(
    events_client: FakeEventsClient, publisher: EventPublisher, count: int, calls: list[int]
) -> None:
    assert publisher.publish(events(count)) == count
    assert [len(call) for call in events_client.calls] == calls


def test_no_events_means_no_call(events_client: FakeEventsClient, publisher: EventPublisher) -> None:
    assert publisher.publish([]) == 0
    assert events_client.calls == []


def test_entry_format(
    events_client: FakeEventsClient, publisher: EventPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no X-Ray trace in the environment
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    # When one event with a resource is published
    publisher.publish([Event("NPS Response Scored", Detail(n=7), resources=("arn:aws:x:1",))])
    # Then the entry carries source, detail type, JSON detail, bus and resources
    [[entry]] = events_client.calls
    assert entry == {
        "Source": "nps",
        "DetailType": "NPS Response Scored",
        "Detail": '{"n":7}',
        "EventBusName": "nps-bus",
        "Resources": ["arn:aws:x:1"],
    }


def test_entry_carries_the_xray_trace_header_when_present(
    events_client: FakeEventsClient, publisher: EventPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc;Parent=def;Sampled=1")
    publisher.publish(events(1))
    [[entry]] = events_client.calls
    assert entry["TraceHeader"] == "Root=1-abc;Parent=def;Sampled=1"
    assert "Resources" not in entry


def test_only_failed_entries_are_retried(
    events_client: FakeEventsClient, publisher: EventPublisher, sleeps: Sleeps
) -> None:
    # Given EventBridge fails entries 2 and 5 of the first call, and everything afterwards succeeds
    events_client.fail = lambda call, index, entry: "ThrottlingException" if call == 0 and index in {2, 5} else None

    # When 8 events are published
    sent = publisher.publish(events(8))

    # Then the second call carries exactly the two failed entries, in order, after one back-off
    assert [numbers(call) for call in events_client.calls] == [list(range(8)), [2, 5]]
    assert events_client.calls[1] == [events_client.calls[0][2], events_client.calls[0][5]]
    assert len(sleeps.calls) == 1
    assert sent == 8


def test_retries_narrow_down_across_attempts(
    events_client: FakeEventsClient, publisher: EventPublisher, sleeps: Sleeps
) -> None:
    # Given event 3 fails twice and event 6 once
    failures = {(0, 3), (0, 6), (1, 0)}  # (call, index within that call)
    events_client.fail = lambda call, index, entry: "InternalFailure" if (call, index) in failures else None
    publisher.publish(events(10))
    assert [numbers(call) for call in events_client.calls] == [list(range(10)), [3, 6], [3]]
    assert len(sleeps.calls) == 2


def test_backoff_grows_exponentially_with_jitter(
    events_client: FakeEventsClient, publisher: EventPublisher, sleeps: Sleeps
) -> None:
    events_client.fail = lambda call, index, entry: "InternalFailure"
    with pytest.raises(EventPublishError):
        publisher.publish(events(1))
    # 0.1·2^attempt·U(0.5, 1): attempts 0, 1, 2 sleep; the last attempt does not
    assert len(sleeps.calls) == 3
    for attempt, seconds in enumerate(sleeps.calls):
        assert 0.05 * 2**attempt <= seconds <= 0.1 * 2**attempt


def test_persistent_failure_raises_with_the_error_codes(
    events_client: FakeEventsClient, publisher: EventPublisher
) -> None:
    # Given an entry that fails on every attempt
    events_client.fail = lambda call, index, entry: (
        "AccessDeniedException" if json.loads(entry["Detail"])["n"] == 1 else None
    )

    # When published / Then EventPublishError after max_attempts calls, naming the failure
    with pytest.raises(
        EventPublishError, match="1 event\\(s\\) could not be published: AccessDeniedException"
    ) as raised:
        publisher.publish(events(3))
    assert len(events_client.calls) == publisher.max_attempts == 4
    assert [numbers(call) for call in events_client.calls[1:]] == [[1], [1], [1]]
    assert raised.value.failed == [
        {"ErrorCode": "AccessDeniedException", "ErrorMessage": "AccessDeniedException (fake)"}
    ]


def test_failure_in_a_later_chunk_raises_after_earlier_chunks_were_sent(
    events_client: FakeEventsClient, sleeps: Sleeps
) -> None:
    # Given every entry of the second chunk fails
    events_client.fail = lambda call, index, entry: (
        "InternalFailure" if json.loads(entry["Detail"])["n"] >= 10 else None
    )
    publisher = EventPublisher("nps-bus", max_attempts=2, sleep=sleeps)
    with pytest.raises(EventPublishError) as raised:
        publisher.publish(events(12))
    # Then the first chunk went out once, the second was tried twice, and both failures are reported
    assert [len(call) for call in events_client.calls] == [10, 2, 2]
    assert len(raised.value.failed) == 2


def test_publish_error_lists_distinct_codes_sorted() -> None:
    error = EventPublishError([{"ErrorCode": "B"}, {"ErrorCode": "A"}, {"ErrorCode": "B"}, {}])
    assert str(error) == "4 event(s) could not be published: A, B, None"


def test_detail_json_is_what_subscribers_receive() -> None:
    assert detail_json(Detail(n=3)) == {"n": 3}
