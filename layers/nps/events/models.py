"""Pydantic models for stored responses and every NPS event ``detail`` (the public contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from nps.events.consumed import CHURN_ID_MAX_LENGTH, CHURN_ID_PATTERN, REASON_CODE_PATTERN, churn_instant, fold_code
from nps.events.fields import Channel, Id, SegmentValues, SendChannel
from nps.events.names import (
    ACCOUNT_HEALTH_CHANGED,
    COMMENT_RECEIVED,
    CONTACT_ERASED,
    CONTACT_UNSUBSCRIBED,
    CUSTOMER_CHURNED,
    EVENT_SOURCE,
    FOLLOW_UP_ALERT,
    FOLLOW_UP_OPENED,
    FOLLOW_UP_RESOLVED,
    ID_PATTERN,
    INVITE_BOUNCED,
    REFERRAL_CLICKED,
    RESPONSE_RETRACTED,
    RESPONSE_SCORED,
)
from nps.kernel.categories import MAX_COMMENT_LENGTH, Category
from nps.reasons.scales import CES_MAX, CES_MIN, CSAT_MAX, CSAT_MIN, MAX_THEMES_PER_RESPONSE

# The contract's names and field types live in lighter modules; they are part of this module's interface too.
__all__ = [
    "ACCOUNT_HEALTH_CHANGED",
    "COMMENT_RECEIVED",
    "CONTACT_ERASED",
    "CONTACT_UNSUBSCRIBED",
    "CUSTOMER_CHURNED",
    "EVENT_SOURCE",
    "FOLLOW_UP_ALERT",
    "FOLLOW_UP_OPENED",
    "FOLLOW_UP_RESOLVED",
    "ID_PATTERN",
    "INVITE_BOUNCED",
    "REFERRAL_CLICKED",
    "RESPONSE_RETRACTED",
    "RESPONSE_SCORED",
    "AccountHealthChangedDetail",
    "AnswerDetail",
    "Channel",
    "CommentReceivedDetail",
    "ContactErasedDetail",
    "ContactUnsubscribedDetail",
    "CustomerChurnedDetail",
    "FollowUpAlertDetail",
    "FollowUpOpenedDetail",
    "FollowUpOutcome",
    "FollowUpResolvedDetail",
    "Id",
    "InviteBouncedDetail",
    "ReferralClickedDetail",
    "ResponseItem",
    "ResponseRetractedDetail",
    "ResponseScoredDetail",
    "SegmentValues",
]


def _no_themes_for_null(value: object) -> object:
    return () if value is None else value


def _sorted_unique(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(value)))


#: The follow-up answers (``nps.reasons``): CSAT 1–5 and CES 1–7.
Csat = Annotated[int, Field(ge=CSAT_MIN, le=CSAT_MAX)]
Ces = Annotated[int, Field(ge=CES_MIN, le=CES_MAX)]
#: A comment's theme ids, sorted and unique (a stored NULL reads as none).
Themes = Annotated[
    tuple[Id, ...],
    BeforeValidator(_no_themes_for_null),
    Field(max_length=MAX_THEMES_PER_RESPONSE),
    AfterValidator(_sorted_unique),
]


class ResponseItem(BaseModel):
    """One item per invite in the responses table (a second tap updates it and bumps ``version``)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    invite_id: Id
    survey_id: Id
    wave_id: Id
    contact_id: Id
    channel: Channel
    locale: str = "en"
    segments: SegmentValues = Field(default_factory=dict)
    score: Annotated[int, Field(ge=0, le=10)] | None = None
    category: Category | None = None
    comment: Annotated[str, Field(max_length=MAX_COMMENT_LENGTH)] | None = None
    version: Annotated[int, Field(ge=0)] = 0
    first_answered_at: datetime | None = None
    answered_at: datetime | None = None
    comment_at: datetime | None = None
    source: str = "link"
    #: False while the only answer on record looks automated (a mail scanner), or after one was retracted.
    counted: bool = True
    confidence: str | None = None
    #: False for an answer kept out of the survey-wide (``*`` channel) figures: an anonymous share-link
    #: answer of a survey that does not count them in its NPS (docs/share-link.md).
    in_headline: bool = True
    #: The follow-up answers: the driver chosen (one of the survey's ids), CSAT and CES (None: not given).
    driver: Id | None = None
    csat: Csat | None = None
    ces: Ces | None = None
    #: The theme ids the comment was tagged with, sorted and unique.
    themes: Themes = ()
    #: The contact's account and role in it, copied from the invite (nps.accounts.membership).
    account_id: Id | None = None
    role: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None

    @property
    def is_counted(self) -> bool:
        """Whether this response counts in the aggregates."""
        return self.counted and self.score is not None and self.first_answered_at is not None


