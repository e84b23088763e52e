"""Closing the loop: the steps of the follow-up workflows, as plain functions over small interfaces.

The Step Functions state machines (``infra/constructs/follow_ups.py``) call these steps in order; locally
moto executes the same synthesized state machines (``local/workflows.py``). Each step is safe to
run again: a retried or redelivered step finds the state the first run left and does not repeat itself.

* Detractor: :meth:`FollowUpService.open` → alert (SNS, by the state machine) → wait → :meth:`send_email`
  → ``NPS Follow-up Opened`` → :meth:`open_task` (wait for the team's resolution or the timeout) → wait
  → :meth:`resurvey` → wait for the answer → :meth:`close_unanswered`.
* Promoter and passive: :meth:`open` → wait → :meth:`send_email` → ``NPS Follow-up Opened``.

The follow-up events consumer calls :meth:`on_comment`, :meth:`on_retracted` and
:meth:`on_resurvey_answered`, and :meth:`send_comment_update` when a comment update falls due.

Comments are bounded and coalesced: a follow-up keeps the latest :data:`~nps.follow_ups.steps.FOLLOW_UP_COMMENTS_KEPT`
comments within :data:`~nps.follow_ups.steps.FOLLOW_UP_COMMENT_BYTES_KEPT` bytes of text and counts every one
(``comment_count``); while the team's task is open, the first new comment schedules one update
:data:`~nps.follow_ups.steps.COMMENT_UPDATE_WINDOW_SECONDS` later (a delayed message on the follow-up events
queue), which carries every comment that arrived meanwhile. However many comments a person sends, the
item stays a few tens of KB and the team gets at most one message per follow-up per window.

A follow-up's id is ``<invite_id>-<version>`` of the answer that opened it: one per answer that put the
contact in a category, the same for every redelivery of that answer's event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from nps.events.names import COMMENT_RECEIVED, EVENT_SOURCE, FOLLOW_UP_RESOLVED, RESPONSE_RETRACTED, RESPONSE_SCORED
from nps.events.patterns import RESURVEY_WAVE_PREFIX
from nps.events.publisher import Event, Publisher, detail_json
from nps.kernel.categories import categorize
from nps.kernel.periods import iso_timestamp, parse_timestamp
from nps.sending.adapters.channels import SendError
from nps.sending.feedback import feedback_tags
from nps.sending.suppression import lookup_hashes

if TYPE_CHECKING:
    # The event models, surveys and contacts load pydantic: the steps that validate an event or read a
    # survey import them when they run, so the others (and the functions' cold starts) never do.
    from pydantic import BaseModel

    from nps.accounts.adapters.referrals import Answer
    from nps.events.models import FollowUpOutcome
    from nps.links.pseudonyms import IdKey
    from nps.links.tokens import Keyring
    from nps.sending.adapters.invites import InviteRecord
    from nps.sending.contacts import Contact
    from nps.sending.delivery import Contacts, Mailer
    from nps.sending.surveys import Survey

logger = logging.getLogger(__name__)

UNSUBSCRIBE_LINK_DAYS = 365
#: A follow-up keeps its answer's latest comments: at most this many, and at most this many bytes of
#: comment text (UTF-8). Every comment is counted (``comment_count``); the response keeps the latest.
FOLLOW_UP_COMMENTS_KEPT = 20
FOLLOW_UP_COMMENT_BYTES_KEPT = 32 * 1024
#: The team's task queue gets at most one comment update per follow-up per this many seconds
#: (SQS delays a message at most 900 s).
COMMENT_UPDATE_WINDOW_SECONDS = 300
RETENTION_DAYS = 400
#: Email delay (≤ 30 days) + resolution (≤ 90) + wait to re-survey (≤ 90) + this < 365 days.
MAX_ANSWER_WAIT_DAYS = 120


class Status(StrEnum):
    OPENED = "opened"  # created; email not decided yet
    NOTIFIED = "notified"  # email sent or skipped (the end for promoters and passives: see ``done``)
    AWAITING_RESOLUTION = "awaiting_resolution"  # a task is open for the team
    RE_SURVEYING = "re_surveying"  # a re-survey invite is out
    DONE = "done"  # promoter / passive: the email step ran
    RESOLVED = "resolved"  # detractor: ended, with an ``outcome``


OPEN_STATUSES = (Status.OPENED, Status.NOTIFIED, Status.AWAITING_RESOLUTION, Status.RE_SURVEYING)
#: Statuses in which new comments are sent to the team's task (NOTIFIED: the task is about to open).
COMMENT_UPDATE_STATUSES = (Status.NOTIFIED, Status.AWAITING_RESOLUTION)
#: ``source`` / ``detail-type`` of the follow-up's own "comment update due" message (on its events
#: queue only, never on the bus).
FOLLOW_UP_SOURCE = "nps.follow-ups"
COMMENT_UPDATE_DUE = "Follow-up Comment Update Due"
#: A comment update due longer ago than this never ran (its message failed into the DLQ): schedule anew.
COMMENT_UPDATE_STALE = timedelta(minutes=15)
#: Writers of one follow-up's comments race on its comment count; this many tries, then SQS retries.
COMMENT_WRITE_ATTEMPTS = 5


class InvalidFollowUpEvent(ValueError):
    """The event that would start or change a follow-up breaks the event contract (never retried)."""


class FollowUpNotFound(LookupError):
    """No follow-up with this id (a step for a follow-up that was never opened)."""


class FollowUpClosed(Exception):
    """The follow-up ended (its answer was retracted) before its task opened: the workflow stops here."""


class CommentConflict(RuntimeError):
    """Other writers kept changing a follow-up's comments; raised so the event is retried (SQS)."""


