"""Constants and in-memory fakes shared by the unit tests (the fixtures wrapping them are in conftest)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nps.aggregation import Transition
from nps.dal.aggregates import CommitStats
from nps.dal.invites import Invite
from nps.dal.responses import NotAnswered, RecordedScore, RecordOutcome
from nps.events import Event
from nps.scoring import Category

# A fixed instant used as "now" throughout the unit tests.
NOW = datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=UTC)
NOW_EPOCH = int(NOW.timestamp())
KEY_1 = b"k1-secret-0123456789abcdef0123456789"  # 36 bytes
KEY_2 = b"k2-secret-fedcba9876543210fedcba9876"  # 36 bytes
FIRST_ANSWERED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class FakeInviteStore:
    invites: dict[str, Invite] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def add(self, invite: Invite) -> Invite:
        self.invites[invite.invite_id] = invite
        return invite

    def get(self, invite_id: str) -> Invite | None:
        self.lookups.append(invite_id)
        return self.invites.get(invite_id)


@dataclass
class FakeResponseStore:
    """Mimics the responses table: a repeated score is a no-op, a comment needs a score first."""

    scores: dict[str, tuple[int, int]] = field(default_factory=dict)  # invite id -> (score, version)
    recorded: list[tuple[str, int, Category, str, str]] = field(default_factory=list)
    comments: list[tuple[str, str, str]] = field(default_factory=list)

    def record_score(
        self, invite: Invite, score: int, category: Category, now_iso: str, source: str = "link"
    ) -> RecordedScore:
        self.recorded.append((invite.invite_id, score, category, now_iso, source))
        previous = self.scores.get(invite.invite_id)
        if previous is not None and previous[0] == score:
            return RecordedScore(RecordOutcome.UNCHANGED, score, previous[1])
        version = (previous[1] if previous else 0) + 1
        self.scores[invite.invite_id] = (score, version)
        outcome = RecordOutcome.RECORDED if version == 1 else RecordOutcome.CHANGED
        return RecordedScore(outcome, score, version)

    def save_comment(self, invite_id: str, comment: str, now_iso: str) -> None:
        if invite_id not in self.scores:
            raise NotAnswered(invite_id)
        self.comments.append((invite_id, comment, now_iso))


@dataclass
class CallLog:
    calls: list[str] = field(default_factory=list)


@dataclass
class FakeAggregateStore:
    log: CallLog
    fail_with: Exception | None = None
    commits: list[tuple[list[Transition], datetime]] = field(default_factory=list)

    def commit(self, transitions: Sequence[Transition], now: datetime) -> CommitStats:
        self.log.calls.append("commit")
        if self.fail_with is not None:
            raise self.fail_with
        self.commits.append((list(transitions), now))
        return CommitStats(transitions=len(transitions), applied=len(transitions))


@dataclass
class FakePublisher:
    log: CallLog
    published: list[list[Event]] = field(default_factory=list)

    def publish(self, events: Sequence[Event]) -> int:
        self.log.calls.append("publish")
        self.published.append(list(events))
        return len(events)


@dataclass
class FakeEventsClient:
    """Records ``put_events`` calls; ``fail`` decides, per call and entry index, the error code or None."""

    fail: Callable[[int, int, dict[str, Any]], str | None] = lambda call, index, entry: None
    calls: list[list[dict[str, Any]]] = field(default_factory=list)

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        call = len(self.calls)
        self.calls.append([dict(entry) for entry in Entries])
        results: list[dict[str, Any]] = []
        for index, entry in enumerate(Entries):
            code = self.fail(call, index, entry)
            if code is None:
                results.append({"EventId": f"evt-{call}-{index}"})
            else:
                results.append({"ErrorCode": code, "ErrorMessage": f"{code} (fake)"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}
