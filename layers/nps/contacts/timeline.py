"""A contact's timeline: every invite with its channel and status, its answer and score changes, comments,
follow-ups and their outcome, the contact's suppressions and when each survey may ask them again.

Pure: the records come in as values (read by :mod:`nps.contacts.adapters.records`, one query per store),
the timeline goes out as values, as JSON data and as text for a terminal. Nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nps.kernel.periods import iso_timestamp, parse_timestamp
from nps.kernel.waves import is_resurvey_wave

#: Invites a timeline shows at most (newest first); beyond, it says how many more there are.
MAX_INVITES_SHOWN = 200


@dataclass(frozen=True, slots=True)
class ContactEntry:
    """The contact in one audience (a contact id may be in several). No address: only which channels
    it has one for."""

    audience: str
    channels: tuple[str, ...]
    time_zone: str
    locale: str | None
    last_surveyed_at: str | None
    attributes: dict[str, str] = field(default_factory=dict)
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """One score the response held, as its history keeps it (``at`` ISO-8601 UTC)."""

    score: int
    at: str


@dataclass(frozen=True, slots=True)
class ResponseEntry:
    """An invite's response as the timeline shows it (times ISO-8601 UTC). ``counted``: the NPS counts the
    answer (a score, not an automated or retracted fetch, not a follow-up's re-survey)."""

    score: int | None
    category: str | None
    counted: bool
    first_answered_at: str | None
    answered_at: str | None
    version: int
    comment: str | None = None
    comment_at: str | None = None
    #: Every comment kept on the response (text and when), oldest first.
    comments: tuple[tuple[str, str], ...] = ()
    #: The score was changed after the first answer (the response keeps the first and the latest answer
    #: times, not every score in between: ``answered_at`` is when the score on record was given).
    score_changed: bool = False
    automated_score: int | None = None


@dataclass(frozen=True, slots=True)
class FollowUpEntry:
    follow_up_id: str
    category: str
    status: str
    opened_at: str
    outcome: str | None = None
    resolution: str | None = None
    resolved_at: str | None = None
    new_score: int | None = None
    comment_count: int = 0


@dataclass(frozen=True, slots=True)
class InviteEntry:
    invite_id: str
    survey_id: str
    wave_id: str
    channel: str
    status: str
    sent_at: str | None
    reminder_status: str | None = None
    reminder_sent_at: str | None = None
    response: ResponseEntry | None = None
    follow_ups: tuple[FollowUpEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    """The suppression state of one of the contact's channels in one audience (its address there; a contact
    in several audiences may have another address in each). ``suppressed`` False: none on record."""

    channel: str
    suppressed: bool
    reason: str | None = None
    since: str | None = None
    audience: str = ""


@dataclass(frozen=True, slots=True)
class Eligibility:
    """When a survey may next invite the contact: the last send plus the survey's fatigue window
    (``next_eligible_at`` None: now; ``blocked`` says why no date helps, e.g. every channel suppressed)."""

    survey_id: str
    fatigue_days: int
    next_eligible_at: str | None
    blocked: str | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    contact_id: str
    contacts: tuple[ContactEntry, ...]
    invites: tuple[InviteEntry, ...]
    suppressions: tuple[SuppressionEntry, ...]
    eligibility: tuple[Eligibility, ...]
    #: Invites of the contact not shown (beyond :data:`MAX_INVITES_SHOWN`).
    more_invites: int = 0
    #: Account-table records of the contact (referral asks, joins): kind → count.
    account_records: dict[str, int] = field(default_factory=dict)
    #: An erasure of the contact has begun and not finished (a rerun of ``nps contacts erase`` ends it).
    erasure_pending: bool = False

    @property
    def empty(self) -> bool:
        """Nothing of the contact in any store (an unknown or fully erased id)."""
        return not (self.contacts or self.invites or self.more_invites or self.account_records or self.erasure_pending)

    def as_dict(self) -> dict[str, Any]:
        """The timeline as JSON data (the API's body and ``--json``)."""
        data = asdict(self)
        for invite in data["invites"]:
            response = invite.get("response")
            if response is not None:
                response["comments"] = [{"text": text, "at": at} for text, at in response["comments"]]
        return data


def next_eligible(last_surveyed_at: str | None, fatigue_days: int) -> str | None:
    """``last_surveyed_at`` plus ``fatigue_days`` (ISO-8601 UTC), or None when the contact may be asked
    whenever the survey's next wave comes (never surveyed, or no fatigue window)."""
    if not last_surveyed_at or fatigue_days <= 0:
        return None
    return iso_timestamp(parse_timestamp(last_surveyed_at) + timedelta(days=fatigue_days))


def eligibility(
    contacts: tuple[ContactEntry, ...],
    fatigue_by_survey: dict[str, int],
    suppressions: tuple[SuppressionEntry, ...],
    now: datetime,
) -> tuple[Eligibility, ...]:
    """Per survey the contact was invited to: when it may ask again (the fatigue window is per contact,
    from its latest send across audiences, as the planner applies it)."""
    last = max((c.last_surveyed_at for c in contacts if c.last_surveyed_at), default=None)
    # per audience: an address suppressed in one audience does not block another address in another
    reachable = {(c.audience, channel) for c in contacts for channel in c.channels}
    suppressed = {(s.audience, s.channel) for s in suppressions if s.suppressed}
    blocked = None
    if not contacts:
        blocked = "no contact record"
    elif reachable and reachable <= suppressed:
        blocked = "every channel suppressed"
    out = []
    for survey_id, days in sorted(fatigue_by_survey.items()):
        at = next_eligible(last, days)
        if at is not None and parse_timestamp(at) <= now:
            at = None
        out.append(Eligibility(survey_id, days, at, blocked))
    return tuple(out)


def _not_counted(wave_id: str) -> str:
    """Why an answer is not in the NPS, as a suffix of its timeline line."""
    return ", a follow-up's re-survey, not counted in the NPS" if is_resurvey_wave(wave_id) else ", not counted"


def render_text(timeline: Timeline, clean: Any = str) -> str:
    """The timeline as lines for a terminal; ``clean`` escapes each stored string (ids, comments, reasons)
    for where it goes (the CLI passes :func:`nps.cli.terminal.cell`)."""
    c = clean
    lines = [f"contact {c(timeline.contact_id)}"]
    if timeline.erasure_pending:
        lines.append("  an erasure has begun and not finished: run `nps contacts erase` again to finish it")
    for contact in timeline.contacts:
        channels = ",".join(contact.channels) or "none"
        lines.append(
            f"  audience {c(contact.audience)}: channels {channels}, time zone {c(contact.time_zone)}, "
            f"locale {c(contact.locale or '-')}, last surveyed {c(contact.last_surveyed_at or 'never')}"
            + (f", account {c(contact.account_id)}" if contact.account_id else "")
        )
        for name, value in sorted(contact.attributes.items()):
            lines.append(f"    {c(name)} = {c(value)}")
    for suppression in timeline.suppressions:
        state = (
            f"suppressed ({c(suppression.reason or '?')} since {c(suppression.since or '?')})"
            if suppression.suppressed
            else "not suppressed"
        )
        where = f" in {c(suppression.audience)}" if len(timeline.contacts) > 1 else ""
        lines.append(f"  {suppression.channel}{where}: {state}")
    for item in timeline.eligibility:
        when = item.next_eligible_at or "now"
        note = f" ({item.blocked})" if item.blocked else ""
        lines.append(f"  survey {c(item.survey_id)}: next eligible {c(when)}{note}")
    lines.append(f"invites ({len(timeline.invites)} shown, newest first)")
    for invite in timeline.invites:
        lines.append(
            f"  {c(invite.sent_at or 'unsent')}  {c(invite.invite_id)}  survey {c(invite.survey_id)}"
            f"  wave {c(invite.wave_id)}  {c(invite.channel)}  {c(invite.status)}"
            + (f"  reminder {c(invite.reminder_status)}" if invite.reminder_status else "")
        )
        response = invite.response
        if response is not None:
            if response.score is not None:
                lines.append(
                    f"    answered {response.score} ({c(response.category or '?')})"
                    f" first at {c(response.first_answered_at or '?')}, last at {c(response.answered_at or '?')}"
                    + (", score changed since the first answer" if response.score_changed else "")
                    + ("" if response.counted else _not_counted(invite.wave_id))
                )
            elif response.automated_score is not None:
                lines.append(f"    an automated fetch tried {response.automated_score} (not counted)")
            for text, at in response.comments or ((response.comment, response.comment_at or ""),):
                if text:
                    lines.append(f"    comment {c(at)}: {c(text)}")
        for follow_up in invite.follow_ups:
            lines.append(
                f"    follow-up {c(follow_up.follow_up_id)} ({c(follow_up.category)}): {c(follow_up.status)}"
                + (f", outcome {c(follow_up.outcome)}" if follow_up.outcome else "")
                + (f", resolved {c(follow_up.resolved_at)}" if follow_up.resolved_at else "")
            )
    if timeline.more_invites:
        lines.append(f"  ... and {timeline.more_invites} older invite(s) not shown (limit {MAX_INVITES_SHOWN})")
    for kind, count in sorted(timeline.account_records.items()):
        lines.append(f"  account records: {c(kind)} x{count}")
    return "\n".join(lines)