class AnswerDetail(BaseModel):
    """The fields every event about one answer carries: the contract version, a stable ``event_id``,
    the ids, the channel and locale, and the segment values copied at send time (never personal data)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal["1.0"] = "1.0"
    event_id: str
    survey_id: Id
    wave_id: Id
    invite_id: Id
    contact_id: Id
    channel: Channel
    locale: str
    segments: SegmentValues


class ResponseScoredDetail(AnswerDetail):
    """``detail`` of ``NPS Response Scored``: a first answer, or a changed score, on one invite.

    Ids and segment values only: never an email address, phone number or comment text.
    ``event_id`` (``<invite_id>:<version>``) is stable across redeliveries, so subscribers can dedupe.
    """

    score: Annotated[int, Field(ge=0, le=10)]
    category: Category
    previous_score: Annotated[int, Field(ge=0, le=10)] | None = None
    previous_category: Category | None = None
    category_changed: bool
    #: This answer put the contact in ``category``: a first answer, or a change from another category
    #: (the follow-up rules match on it; EventBridge patterns cannot be written with ``null`` in CDK).
    category_entered: bool = False
    version: Annotated[int, Field(ge=1)]
    first_answered_at: datetime
    answered_at: datetime
    #: The response's follow-up answers (``nps.reasons``) when the event was written: the driver chosen,
    #: CSAT (1–5) and CES (1–7), each null when not given, and the theme ids of its comment (sorted,
    #: unique; ``[]`` for none). Optional fields added in 1.0, last, so earlier fields keep their places.
    driver: Id | None = None
    csat: Csat | None = None
    ces: Ces | None = None
    themes: Annotated[tuple[Id, ...], Field(max_length=MAX_THEMES_PER_RESPONSE)] = ()


class CommentReceivedDetail(AnswerDetail):
    """``detail`` of ``NPS Comment Received``: a comment was added to or changed on a response.

    The comment text is not in the event (free text can hold personal data): subscribers that may
    read it fetch it from the responses table by ``invite_id``. ``event_id`` is stable across
    redeliveries.
    """

    score: Annotated[int, Field(ge=0, le=10)]
    category: Category
    comment_length: Annotated[int, Field(ge=1, le=MAX_COMMENT_LENGTH)]
    version: Annotated[int, Field(ge=1)]
    commented_at: datetime
    #: The follow-up answers and the themes this comment was tagged with (see ``ResponseScoredDetail``).
    driver: Id | None = None
    csat: Csat | None = None
    ces: Ces | None = None
    themes: Annotated[tuple[Id, ...], Field(max_length=MAX_THEMES_PER_RESPONSE)] = ()


class ContactUnsubscribedDetail(BaseModel):
    """``detail`` of ``NPS Contact Unsubscribed``: a contact opted out (link, one-click header or STOP)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal["1.0"] = "1.0"
    event_id: str
    contact_id: Id
    survey_id: Id | None = None
    wave_id: Id | None = None
    invite_id: Id | None = None
    channel: SendChannel
    method: Literal["link", "one_click", "sms_stop", "complaint"]
    unsubscribed_at: datetime


