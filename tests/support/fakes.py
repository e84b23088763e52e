"""Constants and in-memory fakes shared by the unit tests (the fixtures wrapping them are in conftest)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from nps.events.publisher import Event
from nps.kernel.categories import Category
from nps.links.pseudonyms import IdKey
from nps.reasons.answers import FollowUpAnswers
from nps.responding.adapters.invites import Invite, InviteNotFound
from nps.responding.adapters.responses import NotAnswered, RecordedScore, RecordOutcome, StoredResponse
from nps.responding.scanners import CLICK_LOG_SIZE, Click
from nps.scoring.adapters.aggregates import CommitStats
from nps.scoring.aggregation import Transition

# A fixed instant used as "now" throughout the unit tests.
NOW = datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=UTC)
NOW_EPOCH = int(NOW.timestamp())
KEY_1 = b"k1-secret-0123456789abcdef0123456789"  # 36 bytes
KEY_2 = b"k2-secret-fedcba9876543210fedcba9876"  # 36 bytes
#: The id key of invite ids and suppression keys in unit tests.
ID_KEY = IdKey(b"id-key-0123456789abcdef0123456789abcdef")
FIRST_ANSWERED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves by hand (``ResponseService`` calls it for "now")."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class FakeInviteStore:
    """Mimics the invites table: ``log_click`` appends to an existing invite's click log and returns it."""

    invites: dict[str, Invite] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    logged: list[tuple[str, Click]] = field(default_factory=list)

    def add(self, invite: Invite) -> Invite:
        self.invites[invite.invite_id] = invite
        return invite

    def get(self, invite_id: str) -> Invite | None:
        self.lookups.append(invite_id)
        return self.invites.get(invite_id)

    def log_click(self, invite_id: str, click: Click) -> Invite:
        self.logged.append((invite_id, click))
        invite = self.invites.get(invite_id)
        if invite is None:
            raise InviteNotFound(invite_id)  # the real table's condition: never create an invite
        updated = replace(invite, clicks=(*invite.clicks, click))
        # Like DynamoInviteRepository: the caller sees the whole log, the table keeps it bounded.
        kept = updated.clicks[-CLICK_LOG_SIZE:] if len(updated.clicks) > 2 * CLICK_LOG_SIZE else updated.clicks
        self.invites[invite_id] = replace(updated, clicks=kept)
        return updated

    @property
    def touched(self) -> bool:
        """Whether anything read or wrote the table."""
        return bool(self.lookups or self.logged)


class ScoreCall(NamedTuple):
    invite_id: str
    score: int
    category: Category
    now_iso: str
    source: str
    confidence: str
    edit_window_start_iso: str


class AutomatedCall(NamedTuple):
    invite_id: str
    score: int
    now_iso: str
    reasons: tuple[str, ...]


class RetractCall(NamedTuple):
    invite_id: str
    since_iso: str
    now_iso: str
    reasons: tuple[str, ...]


@dataclass
class StoredItem:
    """One responses-table item; ``None`` means the attribute is absent."""

    score: int | None = None
    category: Category | None = None
    counted: bool | None = None
    confidence: str | None = None
    source: str | None = None
    answered_at: str | None = None
    first_answered_at: str | None = None
    version: int | None = None
    automated_score: int | None = None
    automated_at: str | None = None
    automated_reasons: tuple[str, ...] = ()
    automated_clicks: int = 0
    retracted_at: str | None = None
    comment: str | None = None
    comment_at: str | None = None
    themes: tuple[str, ...] | None = None
    driver: str | None = None
    csat: int | None = None
    ces: int | None = None

    @property
    def counts(self) -> bool:
        """The table's "counted" test: a score, and ``counted`` true or absent (items from before the flag)."""
        return self.score is not None and self.counted is not False


