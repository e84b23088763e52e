"""Publishing NPS events to the custom bus: chunks of 10, failed entries retried, loud failure."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from nps.events.names import EVENT_SOURCE
from nps.kernel import aws

MAX_ENTRIES_PER_CALL = 10


class Detail(Protocol):
    """An event's detail: a pydantic model of :mod:`nps.events.models`, or a
    :class:`nps.events.details.PlainDetail` written to the same contract (what the hot paths publish)."""

    def model_dump_json(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Event:
    """One event for the bus; its detail is serialised once, when the entry is built."""

    detail_type: str
    detail: Detail
    resources: tuple[str, ...] = ()


class Publisher(Protocol):
    """What publishes events (an :class:`EventPublisher`, or a test double)."""

    def publish(self, events: Sequence[Event]) -> int: ...


class EventPublishError(RuntimeError):
    """Some entries could not be published after retries; ``failed`` holds their error codes."""

    def __init__(self, failed: list[dict[str, Any]]) -> None:
        codes = sorted({str(f.get("ErrorCode")) for f in failed})
        super().__init__(f"{len(failed)} event(s) could not be published: {', '.join(codes)}")
        self.failed = failed


class EventPublisher:
    def __init__(
        self,
        bus_name: str,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bus_name = bus_name
        self.max_attempts = max_attempts
        self.sleep = sleep

    def _entry(self, event: Event, trace_header: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Source": EVENT_SOURCE,
            "DetailType": event.detail_type,
            "Detail": event.detail.model_dump_json(),
            "EventBusName": self.bus_name,
        }
        if event.resources:
            entry["Resources"] = list(event.resources)
        if trace_header:
            entry["TraceHeader"] = trace_header
        return entry

    def publish(self, events: Sequence[Event]) -> int:
        """Publish all events; return how many were sent. Raise :class:`EventPublishError` on failure."""
        trace_header = os.environ.get("_X_AMZN_TRACE_ID")  # one invocation, one trace: read once
        bus_name = self.bus_name
        entries = [
            # _entry(e), inline for the usual event (no resources, no trace): one per scored record.
            {
                "Source": EVENT_SOURCE,
                "DetailType": e.detail_type,
                "Detail": e.detail.model_dump_json(),
                "EventBusName": bus_name,
            }
            if not e.resources and not trace_header
            else self._entry(e, trace_header)
            for e in events
        ]
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            self._put(entries[start : start + MAX_ENTRIES_PER_CALL])
        return len(entries)

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        failures: list[dict[str, Any]] = []
        for attempt in range(self.max_attempts):
            result = aws.client("events").put_events(Entries=pending)
            if not result.get("FailedEntryCount"):
                return
            # Results line up with entries; an entry without EventId failed.
            failures = [r for r in result["Entries"] if not r.get("EventId")]
            pending = [e for e, r in zip(pending, result["Entries"], strict=True) if not r.get("EventId")]
            if attempt + 1 < self.max_attempts:
                self.sleep(0.1 * 2**attempt * random.uniform(0.5, 1.0))  # noqa: S311
        raise EventPublishError(failures)


def detail_json(detail: Detail) -> dict[str, Any]:
    """A detail as plain JSON data (what subscribers receive)."""
    result: dict[str, Any] = json.loads(detail.model_dump_json())
    return result