def follow_up_id_of(invite_id: str, version: int) -> str:
    return f"{invite_id}-{version}"


def invite_id_of(follow_up_id: str) -> str:
    invite_id, _, version = follow_up_id.rpartition("-")
    if not invite_id or not version.isdigit():
        raise FollowUpNotFound(follow_up_id)
    return invite_id


def resurvey_wave_id(follow_up_id: str) -> str:
    return f"{RESURVEY_WAVE_PREFIX}{follow_up_id}"


def follow_up_of_wave(wave_id: str) -> str | None:
    """The follow-up a re-survey wave belongs to (None for any other wave)."""
    return wave_id[len(RESURVEY_WAVE_PREFIX) :] if wave_id.startswith(RESURVEY_WAVE_PREFIX) else None


@dataclass(kw_only=True)
class FollowUp:
    """One follow-up item (ids, the answer, where the workflow is). No address, no token in logs.

    A plain dataclass rather than a pydantic model: it is only ever read back from our own table, which
    this package alone writes, so the follow-up steps that need no survey and no event contract (the
    team's task, closing, comment updates) run without loading pydantic.
    """

    follow_up_id: str
    invite_id: str
    category: str
    status: Status
    survey_id: str
    wave_id: str
    contact_id: str
    audience: str
    channel: str
    locale: str
    segments: dict[str, str] = field(default_factory=dict)
    score: int
    version: int
    opened_at: str
    execution: str = ""
    email_sent: bool | None = None
    email_reason: str | None = None
    task_token: str | None = None
    resolution: str | None = None
    resurvey_invite_id: str | None = None
    outcome: str | None = None
    new_score: int | None = None
    new_category: str | None = None
    resolved_at: str | None = None
    #: The latest comments the contact added (text kept here, in the encrypted table, for the team's
    #: task): at most FOLLOW_UP_COMMENTS_KEPT, FOLLOW_UP_COMMENT_BYTES_KEPT bytes of text.
    comments: list[dict[str, Any]] = field(default_factory=list)
    #: Every comment received, kept or not (absent on items older than the bound: see ``comments_received``).
    comment_count: int | None = None
    #: How many of them the team's task queue has been told about.
    comments_sent: int = 0
    #: When the scheduled comment update falls due (ISO time), while one is pending.
    comment_update_due: str | None = None

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FollowUp:
        """A follow-up from its stored attributes (numbers as ``int``); attributes it does not know (the
        item's TTL, the email claim) are ignored. ``TypeError`` when a required attribute is missing,
        ``ValueError`` for an unknown status."""
        return cls(**{name: data[name] for name in _FOLLOW_UP_FIELDS if name in data})

    def as_dict(self, *, exclude_none: bool = False, exclude: Collection[str] = ()) -> dict[str, Any]:
        """The follow-up as JSON-ready data, in field order (``status`` as its value)."""
        data = {name: getattr(self, name) for name in _FOLLOW_UP_FIELDS if name not in exclude}
        data["status"] = self.status.value
        return {k: v for k, v in data.items() if v is not None} if exclude_none else data

    def replace(self, **changes: Any) -> FollowUp:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    @property
    def comments_received(self) -> int:
        """Every comment received for this follow-up, including those no longer kept."""
        return self.comment_count if self.comment_count is not None else len(self.comments)

    def event_fields(self, suffix: str) -> dict[str, Any]:
        """The fields every follow-up event carries (ids, answer, segments); ``event_id`` ends in ``suffix``."""
        return {
            "event_id": f"{self.follow_up_id}:{suffix}",
            "follow_up_id": self.follow_up_id,
            "survey_id": self.survey_id,
            "wave_id": self.wave_id,
            "invite_id": self.invite_id,
            "contact_id": self.contact_id,
            "channel": self.channel,
            "locale": self.locale,
            "segments": dict(self.segments),
            "score": self.score,
            "category": self.category,
        }


_FOLLOW_UP_FIELDS = tuple(f.name for f in fields(FollowUp))


class FollowUpStore(Protocol):
    def create(self, follow_up: FollowUp, ttl: int) -> bool: ...
    def get(self, follow_up_id: str) -> FollowUp | None: ...
    def of_invite(self, invite_id: str) -> list[FollowUp]: ...
    def transition(
        self, follow_up_id: str, expected: Sequence[Status], new: Status, values: dict[str, Any]
    ) -> bool: ...
    def claim_email(self, follow_up_id: str) -> bool: ...
    def release_email(self, follow_up_id: str) -> None: ...
    def save_comments(
        self,
        follow_up_id: str,
        comments: list[dict[str, Any]],
        comment_count: int,
        *,
        expected_count: int | None,
        expected_status: Status,
        update_due: str | None = None,
    ) -> bool: ...
    def finish_comment_update(self, follow_up_id: str, comments_sent: int) -> bool: ...
    def continue_comment_update(self, follow_up_id: str, comments_sent: int, update_due: str) -> bool: ...
    def clear_comment_update(self, follow_up_id: str) -> None: ...