@dataclass
class FakeResponseStore:
    """Mimics DynamoResponseRepository's conditional writes on an in-memory table (ISO strings compare
    chronologically, as in DynamoDB).

    * ``record_score``: the latest counted answer wins while the edit window (from the first counted
      answer) is open; the same score again is a no-op (UNCHANGED); after the window it is LOCKED.
    * ``record_automated``: keeps what a scanner tried, never counts it, never touches the answer.
    * ``retract_recent``: stops counting an answer first recorded at or after ``since``.
    * ``save_comment``: needs a counted answer, raises :class:`NotAnswered` otherwise.
    """

    items: dict[str, StoredItem] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    recorded: list[ScoreCall] = field(default_factory=list)
    automated: list[AutomatedCall] = field(default_factory=list)
    retractions: list[RetractCall] = field(default_factory=list)
    comments: list[tuple[str, str, str]] = field(default_factory=list)

    def seed(self, invite_id: str, **attributes: Any) -> StoredItem:
        """Put an item in the table as an earlier request left it."""
        item = StoredItem(**attributes)
        self.items[invite_id] = item
        return item

    def record_score(
        self,
        invite: Invite,
        score: int,
        category: Category,
        now_iso: str,
        source: str = "link",
        confidence: str = "high",
        edit_window_start_iso: str = "",
    ) -> RecordedScore:
        self.calls.append("record_score")
        self.recorded.append(
            ScoreCall(invite.invite_id, score, category, now_iso, source, confidence, edit_window_start_iso)
        )
        item = self.items.get(invite.invite_id)
        if item is not None:
            same_score = item.score == score and item.counts
            window_closed = item.first_answered_at is not None and item.first_answered_at < edit_window_start_iso
            if same_score or window_closed:
                version = item.version or 0
                if same_score:
                    return RecordedScore(RecordOutcome.UNCHANGED, score, version)
                return RecordedScore(RecordOutcome.LOCKED, item.score if item.score is not None else score, version)
        else:
            item = self.items[invite.invite_id] = StoredItem()
        item.score, item.category, item.counted = score, category, True
        item.confidence, item.answered_at, item.source = confidence, now_iso, source
        item.version = (item.version or 0) + 1
        item.first_answered_at = item.first_answered_at or now_iso
        outcome = RecordOutcome.RECORDED if item.version == 1 else RecordOutcome.CHANGED
        return RecordedScore(outcome, score, item.version)

    def record_automated(self, invite: Invite, score: int, now_iso: str, reasons: tuple[str, ...]) -> None:
        self.calls.append("record_automated")
        self.automated.append(AutomatedCall(invite.invite_id, score, now_iso, reasons))
        item = self.items.setdefault(invite.invite_id, StoredItem())
        item.automated_score, item.automated_at = score, now_iso
        item.automated_reasons = reasons or ("unspecified",)
        item.automated_clicks += 1
        if item.counted is None:
            item.counted = False

    def retract_recent(self, invite_id: str, since_iso: str, now_iso: str, reasons: tuple[str, ...]) -> bool:
        self.calls.append("retract_recent")
        self.retractions.append(RetractCall(invite_id, since_iso, now_iso, reasons))
        item = self.items.get(invite_id)
        if item is None or not item.counts or item.first_answered_at is None or item.first_answered_at < since_iso:
            return False
        item.counted, item.automated_score, item.retracted_at = False, item.score, now_iso
        item.automated_reasons = reasons or ("unspecified",)
        item.version = (item.version or 0) + 1
        item.first_answered_at = None
        return True

    def get(self, invite_id: str) -> StoredResponse | None:
        self.calls.append("get")
        item = self.items.get(invite_id)
        if item is None:
            return None
        return StoredResponse(
            score=item.score,
            counted=item.counted if item.counted is not None else item.score is not None,
            automated_score=item.automated_score,
            first_answered_at=item.first_answered_at,
            version=item.version or 0,
        )

    def save_comment(
        self,
        invite_id: str,
        comment: str | None,
        now_iso: str,
        *,
        themes: tuple[str, ...] | None = None,
        answers: FollowUpAnswers | None = None,
        edit_window_start_iso: str = "",
    ) -> bool:
        self.calls.append("save_comment")
        item = self.items.get(invite_id)
        if item is None or not item.counts:
            raise NotAnswered(invite_id)
        if comment is not None:
            item.comment, item.comment_at = comment, now_iso
            if themes is not None:
                item.themes = tuple(sorted(set(themes)))
            self.comments.append((invite_id, comment, now_iso))
        window_open = item.first_answered_at is None or item.first_answered_at >= edit_window_start_iso
        if answers is not None and window_open:
            item.driver = answers.driver if answers.driver is not None else item.driver
            item.csat = answers.csat if answers.csat is not None else item.csat
            item.ces = answers.ces if answers.ces is not None else item.ces
        item.version = (item.version or 0) + 1
        return window_open or answers is None or not answers.any


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
