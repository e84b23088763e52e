"""A survey's shareable link (``/s/{survey_id}``) and its QR code: who may answer, and which answer an
answer edits (pure, apart from the stores handed to :class:`ShareService`).

**Anonymous** links (receipts, kiosks, support signatures) know nothing about the person. An answer is
stored under a *response id* that is a keyed hash (:class:`nps.links.pseudonyms.IdKey`, label
``share-anonymous``) of survey | browser id | dedupe period, where the browser id is a random value the
page's script keeps in the browser's ``localStorage`` (no cookie) and the period is the survey's fatigue
window counted from the Unix epoch (:func:`dedupe_periods`). A second answer from the same browser within
the window finds the same response and edits it (within the edit window; after it the first answer stands),
so one browser never counts twice. Without scripts, the id is the one the server wrote into the page
(a random *page id*): submitting the same page again edits, a fresh page is a fresh answer (the per-client
rate limit bounds how many). Channel ``link_anonymous``; kept out of the survey-wide figures unless the
survey's ``share_link.count_in_nps``.

**Identified** links carry a contact token (``?t=``) in the format of the web prompt's
(:mod:`nps.channels.site_tokens`), minted by the team or by ``nps survey share-link --contact``; a printed
link may live up to the survey's ``share_link.identified_max_days``. The response id is a keyed hash of
survey | contact | period (label ``share-contact``): one answer per contact per window. Channel ``link``.

**One headline answer per contact per window.** An identified answer counts in the survey-wide (headline)
figures only if the contact has no other headline answer of the survey inside the fatigue window (an email
or SMS invite, or a web prompt, answered less than a window ago); otherwise it is recorded with
``in_headline`` false: kept, visible in channel ``link``, never counted twice. When the share answer takes the
headline, the contact's invites of the survey that are still open (sent or shown, not answered) are marked
``in_headline: false`` first, so their later answers count in their channel only, and the first answer also
sets the contact's ``last_surveyed_at`` (and the web prompt's), so no wave or prompt asks again inside the
window. Exact in both orders, apart from two answers of one contact on two channels within the same few
milliseconds (each read misses the other's write). The reads: :class:`ContactAnswersStore`.

**Follow-ups.** Every answer writes an invite item under its response id (``status`` answered, channel
``link`` or ``link_anonymous``, the survey's audience), once, before the answer: the follow-up workflow's
first step, the follow-up email's unsubscribe link and mail feedback read it, as they read every other
channel's invites. So a share-link answer opens the category's follow-up like any other: identified ones
with the contact's email (when the contacts table holds one) and re-survey; **anonymous ones too**, with the
team's alert and task (the comment and score are what the team acts on) but no email and no re-survey (no
contact: the steps find none and say ``no_email`` / close). A survey that wants no follow-ups for its
anonymous link turns the category's follow-ups off; the per-client rate limit bounds how many alerts one
client can cause.

**Suppressed contacts** (unsubscribed, bounced, complained) may still answer a link they hold: suppression
means the platform sends them nothing, and a volunteered answer is recorded like any other (the share
pages send nothing, and no suppression lookup is made).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from nps.channels.eligibility import WebSurvey
from nps.channels.web_ids import web_invite_id, web_state_id
from nps.kernel.branding import DEFAULT_BRAND_COLOUR, PageBrand
from nps.kernel.categories import Category, ScoreOutOfRange, categorize, parse_score
from nps.kernel.locales import offered_locale
from nps.kernel.normalising import segment_values
from nps.kernel.periods import iso_timestamp, parse_timestamp
from nps.reasons.answers import FollowUpAnswers, InvalidAnswer, parse_answers
from nps.responding.adapters.invites import Invite
from nps.responding.adapters.responses import CommentLimitReached, RecordedScore, RecordOutcome, StoredResponse
from nps.responding.service import BadComment as CommentRefused
from nps.responding.service import EmptyComment as CommentEmpty
from nps.responding.service import ThemeTagger, clean_comment

if TYPE_CHECKING:
    from nps.accounts.membership import Membership
    from nps.links.pseudonyms import IdKey
    from nps.reasons.questions import FollowUpQuestions

#: Browser ids and page ids: 16 to 64 URL-safe characters (the page's script makes 22: 128 random bits).
BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: The contact id stored on anonymous answers (no contact); never a contact the planner knows.
ANONYMOUS_CONTACT = "_anonymous"
#: The shortest dedupe period (days): a survey without a fatigue window still counts a browser once a day.
MIN_PERIOD_DAYS = 1
_DAY = 86400


class ShareError(Exception):
    """A request the share pages refuse: ``status`` and a catalog message key (``reason``)."""

    status = 400
    reason = "bad_request"


class ShareNotFound(ShareError):
    """No such survey, or its link is off (or the survey paused): the same page for all three."""

    status, reason = 404, "share_not_found"


class BadScore(ShareError):
    status, reason = 400, "bad_score"


class LinkInvalid(ShareError):
    """An identified link without a contact token, or with a forged or malformed one."""

    status, reason = 403, "link_invalid"


class WrongSurvey(ShareError):
    """A good contact token of another survey: refused like a forged one (says nothing more)."""

    status, reason = 403, "link_invalid"


class LinkExpired(ShareError):
    status, reason = 410, "link_expired"


class NoAnswer(ShareError):
    """A comment for an answer that is not on record, and no score sent with it."""

    status, reason = 409, "comment_before_score"


class EmptyComment(ShareError):
    """Nothing visible in the comment: the page asks for a few words (the form again, with the text)."""

    status, reason = 400, "empty_comment"


class CommentTooLong(ShareError):
    """A comment over :data:`nps.kernel.categories.MAX_COMMENT_LENGTH` characters: nothing is saved."""

    status, reason = 422, "bad_comment"


class BadAnswer(ShareError):
    """A follow-up answer that cannot be recorded (an unknown driver, a CSAT or CES that is not one ASCII
    digit in range, an answer to a question the survey has off): the page that says so, nothing recorded."""

    status, reason = 400, "bad_answer"


class CommentLimit(ShareError):
    """The answer already took its comments: this one is not saved."""

    status, reason = 429, "comment_limit"


@dataclass(frozen=True, slots=True)
class ShareSettings:
    """The stored ``share_link`` block (validated by :class:`nps.sending.surveys.ShareLink` when saved)."""

    enabled: bool = False
    mode: str = "anonymous"
    count_in_nps: bool = False
    identified_max_days: int = 30

    @property
    def identified(self) -> bool:
        return self.mode == "identified"

    @property
    def channel(self) -> str:
        return "link" if self.identified else "link_anonymous"

    @property
    def in_headline(self) -> bool:
        return self.identified or self.count_in_nps


@dataclass(frozen=True, slots=True)
class ShareSurvey:
    """What the share pages need of a survey definition, read from its stored JSON without pydantic (the
    definition was validated when it was saved; the page function stays light)."""

    survey_id: str
    active: bool
    fatigue_days: int
    default_locale: str
    locales: tuple[str, ...]
    brand_name: str
    brand_colour: str = DEFAULT_BRAND_COLOUR
    logo_url: str | None = None
    website_url: str | None = None
    question: Mapping[str, str] = field(default_factory=dict)
    follow_up_question: Mapping[str, str] = field(default_factory=dict)
    segment_dimensions: tuple[str, ...] = ()
    share: ShareSettings = ShareSettings()
    audience: str = "default"
    #: The survey's web prompt (the same stored definition): which web invite a prompt shown at a time is.
    web: WebSurvey | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_definition(cls, definition: str) -> ShareSurvey:
        """From the stored definition JSON; ``KeyError``/``ValueError`` when it is not one. The fields the
        web prompt reads too are read once, by :meth:`nps.channels.eligibility.WebSurvey.from_definition`."""
        data: dict[str, Any] = json.loads(definition)
        web = WebSurvey.from_definition(definition)
        share: dict[str, Any] = data.get("share_link") or {}
        return cls(
            survey_id=web.survey_id,
            active=web.active,
            fatigue_days=web.fatigue_days,
            default_locale=web.default_locale,
            locales=web.locales,
            brand_name=web.brand_name,
            brand_colour=data.get("brand_colour") or DEFAULT_BRAND_COLOUR,
            logo_url=web.logo_url,
            website_url=data.get("website_url"),
            question=web.question,
            follow_up_question=web.follow_up_question,
            segment_dimensions=web.segment_dimensions,
            share=ShareSettings(
                enabled=bool(share.get("enabled", False)),
                mode=str(share.get("mode", "anonymous")),
                count_in_nps=bool(share.get("count_in_nps", False)),
                identified_max_days=int(share.get("identified_max_days", 30)),
            ),
            audience=web.audience,
            web=web,
        )

    @property
    def open(self) -> bool:
        """Whether the link answers at all."""
        return self.active and self.share.enabled

    @property
    def web_enabled(self) -> bool:
        """Whether the survey's web prompt is on (its state then learns of a share answer)."""
        return self.web is not None and self.web.active and self.web.enabled

    def web_wave_at(self, shown_at: str) -> str | None:
        """The web wave of a prompt shown at ``shown_at`` (ISO-8601); None without a web definition or for a
        time that does not parse."""
        if self.web is None:
            return None
        try:
            return self.web.web_wave_id(parse_timestamp(shown_at))
        except ValueError:
            return None

    def locale_for(self, *candidates: str | None) -> str:
        """The first candidate the survey offers (``de-AT`` → ``de``), else the survey's default
        (:func:`nps.kernel.locales.offered_locale`, as every channel)."""
        return offered_locale(self.locales, self.default_locale, *candidates)

    def segments_of(self, attributes: Mapping[str, str]) -> dict[str, str]:
        """The values of the survey's segment dimensions among ``attributes``, in NFC
        (:func:`nps.kernel.normalising.segment_values`, as every channel)."""
        return segment_values(self.segment_dimensions, attributes)

    def follow_up_questions(self, locale: str) -> FollowUpQuestions | None:
        """The survey's follow-up questions in ``locale``, as every channel asks them; None when it asks
        none (or without the stored definition's web part, where the ``reasons`` block is read)."""
        return self.web.follow_up_questions(locale) if self.web is not None else None

    def page(self, locale: str) -> PageBrand:
        """The brand and wording the pages show in ``locale``."""
        return PageBrand(
            name=self.brand_name,
            colour=self.brand_colour,
            logo_url=self.logo_url,
            website_url=self.website_url,
            question=self.question.get(locale),
            follow_up_question=self.follow_up_question.get(locale),
        )