class Invites(Protocol):
    def get(self, invite_id: str) -> InviteRecord | None: ...


class Surveys(Protocol):
    def get(self, survey_id: str) -> Survey | None: ...


class Suppressions(Protocol):
    def is_suppressed(self, address_hash: str) -> bool: ...


class CurrentResponse(Protocol):
    """The stored answer of an invite: score, whether it counts, its version and comment."""

    @property
    def score(self) -> int | None: ...
    @property
    def counted(self) -> bool: ...
    @property
    def comment(self) -> str | None: ...


class Responses(Protocol):
    def get(self, invite_id: str) -> CurrentResponse | None: ...


class TaskQueue(Protocol):
    """The follow-up task queue a CRM or ticketing integration consumes (messages in docs/events.md)."""

    def send(self, body: dict[str, Any]) -> None: ...


class CommentUpdates(Protocol):
    """Schedules a follow-up's comment update (a delayed message to the follow-up events function)."""

    def schedule(self, follow_up_id: str, due: datetime, now: datetime) -> None: ...


class TaskTokens(Protocol):
    """Ends a workflow's wait for resolution (Step Functions ``SendTaskSuccess``)."""

    def succeed(self, token: str, output: dict[str, Any]) -> None: ...


class ReferralAsks(Protocol):
    """Records that a promoter was asked for a referral or review, once per invite
    (:meth:`nps.accounts.adapters.referrals.DynamoReferralLedger.record_ask`)."""

    def record_ask(self, answer: Answer, asked_at: datetime) -> bool: ...


class Resurveyor(Protocol):
    """Plans one re-survey invite for a contact (outside the fatigue window's reach)."""

    def resurvey(self, survey: Survey, contact: Contact, wave_id: str, now: datetime) -> tuple[str | None, str]: ...


@dataclass(frozen=True, slots=True)
class FollowUpSettings:
    base_url: str
    configuration_set: str
    retention_days: int = RETENTION_DAYS


