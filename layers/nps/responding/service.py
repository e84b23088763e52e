"""One-tap responses: verify the link, record the score, save the comment.

Raises typed errors that the respond function maps to pages and HTTP statuses; records nothing
unless the link is valid, unexpired and the score is 0–10.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, Self

from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.categories import MAX_COMMENT_LENGTH, Category, ScoreOutOfRange, categorize, parse_score
from nps.kernel.periods import iso_timestamp
from nps.links.tokens import Keyring, Purpose, TokenStatus, verify
from nps.reasons.answers import FollowUpAnswers, InvalidAnswer, parse_answers
from nps.responding.adapters.invites import Invite, InviteNotFound
from nps.responding.adapters.responses import CommentLimitReached, NotAnswered, RecordedScore, StoredResponse
from nps.responding.scanners import (
    RETRACT_WINDOW_SECONDS,
    Assessment,
    Click,
    ClickKind,
    assess,
    automated_evidence,
    is_prefetch,
)


class ResponseError(Exception):
    """Base of the errors a person can cause with a link or a form."""

    status: int = 400
    reason: str = "bad_request"

    def __init__(self, message: str = "", locale: str | None = None, page: PageBrand | None = None) -> None:
        super().__init__(message or self.reason)
        #: The invite's locale and brand when the invite is known: its page speaks its language.
        self.locale = locale
        self.page = page or NEUTRAL_BRAND

    @classmethod
    def of(cls, invite: Invite, message: str = "") -> Self:
        """This error for ``invite``: its page in the invite's locale and brand."""
        return cls(message, locale=invite.locale, page=invite.page)


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


class EmptyComment(BadComment):
    """No comment, or one of only spaces and invisible characters: the page asks for a few words."""

    reason = "empty_comment"


class PayloadTooLarge(ResponseError):
    status = 413
    reason = "too_large"


class UnsupportedMediaType(ResponseError):
    status = 415
    reason = "bad_request"


class CommentBeforeScore(ResponseError):
    status = 409
    reason = "comment_before_score"


class BadAnswer(ResponseError):
    """A follow-up answer that cannot be recorded (an unknown driver, a CSAT or CES out of range or not
    one ASCII digit, an answer to a question not asked): nothing of the form is recorded."""

    status = 400
    reason = "bad_answer"


class TooManyComments(ResponseError):
    """The answer already took :data:`~nps.responding.adapters.responses.MAX_COMMENTS_PER_RESPONSE` comments:
    this one is not saved, and the page thanks the person for the ones we have."""

    status = 429
    reason = "comment_limit"


class InviteStore(Protocol):
    def get(self, invite_id: str) -> Invite | None: ...

    def log_click(self, invite_id: str, click: Click) -> Invite: ...


class ResponseStore(Protocol):
    def record_score(
        self,
        invite: Invite,
        score: int,
        category: Category,
        now_iso: str,
        source: str = "link",
        confidence: str = "high",
        edit_window_start_iso: str = "",
    ) -> RecordedScore: ...

    def record_automated(self, invite: Invite, score: int, now_iso: str, reasons: tuple[str, ...]) -> None: ...

    def retract_recent(self, invite_id: str, since_iso: str, now_iso: str, reasons: tuple[str, ...]) -> bool: ...

    def get(self, invite_id: str) -> StoredResponse | None: ...

    def save_comment(
        self,
        invite_id: str,
        comment: str | None,
        now_iso: str,
        *,
        themes: tuple[str, ...] | None = None,
        answers: FollowUpAnswers | None = None,
        edit_window_start_iso: str = "",
    ) -> bool: ...


class ThemeTagger(Protocol):
    """Tags a comment with the themes of its survey's taxonomy in the response's locale."""

    def tag(self, survey_id: str, locale: str, comment: str) -> tuple[str, ...]:
        """The theme ids, sorted and unique; ``()`` when none is found or the comment cannot be tagged
        (no taxonomy, a locale without a stemmer, a comment over the tagger's limit). Never raises for
        the comment's content: a comment is saved whatever its themes."""
        ...


@dataclass(frozen=True, slots=True)
class OpenResult:
    """A score link was opened: the page to show, nothing recorded yet."""

    invite: Invite
    score: int


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """The page confirmed an answer: counted if it looks human, kept aside if it looks automated."""

    invite: Invite
    score: int
    category: Category
    assessment: Assessment
    recorded: RecordedScore | None
    retracted: bool = False


@dataclass(frozen=True, slots=True)
class CommentResult:
    """The comment form was saved: its invite, and whether the follow-up answers it carried were saved
    (False only when it carried some after the edit window had closed: those on record stand)."""

    invite: Invite
    answers_saved: bool = True
    #: Whether the form carried a comment (saved, even when its answers were not).
    comment_saved: bool = True

    @property
    def invite_id(self) -> str:
        return self.invite.invite_id