def dedupe_periods(now: datetime, fatigue_days: int) -> tuple[int, int]:
    """The current and the previous dedupe period: ``floor(epoch days / window)`` with the survey's
    fatigue window (at least :data:`MIN_PERIOD_DAYS`). An answer is looked up in both, so two answers
    closer than the window always meet, even across a period boundary (see :meth:`ShareService.answer`)."""
    window = max(MIN_PERIOD_DAYS, fatigue_days)
    current = int(now.timestamp()) // (_DAY * window)
    return current, current - 1


def response_id(id_key: IdKey, survey_id: str, who: str, period: int, *, identified: bool) -> str:
    """The response id of ``who`` (a browser or page id, or a contact id) in one dedupe period:
    ``sl-`` and 40 hex characters of a keyed hash. Nobody without the stack's id key can link it back."""
    label = "share-contact" if identified else "share-anonymous"
    return "sl-" + id_key.digest(label, survey_id, who, str(period))[:40]


@dataclass(frozen=True, slots=True)
class OtherAnswer:
    """A counted answer of the contact on another invite of the survey (email, SMS or web prompt)."""

    invite_id: str
    first_answered_at: str
    in_headline: bool


@dataclass(frozen=True, slots=True)
class ContactAnswers:
    """The contact's other invites of the survey, as :meth:`ContactAnswersStore.find` read them."""

    #: Whether the contacts table holds the contact (its ``last_surveyed_at`` can be set).
    contact_stored: bool = False
    #: Counted answers on the contact's last email/SMS invite and web prompt of the survey.
    answers: tuple[OtherAnswer, ...] = ()
    #: Those invites that exist with no counted answer yet and still count in the headline.
    open_invites: tuple[str, ...] = ()
    #: The contact's account (imported with ``account_id``): the answer counts for the account too.
    account: Membership | None = None

    def headline_taken(self, window_start_iso: str) -> bool:
        """Whether one of the answers counts in the headline and was first given after ``window_start_iso``."""
        return any(a.in_headline and a.first_answered_at > window_start_iso for a in self.answers)


