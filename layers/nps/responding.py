"""One-tap responses: verify the link, record the score, save the comment.

Raises typed errors that the respond function maps to pages and HTTP statuses; records nothing
unless the link is valid, unexpired and the score is 0–10.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from nps.dal.invites import Invite
from nps.dal.responses import NotAnswered, RecordedScore
from nps.limits import MAX_COMMENT_LENGTH
from nps.periods import iso_timestamp
from nps.scoring import Category, ScoreOutOfRange, categorize, parse_score
from nps.tokens import Keyring, Purpose, TokenStatus, verify


class ResponseError(Exception):
    """Base of the errors a person can cause with a link or a form."""

    status: int = 400
    reason: str = "bad_request"

    def __init__(self, message: str = "", locale: str | None = None) -> None:
        super().__init__(message or self.reason)
        self.locale = locale


class LinkInvalid(ResponseError):
    status = 403
    reason = "link_invalid"


class LinkExpired(ResponseError):
    status = 410
    reason = "link_expired"


class BadScore(ResponseError):
    status = 400
    reason = "bad_score"


class BadComment(ResponseError):
    status = 400
    reason = "bad_comment"


class PayloadTooLarge(ResponseError):
    status = 413
    reason = "too_large"


class UnsupportedMediaType(ResponseError):
    status = 415
    reason = "bad_request"


class CommentBeforeScore(ResponseError):
    status = 409
    reason = "comment_before_score"


class InviteStore(Protocol):
    def get(self, invite_id: str) -> Invite | None: ...


class ResponseStore(Protocol):
    def record_score(
        self, invite: Invite, score: int, category: Category, now_iso: str, source: str = "link"
    ) -> RecordedScore: ...

    def save_comment(self, invite_id: str, comment: str, now_iso: str) -> None: ...


@dataclass(frozen=True, slots=True)
class TapResult:
    invite: Invite
    recorded: RecordedScore
    category: Category


def _kept(ch: str) -> bool:
    """Control characters (except newline and tab) and bidirectional overrides, which can disguise
    text when a comment is shown later, are dropped; every other character, spaces included, stays."""
    if ch in "\n\t":
        return True
    return unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_comment(raw: str | None) -> str:
    """Normalise a comment: strip, drop control characters except newlines and tabs, enforce the limit."""
    if raw is None:
        raise BadComment("no comment was sent")
    text = "".join(ch for ch in raw.replace("\r\n", "\n") if _kept(ch)).strip()
    if not any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text):
        raise BadComment("the comment is empty")
    if len(text) > MAX_COMMENT_LENGTH:
        raise BadComment(f"comments are limited to {MAX_COMMENT_LENGTH} characters")
    return text


class ResponseService:
    def __init__(
        self,
        keyring: Callable[[], Keyring],
        invites: InviteStore,
        responses: ResponseStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keyring = keyring
        self.invites = invites
        self.responses = responses
        self.clock = clock

    def open_invite(self, token: str, now: datetime) -> Invite:
        """The invite a valid, unexpired respond token points at; raise otherwise."""
        check = verify(self._keyring(), token, Purpose.RESPOND, now.timestamp())
        if check.status is TokenStatus.EXPIRED:
            raise LinkExpired()
        if check.claims is None or check.status is not TokenStatus.VALID:
            raise LinkInvalid()
        invite = self.invites.get(check.claims.invite_id)
        if invite is None:
            # Signed by us but gone: the invite aged out of the table after its retention.
            raise LinkExpired()
        return invite

    def tap(self, token: str, raw_score: str | None) -> TapResult:
        now = self.clock()
        invite = self.open_invite(token, now)
        try:
            score = parse_score(raw_score)
        except ScoreOutOfRange as error:
            raise BadScore(str(error), locale=invite.locale) from error
        category = categorize(score)
        recorded = self.responses.record_score(invite, score, category, iso_timestamp(now))
        return TapResult(invite, recorded, category)

    def comment(self, token: str, raw_comment: str | None) -> Invite:
        now = self.clock()
        invite = self.open_invite(token, now)
        try:
            text = clean_comment(raw_comment)
            self.responses.save_comment(invite.invite_id, text, iso_timestamp(now))
        except BadComment as error:
            raise BadComment(str(error), locale=invite.locale) from error
        except NotAnswered as error:
            raise CommentBeforeScore(locale=invite.locale) from error
        return invite
