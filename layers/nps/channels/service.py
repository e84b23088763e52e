"""The web prompt's four requests: eligibility (with the prompt's texts and follow-up questions), an answer,
a comment with the follow-up answers, a dismissal.

Typed errors (:class:`WebError`: an HTTP status and a stable code) are mapped to JSON by the web function.
Every check that can refuse a request runs before anything is written, so a refused request records
nothing (the rate-limit counter aside).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from nps.channels.adapters.store import CounterUnavailable, ShowOutcome, ShowRequest, WebStore
from nps.channels.clients import rate_limit_client
from nps.channels.eligibility import Decision, Reason, WebSurvey, decide, url_allowed
from nps.channels.site_tokens import ContactClaims, ContactTokenStatus, ask_keyring, verify_contact_token
from nps.channels.web_ids import WEB_INVITE_PREFIX as WEB_INVITE_PREFIX  # re-exported
from nps.channels.web_ids import web_invite_id as web_invite_id
from nps.channels.web_ids import web_state_id as web_state_id
from nps.kernel.categories import Category, categorize
from nps.kernel.periods import iso_timestamp
from nps.links.tokens import Keyring, Purpose, TokenStatus, sign, verify
from nps.reasons.answers import FollowUpAnswers, InvalidAnswer, parse_answers
from nps.responding.adapters.responses import CommentLimitReached, NotAnswered, RecordedScore, RecordOutcome
from nps.responding.service import BadComment as CommentRefused
from nps.responding.service import EmptyComment as CommentEmpty
from nps.responding.service import ThemeTagger, clean_comment
from nps.sending.suppression import lookup_hashes

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey
    from nps.responding.adapters.invites import Invite

#: How long an ask token (the prompt's answer, comment and dismissal) stays valid.
ASK_TOKEN_SECONDS = 2 * 3600
#: Requests one client (source address) may make per minute, over every web endpoint.
DEFAULT_RATE_LIMIT_PER_MINUTE = 120


#: Why a show the store did not write is not shown.
_NOT_SHOWN = {
    ShowOutcome.DAILY_CAP: Reason.DAILY_CAP,
    ShowOutcome.CONTACT_GONE: Reason.CHANGED,
    ShowOutcome.BUSY: Reason.BUSY,
}


class WebError(Exception):
    """A request the web API refuses: ``status`` and ``code`` go into the JSON error."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code.replace("_", " ")


class BadRequest(WebError):
    """A malformed request: not JSON, not an object, or missing/unknown fields (400 ``bad_request``)."""


class TokenInvalid(WebError):
    status, code = 401, "token_invalid"


class TokenExpired(WebError):
    status, code = 401, "token_expired"


class OriginNotAllowed(WebError):
    status, code = 403, "origin_not_allowed"


class WrongSurvey(WebError):
    status, code = 403, "wrong_survey"


class SurveyNotFound(WebError):
    status, code = 404, "survey_not_found"


class EditWindowClosed(WebError):
    status, code = 409, "edit_window_closed"


class NoAnswer(WebError):
    """A comment without a score for a prompt that has no answer on record."""

    status, code = 409, "no_answer"