class ContactAnswersStore(Protocol):
    """Where an identified answer finds the contact's other answers, and marks its open invites."""

    def find(
        self, audience: str, survey_id: str, contact_id: str, state_id: str, web_invite_of: Callable[[str], str | None]
    ) -> ContactAnswers:
        """The contact's other invites of the survey: the last email/SMS invite the contact item names, and
        the web invite of the period the prompt was last shown in (``web_invite_of(shown_at)``; the web
        state ``state_id`` says when)."""
        ...

    def exclude_from_headline(self, invite_ids: tuple[str, ...]) -> None:
        """Mark the invites ``in_headline: false``: their answers count in their channel only."""
        ...

    def mark_surveyed(
        self, audience: str, contact_id: str, state_id: str | None, survey_id: str, now: datetime
    ) -> None:
        """The contact was surveyed now: its ``last_surveyed_at`` (contacts table), and the web prompt's
        state ``state_id`` when given."""
        ...


class LinkInviteStore(Protocol):
    """Where a share-link answer's invite item is written (the record the follow-up workflow, the follow-up
    email's unsubscribe link and mail feedback read, as for every other channel's answer)."""

    def record_invite(self, invite: Invite, audience: str, now: datetime) -> None:
        """Write the answer's invite item (status ``answered``) unless it exists; never overwrites one."""
        ...


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
        in_headline: bool | None = None,
    ) -> RecordedScore: ...

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
    ) -> bool:
        """Save the comment and answers; ``False`` when nothing was written (the edit window had closed)."""
        ...