class ErasedCounts(BaseModel):
    """What an erasure removed, per store (``suppressions``: deleted, or with ``suppression_kept`` the
    hash-only suppressions kept)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    contacts: Annotated[int, Field(ge=0)]
    invites: Annotated[int, Field(ge=0)]
    responses: Annotated[int, Field(ge=0)]
    follow_ups: Annotated[int, Field(ge=0)]
    account_records: Annotated[int, Field(ge=0)]
    suppressions: Annotated[int, Field(ge=0)]
    mailbox_claims: Annotated[int, Field(ge=0)]
    web_states: Annotated[int, Field(ge=0)]
    import_report_rows: Annotated[int, Field(ge=0)]


class ContactErasedDetail(BaseModel):
    """``detail`` of ``NPS Contact Erased``: the contact's data was deleted from every store of the platform;
    subscribers erase what they keep of ``contact_id``. No address, no answer."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal["1.0"] = "1.0"
    event_id: str
    contact_id: Id
    erased_at: datetime
    counts: ErasedCounts
    suppression_kept: bool


class InviteBouncedDetail(BaseModel):
    """``detail`` of ``NPS Invite Bounced``: SES reported a bounce or complaint for an invite's email."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal["1.0"] = "1.0"
    event_id: str
    contact_id: Id
    survey_id: Id
    wave_id: Id
    invite_id: Id
    channel: Literal["email"] = "email"
    bounce_type: Literal["permanent", "transient", "complaint"]
    suppressed: bool
    bounced_at: datetime


class ResponseRetractedDetail(AnswerDetail):
    """``detail`` of ``NPS Response Retracted``: an answer that was counted no longer is.

    Sent when evidence that arrived seconds later (a mail scanner's burst of clicks, a fetch of the
    hidden preview link) shows the answer was automated. Subscribers that acted on the matching
    ``NPS Response Scored`` (same ``invite_id``) should undo or close what they started.
    """

    previous_score: Annotated[int, Field(ge=0, le=10)]
    previous_category: Category
    reason: Literal["automated", "removed"]
    version: Annotated[int, Field(ge=1)]
    retracted_at: datetime


FollowUpOutcome = Literal["re_surveyed", "closed", "retracted", "suppressed"]


class FollowUpOpenedDetail(AnswerDetail):
    """``detail`` of ``NPS Follow-up Opened``: a follow-up started for one answer (its category's workflow).

    ``follow_up_id`` is ``<invite_id>-<version>`` of the answer that opened it (one follow-up per
    answer that put the contact in a category); ``event_id`` is ``<follow_up_id>:opened``. Published
    after the email step, for every category. Ids and segment values only.
    """

    follow_up_id: Id
    score: Annotated[int, Field(ge=0, le=10)]
    category: Category
    #: Whether the apology / thank-you / "what would make it a 10?" email went out (False: suppressed,
    #: no address, or switched off for the survey).
    email_sent: bool
    opened_at: datetime


class FollowUpResolvedDetail(BaseModel):
    """``detail`` of ``NPS Follow-up Resolved``: a follow-up ended.

    ``outcome``: ``re_surveyed`` (the contact answered the re-survey: ``new_score``/``new_category``
    and ``moved_category`` say whether they moved), ``closed`` (resolved or timed out without a
    re-survey answer), ``retracted`` (the answer that opened it was retracted) or ``suppressed`` (the
    contact opted out, so no re-survey). ``event_id`` is ``<follow_up_id>:resolved``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal["1.0"] = "1.0"
    event_id: str
    follow_up_id: Id
    survey_id: Id
    wave_id: Id
    invite_id: Id
    contact_id: Id
    segments: SegmentValues
    score: Annotated[int, Field(ge=0, le=10)]
    category: Category
    outcome: FollowUpOutcome
    resurvey_invite_id: Id | None = None
    new_score: Annotated[int, Field(ge=0, le=10)] | None = None
    new_category: Category | None = None
    moved_category: bool
    opened_at: datetime
    resolved_at: datetime


class FollowUpAlertDetail(AnswerDetail):
    """``detail`` of ``NPS Follow-up Alert``: the team is alerted about a detractor (with the SNS alert).

    Published by the detractor workflow right after it opens, when the survey's ``alert`` setting is on;
    the optional webhook (Slack or any URL) posts it. ``event_id`` is ``<follow_up_id>:alert``.
    """

    follow_up_id: Id
    score: Annotated[int, Field(ge=0, le=10)]
    category: Category
    alerted_at: datetime


class ReferralClickedDetail(AnswerDetail):
    """``detail`` of ``NPS Referral Clicked``: a promoter followed the referral or review link of the
    promoter follow-up email for the first time (one event per invite and target; a scanner's fetch and a
    repeated click publish nothing).

    ``target`` is the kind of page (``referral`` or ``review``), never its address. ``event_id`` is
    ``<invite_id>:clicked:<target>``. Ids and segment values only.
    """

    target: Literal["referral", "review"]
    clicked_at: datetime


class AccountHealthChangedDetail(BaseModel):
    """``detail`` of ``NPS Account Health Changed``: an account's health changed since the previous digest
    of a survey (docs/digest.md). Published once per account and change by the digest function.

    ``health`` is ``at_risk`` or ``healthy`` (every health but at risk: watch, healthy, no answers);
    ``reasons`` the codes of docs/accounts.md (empty when healthy); ``nps`` (−100…+100, null without
    answers) and ``n`` are those of the account's latest answered month or quarter; ``period`` the digest
    period (``daily:2026-12-02``, ``weekly:2026-11-26``); ``assessed_at`` when it was assessed. Ids only.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal["1.0"] = "1.0"
    survey_id: Id
    account_id: Id
    health: Literal["at_risk", "healthy"]
    reasons: list[Literal["decision_maker_detractor", "nps_fell", "no_answer", "more_detractors"]]
    nps: Annotated[float, Field(ge=-100, le=100)] | None
    n: Annotated[int, Field(ge=0)]
    period: Annotated[str, StringConstraints(pattern=r"^(daily|weekly):[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    assessed_at: datetime


# -- Events the platform consumes ---------------------------------------------------------------------------
# Published by the team's own services on the NPS bus (any ``source`` but ``nps``); the platform records them.


#: When a customer churned: an ISO date (midnight UTC) or date-time (UTC when it has no offset).
ChurnInstant = Annotated[
    datetime,
    BeforeValidator(churn_instant),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
            "description": "ISO 8601 date (midnight UTC) or date-time (UTC when it has no offset)",
        }
    ),
]
#: A churn reason: a short code (``price``, ``competitor``, ``out_of_business``), never free text. Folded to
#: lower case; letters, digits, ``_``, ``-`` and ``.`` only, so a sentence (or an address) cannot be stored.
ReasonCode = Annotated[str, BeforeValidator(fold_code), StringConstraints(pattern=REASON_CODE_PATTERN)]


class CustomerChurnedDetail(BaseModel):
    """``detail`` of ``Customer Churned`` (consumed): a contact, an account or both stopped being customers.

    ``churn_id`` is the sender's id of this churn (the dedupe key; the EventBridge event id when absent).
    At least one of ``contact_id`` and ``account_id``. ``churned_at`` may not be more than a day ahead of
    the time the platform receives it (checked on receipt, :mod:`nps.accounts.churn`). ``reason`` is a code,
    never free text. Unknown fields (an email address, a note) are refused: the event is parked, not stored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal["1.0"] = "1.0"
    churn_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=CHURN_ID_MAX_LENGTH, pattern=CHURN_ID_PATTERN)] | None
    ) = None
    contact_id: Id | None = None
    account_id: Id | None = None
    churned_at: ChurnInstant
    reason: ReasonCode | None = None

    @model_validator(mode="after")
    def _names_someone(self) -> CustomerChurnedDetail:
        if self.contact_id is None and self.account_id is None:
            raise ValueError("a churn names a contact_id, an account_id or both")
        return self
