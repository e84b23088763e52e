"""Wave planning rules (pure: values in, values out; the clock is a parameter).

For each contact of a wave the planner decides: skip (suppressed, surveyed inside the fatigue window,
no channel the survey uses) or invite — on which channel, in which locale, with which segment values,
and from when (held until the contact's local daytime, outside the survey's quiet hours).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.periods import parse_timestamp
from nps.sending.invite_ids import MAILBOX_CLAIM_PREFIX as MAILBOX_CLAIM_PREFIX  # re-exported
from nps.sending.invite_ids import invite_id_for as invite_id_for
from nps.sending.invite_ids import mailbox_key_for as mailbox_key_for
from nps.sending.quiet_hours import next_send_time
from nps.sending.suppression import normalise_address

if TYPE_CHECKING:
    from nps.accounts.membership import Membership
    from nps.links.pseudonyms import IdKey
    from nps.reasons.questions import FollowUpQuestions
    from nps.sending.contacts import Contact
    from nps.sending.surveys import Survey


class Skip(StrEnum):
    SUPPRESSED = "suppressed"
    FATIGUE = "fatigue"
    NO_CHANNEL = "no_channel"
    INACTIVE = "inactive"
    SAME_ADDRESS = "same_address"


@dataclass(frozen=True, slots=True)
class PlannedInvite:
    invite_id: str
    survey_id: str
    wave_id: str
    contact_id: str
    audience: str
    channel: str
    locale: str
    segments: dict[str, str]
    send_after: datetime
    #: What the invite's response pages show of the survey (brand, wording in ``locale``).
    page: PageBrand = NEUTRAL_BRAND
    #: The survey's follow-up questions in ``locale`` (None when it asks none), copied onto the invite so a
    #: tap reads no survey (:class:`nps.reasons.questions.FollowUpQuestions`, under 3 KB).
    questions: FollowUpQuestions | None = None
    #: Keyed hash of the wave and the mailbox (channel and normalised address) when the wave claims its
    #: mailboxes in the store (waves planned over several invocations); ``None`` otherwise. No PII.
    mailbox_key: str | None = None
    #: The contact's account, role and the account's revenue when the contact belongs to one.
    account: Membership | None = None

    def held(self, now: datetime) -> bool:
        return self.send_after > now


@dataclass(slots=True)
class WavePlan:
    """What a wave will do: the invites to record and why the other contacts were skipped."""

    invites: list[PlannedInvite] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    held: int = 0

    def merge(self, other: WavePlan) -> None:
        self.invites.extend(other.invites)
        self.skipped.update(other.skipped)
        self.held += other.held


def choose_channel(survey: Survey, contact: Contact) -> str | None:
    """The survey's first channel (in its order of preference) the contact can be reached on."""
    for channel in survey.channels:
        if contact.address(channel):
            return channel
    return None


def within_fatigue(contact: Contact, survey: Survey, now: datetime) -> bool:
    if not contact.last_surveyed_at or survey.fatigue_days == 0:
        return False
    return now - parse_timestamp(contact.last_surveyed_at) < timedelta(days=survey.fatigue_days)


def plan_contacts(
    survey: Survey,
    wave_id: str,
    contacts: Iterable[Contact],
    is_suppressed: Callable[[Contact, str], bool],
    now: datetime,
    id_key: IdKey,
    not_before: datetime | None = None,
    respect_fatigue: bool = True,
    invited_addresses: set[str] | None = None,
    mailbox_keys: bool = False,
) -> WavePlan:
    """Plan one wave over ``contacts``; ``not_before`` delays every send (event-triggered invites).

    ``respect_fatigue=False`` is for a follow-up's re-survey: the contact was surveyed days ago by
    design, and the team promised to come back. Suppression and quiet hours still apply.
    One invite per mailbox (or phone number) per wave: a contact whose address, compared as
    :func:`~nps.sending.suppression.normalise_address` does (email case-insensitively), already has an
    invite in this wave is skipped as ``same_address``. ``invited_addresses`` carries those addresses
    across the pages of one wave (it is updated in place). ``mailbox_keys`` gives each invite the
    :func:`mailbox_key_for` its wave claims in the store, for waves planned over several invocations
    (whose pages do not share ``invited_addresses``).
    """
    invited = invited_addresses if invited_addresses is not None else set()
    plan = WavePlan()
    start = max(now, not_before) if not_before else now
    for contact in contacts:
        if not survey.active:
            plan.skipped[Skip.INACTIVE] += 1
            continue
        channel = choose_channel(survey, contact)
        if channel is None:
            plan.skipped[Skip.NO_CHANNEL] += 1
            continue
        if is_suppressed(contact, channel):
            plan.skipped[Skip.SUPPRESSED] += 1
            continue
        if respect_fatigue and within_fatigue(contact, survey, now):
            plan.skipped[Skip.FATIGUE] += 1
            continue
        address = contact.address(channel) or ""
        mailbox = f"{channel}:{normalise_address(channel, address)}"
        if mailbox in invited:
            plan.skipped[Skip.SAME_ADDRESS] += 1
            continue
        invited.add(mailbox)
        send_after = next_send_time(start, contact.time_zone, survey.quiet_hours)
        locale = survey.locale_for(contact.locale)
        invite = PlannedInvite(
            invite_id=invite_id_for(wave_id, contact.contact_id, contact.audience, id_key),
            survey_id=survey.survey_id,
            wave_id=wave_id,
            contact_id=contact.contact_id,
            audience=contact.audience,
            channel=channel,
            locale=locale,
            segments=survey.segments_of(contact.attributes),
            send_after=send_after,
            page=survey.page_brand(locale),
            questions=survey.follow_up_questions(locale),
            mailbox_key=mailbox_key_for(wave_id, mailbox, id_key) if mailbox_keys else None,
            account=contact.account,
        )
        plan.invites.append(invite)
        if send_after > now:
            plan.held += 1
    return plan


def scheduled_wave_id(survey_id: str, scheduled_time: datetime) -> str:
    """A scheduled wave's id from its scheduled time (a retried invocation lands on the same wave)."""
    return f"{survey_id}-{scheduled_time.strftime('%Y%m%dT%H%M')}"[:64]


def event_wave_id(survey_id: str, event_id: str) -> str:
    digest = hashlib.sha256(f"{survey_id}\x1f{event_id}".encode()).hexdigest()[:20]
    return f"evt-{digest}"