@dataclass
class FollowUpService:
    follow_ups: FollowUpStore
    invites: Invites
    surveys: Surveys
    contacts: Contacts
    suppressions: Suppressions
    responses: Responses
    mailer: Mailer
    tasks: TaskQueue
    comment_updates: CommentUpdates
    tokens: TaskTokens
    resurveyor: Resurveyor
    publisher: Publisher
    keyring: Callable[[], Keyring]
    id_key: Callable[[], IdKey]
    settings: FollowUpSettings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Where the promoter email's referral/review ask is recorded (None: not recorded).
    referral_asks: ReferralAsks | None = None

    # -- open ---------------------------------------------------------------------------------------
    def open(self, event: dict[str, Any], execution: str = "") -> dict[str, Any]:
        """Create the follow-up of a scored answer; return what the workflow needs next.

        ``status``: ``opened`` (go on), ``duplicate`` (this answer's follow-up exists: a redelivered
        event), ``disabled`` (off for this survey and category), ``superseded`` (the answer changed or
        was retracted before the workflow started) or ``unknown_invite``.
        """
        from nps.events.models import ResponseScoredDetail

        detail = parse_detail(ResponseScoredDetail, event)
        follow_up_id = follow_up_id_of(detail.invite_id, detail.version)
        result: dict[str, Any] = {"follow_up_id": follow_up_id, "category": detail.category}
        survey = self.surveys.get(detail.survey_id)
        if survey is None or not survey.follow_ups.for_category(detail.category).enabled:
            return result | {"status": "disabled"}
        current = self.responses.get(detail.invite_id)
        if (
            current is None
            or not current.counted
            or current.score is None
            or categorize(current.score) != detail.category
        ):
            return result | {"status": "superseded"}
        invite = self.invites.get(detail.invite_id)
        if invite is None:
            return result | {"status": "unknown_invite"}
        now = self.clock()
        follow_up = FollowUp(
            follow_up_id=follow_up_id,
            invite_id=detail.invite_id,
            category=detail.category,
            status=Status.OPENED,
            survey_id=detail.survey_id,
            wave_id=detail.wave_id,
            contact_id=detail.contact_id,
            audience=invite.audience,
            channel=detail.channel,
            locale=detail.locale,
            segments=dict(detail.segments),
            score=detail.score,
            version=detail.version,
            opened_at=iso_timestamp(now),
            execution=execution,
            # A comment saved before the workflow started is already on the response.
            comments=[_comment(current.comment, detail.version, iso_timestamp(now))] if current.comment else [],
            comment_count=1 if current.comment else 0,
        )
        ttl = int((now + timedelta(days=self.settings.retention_days)).timestamp())
        created = self.follow_ups.create(follow_up, ttl)
        stored = follow_up if created else self.follow_ups.get(follow_up_id)
        if stored is None:
            raise FollowUpNotFound(follow_up_id)
        if not created and stored.execution != execution:
            return result | {"status": "duplicate"}
        return result | {
            "status": "opened",
            "settings": self._timings(survey, stored, now),
            "alert": self._alert(survey, stored, now),
        }

    def _timings(self, survey: Survey, follow_up: FollowUp, now: datetime) -> dict[str, Any]:
        from nps.sending.quiet_hours import next_send_time
        from nps.sending.surveys import DetractorFollowUp  # loaded with the survey

        settings = survey.follow_ups.for_category(follow_up.category)
        contact = self.contacts.get(follow_up.audience, follow_up.contact_id)
        email_at = now + timedelta(minutes=settings.email_delay_minutes)
        if contact is not None:
            email_at = next_send_time(email_at, contact.time_zone, survey.quiet_hours)
        timings: dict[str, Any] = {"email_wait_seconds": max(0, int((email_at - now).total_seconds()))}
        if isinstance(settings, DetractorFollowUp):
            timings |= {
                "alert": settings.alert,
                "resolve_timeout_seconds": settings.resolve_within_days * 86400,
                "resurvey_wait_seconds": settings.resurvey_after_days * 86400,
            }
        return timings

    @staticmethod
    def _alert(survey: Survey, follow_up: FollowUp, now: datetime) -> dict[str, Any]:
        """The team's alert (SNS subject and message, and the ``NPS Follow-up Alert`` detail): ids, score
        and segments only; the task queue and the tables hold the rest."""
        segments = ", ".join(f"{k}={v}" for k, v in sorted(follow_up.segments.items())) or "none"
        message = (
            f"A {follow_up.category} answered {follow_up.score}/10 to '{survey.name}'.\n"
            f"Follow-up: {follow_up.follow_up_id}\nSurvey: {follow_up.survey_id}\n"
            f"Contact: {follow_up.contact_id}\nChannel: {follow_up.channel}\nSegments: {segments}\n"
            "A follow-up task is open on the follow-up task queue."
        )
        subject = f"NPS {follow_up.category} follow-up: {follow_up.score}/10 on {survey.name}"
        from nps.events.models import FollowUpAlertDetail

        event = FollowUpAlertDetail.model_validate(follow_up.event_fields("alert") | {"alerted_at": now})
        return {"subject": subject[:100], "message": message, "event": detail_json(event)}

    # -- email --------------------------------------------------------------------------------------
    def send_email(self, follow_up_id: str) -> dict[str, Any]:
        """Send the category's email at most once; return ``email_sent`` and the Opened event's detail."""
        follow_up = self._get(follow_up_id)
        if follow_up.email_sent is None:
            sent, reason = self._email(follow_up)
            new = Status.DONE if follow_up.category != "detractor" else Status.NOTIFIED
            values = {"email_sent": sent, "email_reason": reason}
            if self.follow_ups.transition(follow_up_id, (Status.OPENED,), new, values):
                follow_up = follow_up.replace(status=new, **values)
            else:
                follow_up = self._get(follow_up_id)  # closed meanwhile (a retraction): its state as stored
        from nps.events.models import FollowUpOpenedDetail

        opened = FollowUpOpenedDetail.model_validate(
            follow_up.event_fields("opened")
            | {"email_sent": bool(follow_up.email_sent), "opened_at": parse_timestamp(follow_up.opened_at)}
        )
        return {
            "status": str(follow_up.status),
            "email_sent": bool(follow_up.email_sent),
            "reason": follow_up.email_reason,
            "opened": detail_json(opened),
        }

    def _email(self, follow_up: FollowUp) -> tuple[bool, str | None]:
        survey = self.surveys.get(follow_up.survey_id)
        if survey is None or not survey.active:
            return False, "survey_gone"
        settings = survey.follow_ups.for_category(follow_up.category)
        if not settings.enabled or not settings.email:
            return False, "switched_off"
        if follow_up.status is not Status.OPENED:
            return False, "closed"  # retracted before the email was due
        contact = self.contacts.get(follow_up.audience, follow_up.contact_id)
        if contact is None or not contact.email:
            return False, "no_email"
        if any(self.suppressions.is_suppressed(h) for h in lookup_hashes("email", contact.email, self.id_key())):
            return False, "suppressed"
        # Everything that can fail (the keyring read, rendering) runs before the claim: a failure here
        # leaves the email unclaimed, so the step's retry sends it.
        now = self.clock()
        until = int((now + timedelta(days=UNSUBSCRIBE_LINK_DAYS)).timestamp())
        from nps.sending.messages import mime_message, render_follow_up_email, unsubscribe_link

        keyring = self.keyring()
        unsubscribe = unsubscribe_link(keyring, self.settings.base_url, follow_up.invite_id, until)
        links = self._redirect_links(survey, follow_up, keyring, now)
        email = render_follow_up_email(survey, follow_up.category, follow_up.locale, unsubscribe, links)
        raw = mime_message(survey, contact.email, email, unsubscribe)
        # The same tags as an invite's, plus the follow-up's id: a complaint about this email then
        # publishes the contact's unsubscribe (docs/inputs.md, "Mail feedback").
        tags = feedback_tags(
            invite_id=follow_up.invite_id,
            survey_id=follow_up.survey_id,
            contact_id=follow_up.contact_id,
            follow_up_id=follow_up.follow_up_id,
        ) | {"follow_up": follow_up.category}
        if not self.follow_ups.claim_email(follow_up.follow_up_id):
            return False, "interrupted"  # an earlier attempt claimed it and may have sent: never twice
        try:
            self.mailer.send_email(
                source=survey.sender,
                destination=contact.email,
                raw=raw,
                configuration_set=self.settings.configuration_set,
                tags=tags,
            )
        except SendError as error:
            if error.retryable:
                self.follow_ups.release_email(follow_up.follow_up_id)
                raise
            return False, error.reason
        if links:
            self._record_ask(follow_up)
        return True, None

    def _redirect_links(self, survey: Survey, follow_up: FollowUp, keyring: Keyring, now: datetime) -> dict[str, str]:
        """The promoter email's signed referral/review links (``<base>/g/<token>``), one per address the
        survey has; the tokens name the invite and the target kind, expire with the survey's link lifetime,
        and never carry the address."""
        from nps.links.tokens import REDIRECT_TARGETS, Purpose, sign  # as the email step's message code
        from nps.sending.surveys import PromoterFollowUp  # loaded with the Survey it is given

        settings = survey.follow_ups.for_category(follow_up.category)
        if not isinstance(settings, PromoterFollowUp):
            return {}
        expires = int((now + timedelta(days=survey.link_lifetime_days)).timestamp())
        base = self.settings.base_url.rstrip("/")
        return {
            target: f"{base}/g/{sign(keyring, Purpose.REDIRECT, follow_up.invite_id, expires, target)}"
            for target in REDIRECT_TARGETS
            if getattr(settings, f"{target}_url")
        }

    def _record_ask(self, follow_up: FollowUp) -> None:
        """Record the ask the email carried (once per invite). Best effort: the email is out, so a failed
        write is logged (the participation rate's denominator then misses this promoter) and the step
        goes on rather than being retried into a second email."""
        if self.referral_asks is None:
            return
        try:
            current = self.responses.get(follow_up.invite_id)
            first = getattr(current, "first_answered_at", None)
            invite = self.invites.get(follow_up.invite_id)
            account = invite.account.account_id if invite is not None and invite.account is not None else None
            if not first:
                return
            # Imported here: only a promoter's email records an ask, and the account figures it loads are
            # no other step's (nor the follow-up events function's) cold start.
            from nps.accounts.adapters.referrals import Answer

            answer = Answer(
                survey_id=follow_up.survey_id,
                invite_id=follow_up.invite_id,
                contact_id=follow_up.contact_id,
                first_answered_at=parse_timestamp(first),
                account_id=account,
            )
            self.referral_asks.record_ask(answer, self.clock())
        except Exception:
            logger.exception("the referral ask of follow-up %s could not be recorded", follow_up.follow_up_id)

    # -- the team's task ------------------------------------------------------------------------------
    def open_task(self, follow_up_id: str, task_token: str) -> dict[str, Any]:
        """Open the team's task and keep the token that ends the wait (the team's resolution)."""
        follow_up = self._get(follow_up_id)
        if follow_up.status is Status.RESOLVED:
            # Retracted meanwhile: nothing for the team to do. The state machine catches this and ends.
            raise FollowUpClosed(f"{follow_up_id} ended ({follow_up.outcome}) before its task opened")
        # The task carries the comments read here; a comment saved meanwhile is in the next update.
        moved = self.follow_ups.transition(
            follow_up_id,
            (Status.NOTIFIED,),
            Status.AWAITING_RESOLUTION,
            {"task_token": task_token, "comments_sent": follow_up.comments_received},
        )
        if not moved:
            if follow_up.status is not Status.AWAITING_RESOLUTION:
                raise FollowUpNotFound(f"{follow_up_id} is {follow_up.status}, not ready for a task")
            # A retried step: the task message went out; keep the latest token.
            self.follow_ups.transition(
                follow_up_id, (Status.AWAITING_RESOLUTION,), Status.AWAITING_RESOLUTION, {"task_token": task_token}
            )
        self.tasks.send(self.task_message("follow_up_opened", follow_up, task_token=task_token))
        return {"task": "opened"}

    @staticmethod
    def task_message(kind: str, follow_up: FollowUp, **extra: Any) -> dict[str, Any]:
        """A message for the team's task queue (docs/events.md): ids, answer, the kept comments and the
        counts (``comment_count`` received, ``comments_omitted`` no longer kept), plus ``extra``."""
        return {
            "type": kind,
            "schema_version": "1.0",
            "follow_up_id": follow_up.follow_up_id,
            "category": follow_up.category,
            "score": follow_up.score,
            "survey_id": follow_up.survey_id,
            "wave_id": follow_up.wave_id,
            "invite_id": follow_up.invite_id,
            "contact_id": follow_up.contact_id,
            "audience": follow_up.audience,
            "channel": follow_up.channel,
            "locale": follow_up.locale,
            "segments": follow_up.segments,
            "opened_at": follow_up.opened_at,
            "email_sent": bool(follow_up.email_sent),
            "comments": follow_up.comments,
            "comment_count": follow_up.comments_received,
            "comments_omitted": follow_up.comments_received - len(follow_up.comments),
            **extra,
        }

    def resolve(self, follow_up_id: str, resolution: str = "resolved", note: str = "") -> bool:
        """The team resolved the task: end the workflow's wait (see :func:`resolve_task`)."""
        return resolve_task(self.follow_ups, self.tokens, follow_up_id, resolution, note)

    # -- re-survey ----------------------------------------------------------------------------------
    def resurvey(self, follow_up_id: str, resolution: dict[str, Any] | None = None) -> dict[str, Any]:
        """After resolution or the timeout: send a new invite, or resolve the follow-up without one."""
        follow_up = self._get(follow_up_id)
        if follow_up.status is Status.RESOLVED:
            return {"status": "resolved", "outcome": follow_up.outcome}
        if follow_up.status is Status.RE_SURVEYING:
            return self._awaiting_answer(follow_up)
        how = str((resolution or {}).get("resolution") or "timed_out")[:40]
        survey = self.surveys.get(follow_up.survey_id)
        contact = self.contacts.get(follow_up.audience, follow_up.contact_id)
        settings = survey.follow_ups.detractor if survey is not None else None
        if how == "retracted":
            return self._resolve(follow_up, "retracted", {"resolution": how})
        if survey is None or contact is None or settings is None or not settings.resurvey or not survey.active:
            return self._resolve(follow_up, "closed", {"resolution": how})
        invite_id, reason = self.resurveyor.resurvey(survey, contact, resurvey_wave_id(follow_up_id), self.clock())
        if invite_id is None:
            outcome: FollowUpOutcome = "suppressed" if reason in ("suppressed", "no_channel") else "closed"
            return self._resolve(follow_up, outcome, {"resolution": how})
        values = {"resolution": how, "resurvey_invite_id": invite_id}
        waiting = (Status.AWAITING_RESOLUTION, Status.NOTIFIED)
        if not self.follow_ups.transition(follow_up_id, waiting, Status.RE_SURVEYING, values):
            current = self._get(follow_up_id)  # another attempt or a retraction moved it meanwhile
            if current.status is Status.RE_SURVEYING:
                return self._awaiting_answer(current, survey)
            return {"status": str(current.status), "outcome": current.outcome}
        return self._awaiting_answer(follow_up.replace(resurvey_invite_id=invite_id), survey)

    def _awaiting_answer(self, follow_up: FollowUp, survey: Survey | None = None) -> dict[str, Any]:
        survey = survey or self.surveys.get(follow_up.survey_id)
        lifetime_days = survey.link_lifetime_days if survey is not None else 30
        # Until the re-survey link expires (plus a day for the invite's own quiet-hours hold), at most
        # MAX_ANSWER_WAIT_DAYS: with the longest delays a survey allows, the whole detractor workflow
        # stays inside a Standard execution's one-year limit.
        return {
            "status": "re_surveying",
            "resurvey_invite_id": follow_up.resurvey_invite_id,
            "answer_wait_seconds": min(lifetime_days + 1, MAX_ANSWER_WAIT_DAYS) * 86400,
        }

    def close_unanswered(self, follow_up_id: str) -> dict[str, Any]:
        """The re-survey link expired unanswered: resolve as ``closed``."""
        follow_up = self._get(follow_up_id)
        if follow_up.status is not Status.RE_SURVEYING:
            return {"status": str(follow_up.status), "outcome": follow_up.outcome}
        return self._resolve(follow_up, "closed", {})

    def _resolve(
        self,
        follow_up: FollowUp,
        outcome: FollowUpOutcome,
        values: dict[str, Any],
        new_score: int | None = None,
        new_category: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        values = values | {
            "outcome": outcome,
            "resolved_at": iso_timestamp(now),
            "new_score": new_score,
            "new_category": new_category,
        }
        if not self.follow_ups.transition(follow_up.follow_up_id, OPEN_STATUSES, Status.RESOLVED, values):
            current = self._get(follow_up.follow_up_id)
            return {"status": str(current.status), "outcome": current.outcome}
        ids = {k: v for k, v in follow_up.event_fields("resolved").items() if k not in ("channel", "locale")}
        from nps.events.models import FollowUpResolvedDetail

        resolved = FollowUpResolvedDetail(
            **ids,
            outcome=outcome,
            resurvey_invite_id=follow_up.resurvey_invite_id,
            new_score=new_score,
            new_category=new_category,  # type: ignore[arg-type]
            moved_category=new_category is not None and new_category != follow_up.category,
            opened_at=parse_timestamp(follow_up.opened_at),
            resolved_at=now,
        )
        self.publisher.publish([Event(FOLLOW_UP_RESOLVED, resolved, (follow_up.follow_up_id,))])
        return {"status": "resolved", "outcome": outcome}

    # -- events from the bus (the follow-up events consumer) ---------------------------------------
    def handle_event(self, event: dict[str, Any]) -> str:
        """One event from the follow-up events queue (the rules in :data:`nps.events.patterns.FOLLOW_UP_EVENTS`)."""
        if isinstance(event, dict) and event.get("source") == FOLLOW_UP_SOURCE:
            if event.get("detail-type") != COMMENT_UPDATE_DUE:
                raise InvalidFollowUpEvent(f"unexpected follow-up message {str(event.get('detail-type'))[:80]!r}")
            follow_up_id = event.get("follow_up_id")
            if not isinstance(follow_up_id, str) or not follow_up_id:
                raise InvalidFollowUpEvent("a comment update names no follow_up_id")
            return self.send_comment_update(follow_up_id)
        if not isinstance(event, dict) or event.get("source") != EVENT_SOURCE:
            raise InvalidFollowUpEvent("not an NPS event (source must be 'nps')")
        kind = event.get("detail-type")
        if kind == COMMENT_RECEIVED:
            return self.on_comment(event)
        if kind == RESPONSE_RETRACTED:
            return self.on_retracted(event)
        if kind == RESPONSE_SCORED:
            return self.on_resurvey_answered(event)
        raise InvalidFollowUpEvent(f"unexpected detail-type {str(kind)[:80]!r}")

    def on_comment(self, event: dict[str, Any]) -> str:
        """A detractor's comment: kept on the open follow-up of that answer (the latest comments, every one
        counted) and, while its task is open, sent to the team in the next comment update.

        Returns ``appended``, ``duplicate`` (a redelivered event, or the same text again), ``no_comment``
        or ``no_follow_up``. Raises :class:`CommentConflict` when concurrent writers keep winning (retried).
        """
        from nps.events.models import CommentReceivedDetail

        detail = parse_detail(CommentReceivedDetail, event)
        current = self.responses.get(detail.invite_id)
        if current is None or not current.comment:
            return "no_comment"
        comment = _comment(current.comment, detail.version, iso_timestamp(detail.commented_at))
        handled = "no_follow_up"
        for follow_up in self.follow_ups.of_invite(detail.invite_id):
            if follow_up.category != "detractor" or follow_up.status not in OPEN_STATUSES:
                continue
            handled = self._add_comment(follow_up, comment)
        return handled

    def _add_comment(self, follow_up: FollowUp, comment: dict[str, Any]) -> str:
        """Keep ``comment`` on ``follow_up`` (a conditional write on its comment count and status, retried
        on a race) and schedule the team's update if none is pending."""
        for _ in range(COMMENT_WRITE_ATTEMPTS):
            if any(c.get("text") == comment["text"] for c in follow_up.comments):
                return "duplicate"
            now = self.clock()
            due: datetime | None = None
            if follow_up.status in COMMENT_UPDATE_STATUSES and not _update_pending(follow_up, now):
                due = now + timedelta(seconds=COMMENT_UPDATE_WINDOW_SECONDS)
                # Scheduled before the write: if the write loses a race, the spare update finds nothing new.
                self.comment_updates.schedule(follow_up.follow_up_id, due, now)
            if self.follow_ups.save_comments(
                follow_up.follow_up_id,
                keep_latest_comments(follow_up.comments, comment),
                follow_up.comments_received + 1,
                expected_count=follow_up.comment_count,
                expected_status=follow_up.status,
                update_due=iso_timestamp(due) if due else None,
            ):
                return "appended"
            fresh = self.follow_ups.get(follow_up.follow_up_id)
            if fresh is None or fresh.status not in OPEN_STATUSES:
                return "no_follow_up"
            follow_up = fresh
        raise CommentConflict(f"the comments of {follow_up.follow_up_id} kept changing; retry")

    def send_comment_update(self, follow_up_id: str) -> str:
        """The comment update fell due: send the team one ``comment_added`` message with every comment
        since the last one (the latest kept, and the counts). Safe to run twice: a second run finds
        nothing new (the message's ``update_id`` lets the team's integration drop a rare duplicate).
        Returns ``sent``, ``up_to_date``, ``waiting_for_task`` (the task opens with every comment) or
        ``closed``."""
        follow_up = self.follow_ups.get(follow_up_id)
        if follow_up is None or follow_up.status is not Status.AWAITING_RESOLUTION:
            if follow_up is not None and follow_up.comment_update_due:
                self.follow_ups.clear_comment_update(follow_up_id)
            # Still NOTIFIED: the task has not opened, and when it does it carries every comment.
            return "waiting_for_task" if follow_up is not None and follow_up.status is Status.NOTIFIED else "closed"
        received = follow_up.comments_received
        if received > follow_up.comments_sent and follow_up.comments:
            self.tasks.send(
                self.task_message(
                    "comment_added",
                    follow_up,
                    comment=follow_up.comments[-1],
                    new_comments=received - follow_up.comments_sent,
                    update_id=f"{follow_up_id}:comments:{received}",
                )
            )
            outcome = "sent"
        else:
            outcome = "up_to_date"
        if not self.follow_ups.finish_comment_update(follow_up_id, received):
            # Comments arrived after the read: they go in the next update, one window later.
            now = self.clock()
            due = now + timedelta(seconds=COMMENT_UPDATE_WINDOW_SECONDS)
            self.comment_updates.schedule(follow_up_id, due, now)
            self.follow_ups.continue_comment_update(follow_up_id, received, iso_timestamp(due))
        return outcome

    def on_retracted(self, event: dict[str, Any]) -> str:
        """The answer was a scanner's: close every open follow-up of the invite, end waits, tell the team."""
        from nps.events.models import ResponseRetractedDetail

        detail = parse_detail(ResponseRetractedDetail, event)
        handled = "no_follow_up"
        for follow_up in self.follow_ups.of_invite(detail.invite_id):
            if follow_up.status not in OPEN_STATUSES:
                continue
            self._resolve(follow_up, "retracted", {"resolution": "retracted"})
            handled = "retracted"
            if follow_up.status is Status.AWAITING_RESOLUTION and follow_up.task_token:
                self.tasks.send(self.task_message("follow_up_cancelled", follow_up, reason="retracted"))
                self.tokens.succeed(follow_up.task_token, {"resolution": "retracted"})
        return handled

    def on_resurvey_answered(self, event: dict[str, Any]) -> str:
        """An answer to a re-survey resolves its follow-up, saying whether the contact moved category."""
        from nps.events.models import ResponseScoredDetail

        detail = parse_detail(ResponseScoredDetail, event)
        follow_up_id = follow_up_of_wave(detail.wave_id)
        if follow_up_id is None:
            raise InvalidFollowUpEvent(f"wave {detail.wave_id} is not a follow-up re-survey")
        follow_up = self.follow_ups.get(follow_up_id)
        if follow_up is None or follow_up.status is not Status.RE_SURVEYING:
            return "not_awaiting"
        if follow_up.resurvey_invite_id and follow_up.resurvey_invite_id != detail.invite_id:
            return "other_invite"
        self._resolve(follow_up, "re_surveyed", {}, detail.score, detail.category)
        return "resolved"

    def _get(self, follow_up_id: str) -> FollowUp:
        follow_up = self.follow_ups.get(follow_up_id)
        if follow_up is None:
            raise FollowUpNotFound(follow_up_id)
        return follow_up


def resolve_task(
    store: FollowUpStore, tokens: TaskTokens, follow_up_id: str, resolution: str = "resolved", note: str = ""
) -> bool:
    """End the wait of a follow-up whose task is open (what a CRM's ``SendTaskSuccess`` does, and the
    CLI's ``nps follow-up resolve``); False when the follow-up is not waiting for the team."""
    follow_up = store.get(follow_up_id)
    if follow_up is None:
        raise FollowUpNotFound(follow_up_id)
    if follow_up.status is not Status.AWAITING_RESOLUTION or not follow_up.task_token:
        return False
    tokens.succeed(follow_up.task_token, {"resolution": resolution} | ({"note": note[:500]} if note else {}))
    return True


def _comment(text: str, version: int, at: str) -> dict[str, Any]:
    return {"version": version, "text": text, "commented_at": at}


def comment_text_bytes(comments: Sequence[dict[str, Any]]) -> int:
    """UTF-8 bytes of the comments' text (what :data:`FOLLOW_UP_COMMENT_BYTES_KEPT` bounds)."""
    return sum(len(str(c.get("text", "")).encode("utf-8")) for c in comments)


def keep_latest_comments(
    kept: Sequence[dict[str, Any]],
    new: dict[str, Any],
    *,
    max_count: int = FOLLOW_UP_COMMENTS_KEPT,
    max_bytes: int = FOLLOW_UP_COMMENT_BYTES_KEPT,
) -> list[dict[str, Any]]:
    """``kept`` plus ``new``, oldest dropped first until at most ``max_count`` comments and ``max_bytes``
    bytes of text remain. The newest comment always stays (one comment is at most 8,000 bytes)."""
    comments = [*kept, new]
    while len(comments) > 1 and (len(comments) > max_count or comment_text_bytes(comments) > max_bytes):
        comments.pop(0)
    return comments


def _update_pending(follow_up: FollowUp, now: datetime) -> bool:
    """Whether a comment update is scheduled and still expected to run."""
    if not follow_up.comment_update_due:
        return False
    return parse_timestamp(follow_up.comment_update_due) > now - COMMENT_UPDATE_STALE


M = TypeVar("M", bound="BaseModel")


def parse_detail(model: type[M], event: dict[str, Any]) -> M:
    """An EventBridge event's ``detail`` as ``model``; :class:`InvalidFollowUpEvent` when it does not fit."""
    detail = event.get("detail") if isinstance(event, dict) else None
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError as error:
            raise InvalidFollowUpEvent("detail is not JSON") from error
    if not isinstance(detail, dict):
        raise InvalidFollowUpEvent("the event has no detail object")
    from pydantic import ValidationError  # loaded with ``model``

    try:
        return model.model_validate(detail)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'detail'}: {e['msg']}" for e in error.errors()[:5]
        )
        raise InvalidFollowUpEvent(f"{model.__name__}: {problems}") from None