@dataclass(frozen=True, slots=True)
class Respondent:
    """Who answers: a contact (identified link) or a browser/page id (anonymous), with what the token says."""

    who: str
    contact_id: str
    identified: bool
    locale: str | None = None
    segments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    score: int
    category: Category
    outcome: RecordOutcome
    response_id: str


@dataclass(frozen=True, slots=True)
class SavedComment:
    """What the comment form saved, for the page that thanks for it (as the email page's
    :class:`nps.responding.service.CommentResult`)."""

    response_id: str
    #: False when answers were sent after the edit window: the answers on record stand, none was saved.
    answers_saved: bool = True
    #: False when only answers were sent (the comment was empty).
    comment_saved: bool = True


#: Verifies a contact token for a survey at a time with a longest lifetime (seconds): the contact id, its
#: locale and its signed attributes; raises :class:`LinkInvalid`, :class:`WrongSurvey`, :class:`LinkExpired`.
ContactVerifier = Callable[[str, str, float, int], tuple[str, str | None, Mapping[str, str]]]


class ShareService:
    """The share pages' rules over the stores: the survey, who answers, the answer and the comment.

    Every check that can refuse a request runs before anything is written (the rate-limit counter aside)."""

    def __init__(
        self,
        surveys: Callable[[str], ShareSurvey | None],
        responses: ResponseStore,
        id_key: Callable[[], IdKey],
        verify_contact: ContactVerifier,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        edit_window: timedelta = timedelta(days=7),
        contacts: ContactAnswersStore | None = None,
        invites: LinkInviteStore | None = None,
        themes: ThemeTagger | None = None,
    ) -> None:
        self._surveys = surveys
        #: Tags comments with the survey's themes (None: comments are saved without ``themes``).
        self.themes = themes
        self.responses = responses
        self._id_key = id_key
        self._verify_contact = verify_contact
        self.clock = clock
        self.edit_window = edit_window
        #: The contact's other answers (identified links); None: every identified answer is in the headline.
        self.contacts = contacts
        #: Where each answer's invite item is written (None: none is, and no follow-up can open).
        self.invites = invites

    def survey(self, survey_id: str) -> ShareSurvey:
        """The survey whose link is open; :class:`ShareNotFound` otherwise (unknown, link off, paused)."""
        survey = self._surveys(survey_id)
        if survey is None or not survey.open:
            raise ShareNotFound()
        return survey

    def respondent(self, survey: ShareSurvey, token: str | None, browser_id: str | None) -> Respondent:
        """Who answers. Identified: the contact of a valid token (raises otherwise; a token on an
        anonymous link is ignored: the link asks nobody's name). Anonymous: the browser (or page) id, which
        must look like one (:data:`BROWSER_ID`), else :class:`ShareError` (a tampered form)."""
        if survey.share.identified:
            if not token:
                raise LinkInvalid()
            max_lifetime = survey.share.identified_max_days * _DAY
            contact_id, locale, attributes = self._verify_contact(
                token, survey.survey_id, self.clock().timestamp(), max_lifetime
            )
            return Respondent(contact_id, contact_id, True, locale, survey.segments_of(attributes))
        if browser_id is None or not BROWSER_ID.fullmatch(browser_id):
            raise ShareError("the form has no browser or page id")
        return Respondent(browser_id, ANONYMOUS_CONTACT, False)

    def _response_id(self, survey: ShareSurvey, respondent: Respondent, now: datetime) -> str:
        """The response this respondent's answer goes to: the previous period's when it was first answered
        within the fatigue window (one read, consistent), else the current period's."""
        id_key = self._id_key()
        current, previous = dedupe_periods(now, survey.fatigue_days)
        earlier = response_id(id_key, survey.survey_id, respondent.who, previous, identified=respondent.identified)
        stored = self.responses.get(earlier)
        window = timedelta(days=max(MIN_PERIOD_DAYS, survey.fatigue_days))
        if stored is not None and stored.first_answered_at and stored.first_answered_at > iso_timestamp(now - window):
            return earlier
        return response_id(id_key, survey.survey_id, respondent.who, current, identified=respondent.identified)

    def answer(self, survey: ShareSurvey, respondent: Respondent, raw_score: str | None, locale: str) -> Answer:
        """Record the answer (or edit the respondent's answer of this window; after the edit window the
        first one stands: ``outcome`` LOCKED). Raises :class:`BadScore`.

        The answer's invite item is written first (once: a conditional write, one write unit per answer),
        so a detractor's or promoter's follow-up opens as for any channel (see the module docstring)."""
        try:
            score = parse_score(raw_score)
        except ScoreOutOfRange as error:
            raise BadScore(str(error)) from error
        now = self.clock()
        target = self._response_id(survey, respondent, now)
        category = categorize(score)
        in_headline, others = self._headline(survey, respondent, now)
        invite = self._invite(survey, respondent, target, locale, now, others.account if others else None)
        if self.invites is not None:
            # Before the answer: the follow-up workflow the answer's score starts reads it.
            self.invites.record_invite(invite, survey.audience, now)
        recorded = self.responses.record_score(
            invite,
            score,
            category,
            iso_timestamp(now),
            source="share_link",
            confidence="high",
            edit_window_start_iso=iso_timestamp(now - self.edit_window),
            in_headline=in_headline,
        )
        if (
            self.contacts is not None
            and others is not None
            and in_headline
            and recorded.outcome is RecordOutcome.RECORDED
        ):
            state_id = (
                web_state_id(self._id_key(), survey.survey_id, respondent.contact_id) if survey.web_enabled else None
            )
            if others.contact_stored or state_id is not None:
                self.contacts.mark_surveyed(survey.audience, respondent.contact_id, state_id, survey.survey_id, now)
        return Answer(recorded.score, categorize(recorded.score), recorded.outcome, target)

    def _headline(
        self, survey: ShareSurvey, respondent: Respondent, now: datetime
    ) -> tuple[bool, ContactAnswers | None]:
        """Whether this answer counts in the headline, and what the contact's other invites hold.

        Anonymous answers: the survey's setting, no read. Identified ones: two BatchGetItem round trips
        (:class:`ContactAnswersStore`: the contact item and the web state, then the responses and invites
        of at most two invites: about 3 read units, eventually consistent); when this answer takes the
        headline, one UpdateItem per open invite marks it out of the headline before the answer is written
        (so a crash leaves no double count)."""
        if not respondent.identified or self.contacts is None:
            return survey.share.in_headline, None
        id_key = self._id_key()

        def web_invite_of(shown_at: str) -> str | None:
            wave = survey.web_wave_at(shown_at)
            return web_invite_id(id_key, survey.survey_id, wave, respondent.contact_id) if wave else None

        others = self.contacts.find(
            survey.audience,
            survey.survey_id,
            respondent.contact_id,
            web_state_id(id_key, survey.survey_id, respondent.contact_id),
            web_invite_of,
        )
        window = timedelta(days=max(MIN_PERIOD_DAYS, survey.fatigue_days))
        if others.headline_taken(iso_timestamp(now - window)):
            return False, others
        if others.open_invites:
            self.contacts.exclude_from_headline(others.open_invites)
        return survey.share.in_headline, others

    def comment(
        self,
        survey: ShareSurvey,
        respondent: Respondent,
        raw_comment: str | None,
        raw_score: str | None,
        locale: str,
        *,
        driver: str | None = None,
        csat: str | None = None,
        ces: str | None = None,
    ) -> SavedComment:
        """Save the "why?" comment and the follow-up answers (``driver``, ``csat``, ``ces``: the raw form
        fields, None when not answered, parsed as the email page parses them against the survey's
        questions) on the respondent's answer of this window, in one write. The comment is cleaned as the
        email page's (:func:`nps.responding.service.clean_comment`) and tagged with the survey's themes in
        ``locale``; it may be empty when an answer is given. A score sent with them is recorded first, as
        the email page does. Answers change within the edit window only (after it the answers on record
        stand and a comment is still saved). Returns the response id and what was saved (answers sent after
        the window are not: the page must say so rather than thank for them). Raises :class:`BadAnswer`,
        :class:`EmptyComment` (no comment and no answer), :class:`CommentTooLong`, :class:`NoAnswer` (no
        answer on record and no score) and :class:`CommentLimit`; nothing is written for any of them."""
        try:
            answers = parse_answers(survey.follow_up_questions(locale), driver, csat, ces)
        except InvalidAnswer as error:
            raise BadAnswer(str(error)) from error
        text: str | None
        try:
            text = clean_comment(raw_comment)
        except CommentEmpty as error:
            if not answers.any:
                raise EmptyComment(str(error)) from error
            text = None
        except CommentRefused as error:
            raise CommentTooLong(str(error)) from error
        themes = self.themes.tag(survey.survey_id, locale, text) if text is not None and self.themes else None
        now = self.clock()
        target = self._response_id(survey, respondent, now)
        shown: int | None
        try:
            shown = parse_score(raw_score) if raw_score is not None else None
        except ScoreOutOfRange:
            shown = None
        if shown is not None:
            self.answer(survey, respondent, str(shown), locale)
        elif self.responses.get(target) is None:
            raise NoAnswer()
        try:
            saved = self.responses.save_comment(
                target,
                text,
                iso_timestamp(self.clock()),
                themes=themes,
                answers=answers,
                edit_window_start_iso=iso_timestamp(now - self.edit_window),
            )
        except CommentLimitReached as error:
            raise CommentLimit() from error
        return SavedComment(target, answers_saved=saved, comment_saved=text is not None)

    def _invite(
        self,
        survey: ShareSurvey,
        respondent: Respondent,
        target: str,
        locale: str,
        now: datetime,
        account: Membership | None = None,
    ) -> Invite:
        """The answer's invite: the ids the response item carries (with the contact's ``account``, as a
        wave's invite copies it), and the invite item written beside it."""
        current, _ = dedupe_periods(now, survey.fatigue_days)
        return Invite(
            invite_id=target,
            survey_id=survey.survey_id,
            wave_id=f"link-{current}",
            contact_id=respondent.contact_id,
            channel=survey.share.channel,
            locale=locale,
            expires_at=0,
            sent_at="",
            segments=dict(respondent.segments),
            account=account,
        )