def _kept(ch: str) -> bool:
    """Control characters (except newline and tab) and bidirectional overrides, which can disguise
    text when a comment is shown later, are dropped; every other character, spaces included, stays."""
    if ch in "\n\t":
        return True
    return unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_comment(raw: str | None) -> str:
    """Normalise a comment: strip, drop control characters except newlines and tabs, enforce the limit.

    Raises :class:`EmptyComment` when nothing visible is left, :class:`BadComment` when it is too long.
    """
    if raw is None:
        raise EmptyComment("no comment was sent")
    text = "".join(ch for ch in raw.replace("\r\n", "\n") if _kept(ch)).strip()
    if not any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text):
        raise EmptyComment("the comment is empty")
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
        edit_window: timedelta = timedelta(days=7),
        themes: ThemeTagger | None = None,
    ) -> None:
        self._keyring = keyring
        #: Without a tagger, comments are saved without ``themes`` (the attribute is left as it is).
        self.themes = themes
        self.invites = invites
        self.responses = responses
        self.clock = clock
        self.edit_window = edit_window

    def verify_link(self, token: str, now: datetime, *, explain: bool = True) -> str:
        """The invite id of a valid, unexpired respond token; raise otherwise.

        Nothing is read for a valid or an invalid token. An expired token's signature is good, so the
        invite it names can be trusted: with ``explain`` its :class:`LinkExpired` carries the invite's
        locale and brand (one read of the invite, only on expired links; HEAD does without).
        """
        check = verify(self._keyring(), token, Purpose.RESPOND, now.timestamp())
        if check.status is TokenStatus.EXPIRED and check.claims is not None:
            invite = self.invites.get(check.claims.invite_id) if explain else None
            raise LinkExpired.of(invite) if invite is not None else LinkExpired()
        if check.claims is None or check.status is not TokenStatus.VALID:
            raise LinkInvalid()
        return check.claims.invite_id

    def open_invite(self, token: str, now: datetime | None = None) -> Invite:
        """The invite a valid, unexpired respond token points at; raise otherwise."""
        invite = self.invites.get(self.verify_link(token, now or self.clock()))
        if invite is None:
            # Signed by us but gone: the invite aged out of the table after its retention.
            raise LinkExpired()
        return invite

    def _log(self, invite_id: str, click: Click) -> Invite:
        try:
            return self.invites.log_click(invite_id, click)
        except InviteNotFound as error:
            raise LinkExpired() from error

    def open_link(self, token: str, raw_score: str | None, headers: Mapping[str, str]) -> OpenResult:
        """A GET of a score link: log it and show the page that confirms the answer; record nothing.

        Prefetches are not even logged. An open that reveals a scanner (a burst of different
        scores) retracts an answer recorded moments before.
        """
        now = self.clock()
        invite_id = self.verify_link(token, now)
        score = _score(raw_score, None)
        if is_prefetch(headers):
            return OpenResult(self.open_invite(token, now), score)
        invite = self._log(invite_id, Click(now.timestamp(), ClickKind.OPEN, score))
        self._retract_if_automated(invite, now)
        return OpenResult(invite, score)

    def confirm(self, token: str, raw_score: str | None, headers: Mapping[str, str]) -> ConfirmResult:
        """The answer, posted by the score page: counted unless the invite's activity looks automated."""
        now = self.clock()
        invite_id = self.verify_link(token, now)
        score = _score(raw_score, None)
        invite = self._log(invite_id, Click(now.timestamp(), ClickKind.CONFIRM, score))
        category = categorize(score)
        assessment = assess(invite.clicks, now.timestamp(), invite.sent_at_epoch, headers)
        if assessment.automated:
            self.responses.record_automated(invite, score, iso_timestamp(now), assessment.reasons)
            retracted = self._retract_if_automated(invite, now, assessment.reasons)
            return ConfirmResult(invite, score, category, assessment, None, retracted)
        recorded = self.responses.record_score(
            invite,
            score,
            category,
            iso_timestamp(now),
            source="link",
            confidence=assessment.confidence,
            edit_window_start_iso=iso_timestamp(now - self.edit_window),
        )
        return ConfirmResult(invite, score, category, assessment, recorded)

    def honeypot(self, token: str) -> Invite:
        """The hidden link only machines follow: marks nearby activity on the invite as automated."""
        now = self.clock()
        invite = self._log(self.verify_link(token, now), Click(now.timestamp(), ClickKind.HONEYPOT))
        self._retract_if_automated(invite, now)
        return invite

    def _retract_if_automated(self, invite: Invite, now: datetime, reasons: tuple[str, ...] = ()) -> bool:
        evidence = tuple(dict.fromkeys((*reasons, *automated_evidence(invite.clicks, now.timestamp()))))
        if not evidence or not {"burst of different scores", "honeypot link fetched"} & set(evidence):
            return False
        since = iso_timestamp(now - timedelta(seconds=RETRACT_WINDOW_SECONDS))
        return self.responses.retract_recent(invite.invite_id, since, iso_timestamp(now), evidence)

    def tap(self, token: str, raw_score: str | None, headers: Mapping[str, str] | None = None) -> ConfirmResult:
        """Open a score link and confirm it, as a person's browser does (used by tools and tests)."""
        request = dict(_BROWSER_HEADERS if headers is None else headers)
        self.open_link(token, raw_score, request)
        return self.confirm(token, raw_score, request)

    def comment(
        self,
        token: str,
        raw_comment: str | None,
        raw_score: str | None = None,
        *,
        driver: str | None = None,
        csat: str | None = None,
        ces: str | None = None,
    ) -> CommentResult:
        """Save the "why?" comment and the follow-up answers (``driver``, ``csat``, ``ces``: the raw form
        fields, None when not answered) on the same response, in one write. Typing one is a person's act,
        so the score the page showed (``raw_score``, which the comment form carries) is the person's
        answer: it is recorded as a confirm would record it, before the comment. It replaces an answer
        held back as possibly automated (a scanner's score never wins over the one the person saw), it
        records a change of score within the edit window, and it records the answer when none is on
        record yet (a comment sent before the page's automatic confirmation, or with scripts off).
        Without a score, an answer held back as automated is counted when its comment arrives.

        Every part is optional once one is given: answers without a comment are saved; a comment is
        required only when no question is answered. The comment is tagged with the survey's themes in
        the invite's locale (``themes`` written with it). Answers change within the edit window only:
        after it, the result's ``answers_saved`` is False (a comment sent with them is still saved).

        Raises :class:`BadAnswer` (an answer the invite's questions do not allow; nothing recorded),
        :class:`BadComment` (empty with no answer, too long), :class:`CommentBeforeScore` (no answer yet
        and no score sent) and :class:`TooManyComments` (the answer took
        :data:`~nps.responding.adapters.responses.MAX_COMMENTS_PER_RESPONSE` already).
        """
        now = self.clock()
        invite = self.open_invite(token, now)
        try:
            answers = parse_answers(invite.questions, driver, csat, ces)
        except InvalidAnswer as error:
            raise BadAnswer.of(invite, str(error)) from error
        text: str | None
        try:
            text = clean_comment(raw_comment)
        except EmptyComment as error:
            if not answers.any:
                raise type(error).of(invite, str(error)) from error
            text = None
        except BadComment as error:
            raise type(error).of(invite, str(error)) from error
        themes = self._themes(invite, text)
        window_start = iso_timestamp(now - self.edit_window)
        shown = _score_or_none(raw_score)
        if shown is not None:
            # A repeat of the score on record writes nothing; after the edit window the answer stands.
            self.responses.record_score(
                invite,
                shown,
                categorize(shown),
                iso_timestamp(now),
                source="comment",
                confidence="high",
                edit_window_start_iso=window_start,
            )

        def save() -> bool:
            return self.responses.save_comment(
                invite.invite_id,
                text,
                iso_timestamp(now),
                themes=themes,
                answers=answers,
                edit_window_start_iso=window_start,
            )

        try:
            saved = save()
        except CommentLimitReached as error:
            raise TooManyComments.of(invite) from error
        except NotAnswered as error:
            stored = self.responses.get(invite.invite_id)
            score = stored.automated_score if stored is not None and shown is None else None
            if score is None:
                raise CommentBeforeScore.of(invite) from error
            self.responses.record_score(
                invite,
                score,
                categorize(score),
                iso_timestamp(now),
                source="comment",
                confidence="high",
            )
            saved = save()
        return CommentResult(invite, answers_saved=saved, comment_saved=text is not None)

    def _themes(self, invite: Invite, text: str | None) -> tuple[str, ...] | None:
        """The themes of a comment to save (None: no comment, or no tagger to ask)."""
        if text is None or self.themes is None:
            return None
        return self.themes.tag(invite.survey_id, invite.locale, text)


_BROWSER_HEADERS = {
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "sec-fetch-site": "same-origin",
}


def _score(raw_score: str | None, locale: str | None) -> int:
    try:
        return parse_score(raw_score)
    except ScoreOutOfRange as error:
        raise BadScore(str(error), locale=locale) from error


def _score_or_none(raw: str | None) -> int | None:
    """The score a comment form carried (0–10), or None when it carried none or not a score."""
    if raw is None:
        return None
    try:
        return parse_score(raw)
    except ScoreOutOfRange:
        return None