class PayloadTooLarge(WebError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(WebError):
    status, code = 415, "unsupported_media_type"


class BadScore(WebError):
    status, code = 422, "bad_score"


class BadComment(WebError):
    status, code = 422, "bad_comment"


class BadAnswer(WebError):
    """A follow-up answer that cannot be recorded (400): ``code`` is the answer parser's
    (:class:`nps.reasons.answers.InvalidAnswer`): ``unknown_driver``, ``csat_out_of_range``,
    ``ces_out_of_range`` or ``question_not_asked``. Nothing of the request is recorded."""

    status, code = 400, "bad_answer"

    def __init__(self, error: InvalidAnswer) -> None:
        super().__init__(str(error))
        self.code = error.code


class RateLimited(WebError):
    status, code = 429, "rate_limited"

    def __init__(self, retry_after: int, message: str = "") -> None:
        super().__init__(message or "too many requests from this client")
        self.retry_after = retry_after


class LimiterUnavailable(WebError):
    """The rate limiter's counter could not be written (DynamoDB throttled it, or failed): the request is
    refused unanswered, as a burst would be, with ``Retry-After`` (503 ``unavailable``); ``cause`` is the
    AWS error code, for the log."""

    status, code = 503, "unavailable"

    def __init__(self, cause: str, retry_after: int = 1) -> None:
        super().__init__("the service is busy: try again in a moment")
        self.cause = cause
        self.retry_after = retry_after


class CommentLimit(WebError):
    status, code = 429, "comment_limit"


class InviteReader(Protocol):
    def get(self, invite_id: str) -> Invite | None: ...


class ResponseWriter(Protocol):
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
        """Save the comment and answers; ``False`` when nothing was written (the edit window had closed)."""
        ...


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Show (with the ask token and the locale of the prompt's texts), or not and why."""

    reason: Reason | None
    ask_token: str | None = None
    locale: str | None = None

    @property
    def show(self) -> bool:
        return self.reason is None


def driver_field(value: object) -> str | None:
    """A JSON ``driver`` as the form field :func:`nps.reasons.answers.parse_answers` reads: None (absent or
    null) is no answer, a string is itself; anything else (a number, a list, an object) is a text no
    survey's driver ids hold, so it is refused as an unknown driver."""
    if value is None or isinstance(value, str):
        return value
    return ""


def scale_field(value: object) -> str | None:
    """A JSON ``csat`` or ``ces`` as the form field :func:`nps.reasons.answers.parse_answers` reads: None
    (absent or null) is no answer, an integer (not a boolean) its decimal digits; anything else (a string,
    even of digits, a float, a boolean) is refused as out of range, as a JSON score must be an integer."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and -10 < value < 100:
        return str(value)
    return ""  # huge integers too: never turned into long strings


def parse_score(value: object) -> int:
    """A JSON score: an integer 0–10 (not a boolean, not a float or a string); raises :class:`BadScore`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise BadScore("score must be an integer from 0 to 10")
    return value


class WebService:
    def __init__(
        self,
        store: WebStore,
        site_keyring: Callable[[], Keyring],
        id_key: Callable[[], IdKey],
        invites: InviteReader,
        responses: ResponseWriter,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        edit_window: timedelta = timedelta(days=7),
        rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE,
        themes: ThemeTagger | None = None,
    ) -> None:
        self.store = store
        #: Tags comments with the survey's themes (None: comments are saved without ``themes``).
        self.themes = themes
        self._site_keyring = site_keyring
        self._id_key = id_key
        self.invites = invites
        self.responses = responses
        self.clock = clock
        self.edit_window = edit_window
        self.rate_limit_per_minute = rate_limit_per_minute

    # -- checks every request passes ----------------------------------------------------------------
    def survey(self, survey_id: str) -> WebSurvey:
        """The survey the request names; raises :class:`SurveyNotFound` for an unknown one, and for one
        whose web prompt allows no origin (an email/SMS-only survey): the web API confirms only the ids
        of surveys set up for a site, which that site's pages show in their script tag anyway. A web
        survey asked from an origin it does not allow is ``403 origin_not_allowed`` (docs/web-channel.md)."""
        survey = self.store.survey(survey_id)
        if survey is None or not survey.allowed_origins:
            raise SurveyNotFound("no such survey")
        return survey

    @staticmethod
    def origin_allowed(survey: WebSurvey, origin: str | None) -> bool:
        """Exact match against the survey's allow-list (a request without ``Origin`` is refused)."""
        return origin is not None and origin in survey.allowed_origins

    def check_rate(self, source_ip: str | None, scope: str = "web", limit: int | None = None) -> None:
        """Count the request against its client's minute; raise :class:`RateLimited` past ``limit`` (default:
        ``rate_limit_per_minute``). Callers count a request before anything else is read (the survey
        included), so requests for unknown surveys or from refused origins are counted too.

        The client is :func:`nps.channels.clients.rate_limit_client` of ``source_ip``: an IPv4 address, an
        IPv6 /64, or one shared ``unknown`` client for an absent or malformed source. The counter's id is a
        keyed hash of the client and the minute: no address is stored. Each ``scope`` (``web``: the
        prompt's API; ``share``: the share link's answers and comments; ``share-view``: its page views)
        counts on its own. Costs one write (an ``ADD``); when that write fails (throttled, or any other
        error) raises :class:`LimiterUnavailable` (503): the request is refused, never answered unchecked."""
        now = self.clock()
        minute = int(now.timestamp()) // 60
        client = rate_limit_client(source_ip)
        counter = "wrl-" + self._id_key().digest(f"{scope}-rate", client, str(minute))[:32]
        try:
            count = self.store.count_request(counter, (minute + 2) * 60)
        except CounterUnavailable as error:
            raise LimiterUnavailable(error.code) from error
        if count > (self.rate_limit_per_minute if limit is None else limit):
            raise RateLimited(retry_after=max(1, (minute + 1) * 60 - int(now.timestamp())))

    # -- eligibility --------------------------------------------------------------------------------
    def eligibility(self, survey: WebSurvey, contact_token: object, url: str | None) -> Eligibility:
        """Whether to show the prompt to the contact ``contact_token`` names, on the page at ``url``.

        Raises :class:`TokenInvalid`, :class:`TokenExpired` or :class:`WrongSurvey` for a bad token (then
        nothing is read or written). Every call with a good token records when the contact was **first
        seen** for the survey, whatever the decision (the ``min_days_since_first_seen`` rule counts from
        there), and only when it is not recorded yet.

        Cost of a call with a good token (the rate limiter's write and the cached survey read aside):

        * prompt off or page excluded by the URL rules: one GetItem (the web state, eventually
          consistent), plus one UpdateItem the first time the contact is seen;
        * otherwise: one BatchGetItem (contact, web state, the period's web invite) and, for a contact
          with stored addresses, one more (their suppression keys): at most two read round trips. The
          contact's and the web state's ``last_surveyed_at`` (the latter also set by an identified
          share-link answer) both decide the fatigue window, on a first show and on a re-show; then either
          the show transaction
          (the first show in a period: it records first seen too), or one UpdateItem for first seen when
          the contact is seen for the first time and not shown; later calls write nothing else.
        """
        now = self.clock()
        claims = self._claims(survey, contact_token, now)
        id_key = self._id_key()
        state_id = web_state_id(id_key, survey.survey_id, claims.contact_id)
        if not survey.active or not survey.enabled or not url_allowed(survey, url):
            if not self.store.first_seen_recorded(state_id):
                self.store.record_first_seen(state_id, survey.survey_id, claims.contact_id, now)
            return Eligibility(Reason.DISABLED if not survey.active or not survey.enabled else Reason.URL)
        wave_id = survey.web_wave_id(now)
        invite_id = web_invite_id(id_key, survey.survey_id, wave_id, claims.contact_id)
        reads = self.store.eligibility_reads(survey.audience, claims.contact_id, state_id, invite_id)
        contact = reads.contact
        addresses = contact.addresses() if contact else []
        hashes = [key for channel, address in addresses for key in lookup_hashes(channel, address, id_key)]
        suppressed = self.store.any_suppressed(hashes)
        decision: Decision = decide(
            survey,
            url=url,
            now=now,
            contact=contact,
            suppressed=suppressed,
            state=reads.state,
            period_invite=reads.period_invite,
            sample_hash=id_key.digest("web-sample", survey.survey_id, claims.contact_id),
        )
        unseen = reads.state is None or reads.state.first_seen_at is None
        reason = decision.reason
        locale = survey.locale_for(claims.locale, contact.locale if contact else None)
        if reason is None and not decision.reshow:
            attributes = dict(claims.attributes) | (dict(contact.attributes) if contact else {})
            request = ShowRequest(
                invite_id=invite_id,
                state_id=state_id,
                cap_id=("wcap-" + id_key.digest("web-cap", survey.survey_id, now.strftime("%Y-%m-%d"))[:32])
                if survey.daily_cap is not None
                else None,
                survey=survey,
                wave_id=wave_id,
                contact_id=claims.contact_id,
                contact_stored=contact is not None,
                locale=locale,
                segments=survey.segments_of(attributes),
                now=now,
                expires_at=int(now.timestamp()) + survey.link_lifetime_days * 86400,
                account=contact.account if contact else None,
            )
            outcome = self.store.show(request)
            if outcome in (ShowOutcome.SHOWN, ShowOutcome.ALREADY_SHOWN):
                unseen = False  # this show transaction (or the one that won) recorded first seen
            else:
                reason = _NOT_SHOWN[outcome]
        if unseen:
            self.store.record_first_seen(state_id, survey.survey_id, claims.contact_id, now)
        if reason is not None:
            return Eligibility(reason)
        token = sign(
            ask_keyring(self._site_keyring()), Purpose.WEB, invite_id, int(now.timestamp()) + ASK_TOKEN_SECONDS
        )
        return Eligibility(None, token, locale)

    def _claims(self, survey: WebSurvey, token: object, now: datetime) -> ContactClaims:
        check = verify_contact_token(self._site_keyring(), token, survey.survey_id, now.timestamp())
        if check.status is ContactTokenStatus.WRONG_SURVEY:
            raise WrongSurvey("the contact token is for another survey")
        if check.status is ContactTokenStatus.EXPIRED:
            raise TokenExpired("the contact token has expired")
        if check.claims is None or check.status is not ContactTokenStatus.VALID:
            raise TokenInvalid("the contact token is not valid")
        return check.claims

    # -- answer, comment, dismissal -----------------------------------------------------------------
    def _invite(self, survey: WebSurvey, ask_token: object, now: datetime) -> Invite:
        """The web invite an ask token names, checked against the request's survey (one read)."""
        check = verify(ask_keyring(self._site_keyring()), ask_token, Purpose.WEB, now.timestamp())
        if check.status is TokenStatus.EXPIRED:
            raise TokenExpired("the ask token has expired")
        if check.claims is None or check.status is not TokenStatus.VALID:
            raise TokenInvalid("the ask token is not valid")
        invite = self.invites.get(check.claims.invite_id)
        if invite is None:
            raise TokenExpired("the prompt this token was for is gone")
        if invite.survey_id != survey.survey_id or invite.channel != "web":
            raise WrongSurvey("the ask token is for another survey")
        return invite

    def answer(self, survey: WebSurvey, ask_token: object, raw_score: object) -> Category:
        """Record (or, inside the edit window, change) the answer; the same score again writes nothing.
        Raises :class:`EditWindowClosed` for a different score after the window."""
        now = self.clock()
        score = parse_score(raw_score)
        invite = self._invite(survey, ask_token, now)
        category = categorize(score)
        recorded = self._record(invite, score, category, now, source="web")
        if recorded.outcome is RecordOutcome.LOCKED:
            raise EditWindowClosed("the answer can no longer be changed")
        self.store.mark_answered(invite.invite_id, now)
        return category

    def _record(self, invite: Invite, score: int, category: Category, now: datetime, source: str) -> RecordedScore:
        return self.responses.record_score(
            invite,
            score,
            category,
            iso_timestamp(now),
            source=source,
            confidence="high",
            edit_window_start_iso=iso_timestamp(now - self.edit_window),
        )

    def comment(
        self,
        survey: WebSurvey,
        ask_token: object,
        raw_comment: object,
        raw_score: object,
        *,
        driver: object = None,
        csat: object = None,
        ces: object = None,
    ) -> None:
        """Save the "why?" comment and the follow-up answers (``driver``: one of the survey's driver ids;
        ``csat``: an integer 1–5; ``ces``: an integer 1–7; each None when not answered) on the same
        response, in one write; a score sent with them is the person's answer and is recorded first (as the
        email page does). The questions are the survey's in the prompt's locale (the invite's); the comment
        is tagged with the survey's themes in that locale. The comment may be None or empty when an answer
        is given. Answers change within the edit window only (after it the answers on record stand and a
        comment is still saved).

        Raises :class:`BadRequest` (neither a comment nor an answer), :class:`BadComment`, :class:`BadScore`,
        :class:`BadAnswer` (an answer the survey does not ask or allow), :class:`NoAnswer` (no answer on
        record and no score), :class:`CommentLimit` and :class:`EditWindowClosed` (answers without a comment
        after the edit window: the answers on record stand); nothing is written for any of them."""
        now = self.clock()
        if raw_comment is not None and not isinstance(raw_comment, str):
            raise BadComment("comment must be a string")
        score = None if raw_score is None else parse_score(raw_score)
        invite = self._invite(survey, ask_token, now)
        try:
            answers = parse_answers(
                survey.follow_up_questions(invite.locale), driver_field(driver), scale_field(csat), scale_field(ces)
            )
        except InvalidAnswer as error:
            raise BadAnswer(error) from error
        text: str | None = None
        if raw_comment is None:
            if not answers.any:
                raise BadRequest("send a comment or an answer to a follow-up question")
        else:
            try:
                text = clean_comment(raw_comment)
            except CommentEmpty as error:
                if not answers.any:
                    raise BadComment(str(error)) from error
            except CommentRefused as error:
                raise BadComment(str(error)) from error
        themes = self.themes.tag(survey.survey_id, invite.locale, text) if text is not None and self.themes else None
        window_start = iso_timestamp(now - self.edit_window)
        if score is not None:
            recorded = self._record(invite, score, categorize(score), now, source="comment")
            if recorded.outcome is not RecordOutcome.LOCKED:
                self.store.mark_answered(invite.invite_id, now)
        try:
            saved = self.responses.save_comment(
                invite.invite_id,
                text,
                iso_timestamp(now),
                themes=themes,
                answers=answers,
                edit_window_start_iso=window_start,
            )
        except NotAnswered as error:
            raise NoAnswer("answer the question before commenting") from error
        except CommentLimitReached as error:
            raise CommentLimit("this answer has taken its comments") from error
        if not saved and text is None:
            # Answers alone after the edit window: nothing was written, so the request must not say it was.
            raise EditWindowClosed("the answers can no longer be changed")

    def dismiss(self, survey: WebSurvey, ask_token: object) -> None:
        """The person closed the prompt: not asked again for ``dismissal_delay_days``."""
        now = self.clock()
        invite = self._invite(survey, ask_token, now)
        self.store.dismiss(invite.invite_id, web_state_id(self._id_key(), survey.survey_id, invite.contact_id), now)
