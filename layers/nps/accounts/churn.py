"""Churn recorded against the last NPS answer before it: who churned, and what they last said.

A ``Customer Churned`` business event names a contact, an account or both (docs/churn.md). This module turns
it into *churn records*, one per survey, each holding the last NPS category before the churn:

- **A contact**: for each survey the contact answered, the last *counted* response answered at or before
  ``churned_at`` (by ``answered_at``, the time of its latest score; ties by invite id). Counted is the NPS
  aggregates' rule (:attr:`ContactAnswer.is_counted`): an answer to a follow-up's re-survey resolves its
  follow-up but is not the contact's last answer. An answer given after the churn is ignored, so a late
  event gives the same records as a timely one. Its ``cohort_at`` is the
  response's first answer, the period the aggregates count it in (scores change inside the period of the
  first answer), so a churn rate's numerator and denominator are the same responses.
- **An account**: for each survey, the latest quarter at or before the churn's quarter in which the account
  has any answer, read from its ``account_id=<id>`` aggregate slice; the account's category is that of the
  **mean** score of those answers: promoter when the mean is ≥ 9, passive when ≥ 7, else detractor (the
  score bands of one answer applied to the mean; a mean of 8.9 is passive). Its record is dated at the end
  of that quarter, or at the churn when the churn falls inside it.

Exactly once: a marker per churned contact (``contact#<id>`` / ``churn``) or account (``account#<id>`` /
``churn``) is claimed in the first transaction that writes the records (:class:`ChurnPlan`); a second event
for the same contact or account, whatever its ``churn_id``, is a duplicate and writes nothing. A contact or
account with no answer before the churn gets the marker with ``matched = false`` and, so reports can count
"churned without an answer", one record in the ``churn#*`` partition (``*`` is no survey id).

Pure: no AWS, no clocks (``now`` is passed in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from nps.accounts.churn_keys import UNMATCHED_SURVEY as UNMATCHED_SURVEY  # re-exported
from nps.kernel.categories import SCORES, Category, categorize
from nps.kernel.periods import Granularity, iso_timestamp, period_key
from nps.kernel.waves import is_resurvey_wave

#: ``churned_at`` may be at most this far ahead of the time the event is received (clock skew, time zones).
FUTURE_TOLERANCE = timedelta(days=1)
#: DynamoDB's limits on one ``TransactWriteItems``: 100 items and 4 MB.
MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 4_000_000
#: Mean score bands of an account's answers (the bands of a single answer, applied to the mean).
PROMOTER_MEAN = 9.0
PASSIVE_MEAN = 7.0


class ChurnRejected(ValueError):
    """A churn that cannot be recorded; the message names the rule broken, never an id or a value."""


class Kind(StrEnum):
    CONTACT = "contact"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class ChurnNotice:
    """One ``Customer Churned`` event: ``churn_id`` (the sender's id, or the EventBridge event id),
    ``churned_at`` (aware, UTC), the contact and/or account, and an optional reason code."""

    churn_id: str
    churned_at: datetime
    contact_id: str | None = None
    account_id: str | None = None
    reason: str | None = None

    def check(self, now: datetime) -> None:
        """Raise :class:`ChurnRejected` for a churn naming nobody, or dated more than a day after ``now``."""
        if self.contact_id is None and self.account_id is None:
            raise ChurnRejected("a churn names a contact_id, an account_id or both")
        if self.churned_at.tzinfo is None:
            raise ChurnRejected("churned_at must be an aware date-time")
        if self.churned_at > now + FUTURE_TOLERANCE:
            raise ChurnRejected("churned_at is more than a day in the future")

    def subjects(self) -> list[tuple[Kind, str]]:
        """The contact and the account this churn names, in that order."""
        found: list[tuple[Kind, str]] = []
        if self.contact_id is not None:
            found.append((Kind.CONTACT, self.contact_id))
        if self.account_id is not None:
            found.append((Kind.ACCOUNT, self.account_id))
        return found


@dataclass(frozen=True, slots=True)
class ContactAnswer:
    """A contact's response as stored: the invite and survey, the score, whether it counts, its first and
    latest answer times (aware UTC, None when unanswered), the account it was given for and its wave."""

    invite_id: str
    survey_id: str
    score: int | None
    counted: bool
    first_answered_at: datetime | None
    answered_at: datetime | None
    account_id: str | None = None
    #: False for an answer the survey's NPS does not count (an identified share-link answer after another
    #: answer took the contact's window, a link not counted in NPS): it is not in a rate's denominator.
    in_headline: bool = True
    #: The invite's wave: a follow-up's re-survey (``fu-…``) is not counted in the NPS.
    wave_id: str = ""

    @property
    def last_at(self) -> datetime | None:
        """When the current score was given (the first answer's time on items without ``answered_at``)."""
        return self.answered_at or self.first_answered_at

    @property
    def is_counted(self) -> bool:
        """Counted in the survey's NPS (the ``*`` / ``*`` aggregates the churn rates divide by): a score, a
        first answer, not an automated or retracted fetch, in the headline, and not an answer to a
        follow-up's re-survey (the stream keeps those out of the aggregates, :mod:`nps.kernel.waves`)."""
        return (
            self.counted
            and self.in_headline
            and self.score in SCORES
            and self.first_answered_at is not None
            and not is_resurvey_wave(self.wave_id)
        )


@dataclass(frozen=True, slots=True)
class ChurnRecord:
    """One churn as a survey saw it: the subject's last category before the churn, and when it was given.

    ``last_score`` is a score (a contact) or the mean score of the quarter (an account); ``cohort_at`` the
    instant whose period the figures put the churn in (the response's first answer; the account's quarter's
    start); ``last_answered_at`` dates the record (its sort key).
    """

    survey_id: str
    kind: Kind
    subject_id: str
    last_category: Category
    last_score: float
    last_answered_at: datetime
    cohort_at: datetime
    churned_at: datetime
    churn_id: str
    reason: str | None = None
    account_id: str | None = None
    #: An account record: its quarter's key (``2026-Q3``) and the number of answers its mean is over.
    quarter: str | None = None
    answers: int = 1

    @property
    def partition(self) -> str:
        return f"churn#{self.survey_id}"

    @property
    def sort_key(self) -> str:
        return f"{iso_timestamp(self.last_answered_at)}#{self.kind.value}#{self.subject_id}"


@dataclass(frozen=True, slots=True)
class UnmatchedChurn:
    """A contact or account that churned without an answer before the churn (``churn#*``)."""

    kind: Kind
    subject_id: str
    churned_at: datetime
    churn_id: str
    reason: str | None = None

    @property
    def partition(self) -> str:
        return f"churn#{UNMATCHED_SURVEY}"

    @property
    def sort_key(self) -> str:
        return f"{iso_timestamp(self.churned_at)}#{self.kind.value}#{self.subject_id}"


def marker_key(kind: Kind, subject_id: str) -> tuple[str, str]:
    """``(pk, sk)`` of the churn marker of a contact or account."""
    return f"{kind.value}#{subject_id}", "churn"


def contact_records(notice: ChurnNotice, answers: Iterable[ContactAnswer]) -> list[ChurnRecord]:
    """One record per survey the contact answered (counted in the NPS: :attr:`ContactAnswer.is_counted`,
    so never a re-survey's answer) at or before ``churned_at``, from the last such answer; surveys in id
    order. ``ChurnRejected`` when the notice names no contact."""
    if notice.contact_id is None:
        raise ChurnRejected("a contact churn needs a contact_id")
    last: dict[str, ContactAnswer] = {}
    for answer in answers:
        at = answer.last_at
        if not answer.is_counted or at is None or at > notice.churned_at:
            continue
        held = last.get(answer.survey_id)
        if held is None or (at, answer.invite_id) > (held.last_at, held.invite_id):
            last[answer.survey_id] = answer
    records = []
    for survey_id in sorted(last):
        answer = last[survey_id]
        score, first_at, last_at = answer.score, answer.first_answered_at, answer.last_at
        if score is None or first_at is None or last_at is None:  # pragma: no cover - excluded above
            continue
        records.append(
            ChurnRecord(
                survey_id=survey_id,
                kind=Kind.CONTACT,
                subject_id=notice.contact_id,
                last_category=categorize(score),
                last_score=float(score),
                last_answered_at=last_at,
                cohort_at=first_at,
                churned_at=notice.churned_at,
                churn_id=notice.churn_id,
                reason=notice.reason,
                account_id=answer.account_id,
            )
        )
    return records


def mean_category(mean: float) -> Category:
    """The category of a mean score: promoter ≥ 9, passive ≥ 7, else detractor."""
    if mean >= PROMOTER_MEAN:
        return Category.PROMOTER
    if mean >= PASSIVE_MEAN:
        return Category.PASSIVE
    return Category.DETRACTOR


def score_mean(counters: Mapping[str, int]) -> tuple[float, int] | None:
    """``(mean score, n)`` from the ``score_0`` … ``score_10`` counters of an aggregate item; None when
    it holds no answer. Raises ``ValueError`` for a negative counter."""
    total = n = 0
    for score in SCORES:
        count = int(counters.get(f"score_{score}", 0))
        if count < 0:
            raise ValueError("a score counter is negative")
        total += score * count
        n += count
    return (total / n, n) if n else None


def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    """``2026-Q3`` → (its first instant, its last millisecond), UTC. ``ValueError`` for another key."""
    year_text, _, number_text = quarter.partition("-Q")
    year, number = int(year_text), int(number_text)
    if not 1 <= number <= 4:
        raise ValueError("not a quarter key")
    start = datetime(year, 3 * number - 2, 1, tzinfo=UTC)
    following = datetime(year + 1, 1, 1, tzinfo=UTC) if number == 4 else datetime(year, 3 * number + 1, 1, tzinfo=UTC)
    return start, following - timedelta(milliseconds=1)


def churn_quarter(notice: ChurnNotice) -> str:
    """The quarter key of the churn: the last quarter an account's answers are read from."""
    return period_key(Granularity.QUARTER, notice.churned_at)


def account_records(notice: ChurnNotice, quarters: Mapping[str, tuple[str, Mapping[str, int]]]) -> list[ChurnRecord]:
    """One record per survey from ``quarters`` (survey id → (quarter key, counters of the account's slice in
    that quarter): the latest quarter at or before :func:`churn_quarter` with any answer). Surveys whose
    counters hold no answer, or whose quarter is after the churn's, are skipped."""
    if notice.account_id is None:
        raise ChurnRejected("an account churn needs an account_id")
    last_quarter = churn_quarter(notice)
    records = []
    for survey_id in sorted(quarters):
        quarter, counters = quarters[survey_id]
        found = score_mean(counters)
        if found is None or quarter > last_quarter:
            continue
        mean, n = found
        start, end = quarter_bounds(quarter)
        records.append(
            ChurnRecord(
                survey_id=survey_id,
                kind=Kind.ACCOUNT,
                subject_id=notice.account_id,
                last_category=mean_category(mean),
                last_score=round(mean, 2),
                last_answered_at=min(end, notice.churned_at),
                cohort_at=start,
                churned_at=notice.churned_at,
                churn_id=notice.churn_id,
                reason=notice.reason,
                account_id=notice.account_id,
                quarter=quarter,
                answers=n,
            )
        )
    return records


@dataclass(frozen=True, slots=True)
class ChurnPlan:
    """What one churn of one subject writes: its records (or its unmatched item) and its marker.

    Written as :meth:`chunks`: the marker is claimed (``pending``, conditional on not existing or being this
    churn's own pending claim) with the first chunk; the last chunk sets it ``done``. A retry of the same
    churn after a crash between chunks re-puts the same records (same keys, same values) and finishes; any
    other churn of the subject finds the marker and is a duplicate.
    """

    kind: Kind
    subject_id: str
    churn_id: str
    churned_at: datetime
    records: tuple[ChurnRecord, ...]
    unmatched: UnmatchedChurn | None

    @property
    def matched(self) -> bool:
        return bool(self.records)

    def chunks(
        self, max_items: int = MAX_TRANSACTION_ITEMS, max_bytes: int = MAX_TRANSACTION_BYTES, size: int = 1024
    ) -> list[list[ChurnRecord | UnmatchedChurn]]:
        """The records split into transactions, each leaving room for the marker (one item, ``size``
        bytes): at most ``max_items - 1`` records and ``max_bytes - size`` bytes, counting ``size`` bytes per
        record (a record is well under 1 KB). At least one chunk, possibly empty of records."""
        items: Sequence[ChurnRecord | UnmatchedChurn] = (
            self.records if self.records else ((self.unmatched,) if self.unmatched else ())
        )
        per_chunk = max(1, min(max_items - 1, (max_bytes - size) // size))
        return [list(items[i : i + per_chunk]) for i in range(0, len(items), per_chunk)] or [[]]


def plan(notice: ChurnNotice, kind: Kind, records: Sequence[ChurnRecord]) -> ChurnPlan:
    """The plan of one subject's churn from its records (an unmatched item when there are none)."""
    subject = notice.contact_id if kind is Kind.CONTACT else notice.account_id
    if subject is None:
        raise ChurnRejected(f"a {kind.value} churn needs a {kind.value}_id")
    unmatched = None if records else UnmatchedChurn(kind, subject, notice.churned_at, notice.churn_id, notice.reason)
    return ChurnPlan(kind, subject, notice.churn_id, notice.churned_at, tuple(records), unmatched)


class Outcome(StrEnum):
    """What a churn did to one subject: recorded (with answers), recorded without an answer, or nothing
    because the subject had churned before (a duplicate)."""

    RECORDED = "recorded"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"


class UnknownAccount(LookupError):
    """A churn names an account the platform has never heard of (no profile and no answer in any survey)."""


class ChurnStore(Protocol):
    """Where churns are read from and written to (``nps.accounts.adapters.churn.DynamoChurnStore``)."""

    def churned(self, kind: Kind, subject_id: str, churn_id: str) -> bool:
        """Whether the subject already has a churn (other than this churn's own unfinished claim)."""
        ...

    def contact_answers(self, contact_id: str) -> list[ContactAnswer]:
        """Every stored response to the contact's invites."""
        ...

    def account_quarters(self, account_id: str, last_quarter: str) -> dict[str, tuple[str, dict[str, int]]]:
        """Survey id → (quarter, score counters) of the account's latest answered quarter up to ``last_quarter``."""
        ...

    def account_known(self, account_id: str) -> bool:
        """Whether the account has a profile."""
        ...

    def write(self, plan: ChurnPlan, now: datetime) -> bool:
        """Write the plan; False when another churn holds the subject's marker (nothing written)."""
        ...


def record_churn(notice: ChurnNotice, store: ChurnStore, now: datetime) -> dict[Kind, Outcome]:
    """Record ``notice`` for its contact and its account: the outcome for each subject it names.

    Raises :class:`ChurnRejected` (dated over a day ahead of ``now``, names nobody) and
    :class:`UnknownAccount` (an account with neither a profile nor an answer before the churn); the contact's
    outcome is written before the account is looked at, so a retry after an unknown account finds the
    contact a duplicate of its own first attempt and goes on to the account again.
    """
    notice.check(now)
    outcomes: dict[Kind, Outcome] = {}
    for kind, subject_id in notice.subjects():
        if store.churned(kind, subject_id, notice.churn_id):
            outcomes[kind] = Outcome.DUPLICATE
            continue
        if kind is Kind.CONTACT:
            records = contact_records(notice, store.contact_answers(subject_id))
        else:
            quarters = store.account_quarters(subject_id, churn_quarter(notice))
            if not quarters and not store.account_known(subject_id):
                raise UnknownAccount("the account has no profile and no answer before the churn")
            records = account_records(notice, quarters)
        churn_plan = plan(notice, kind, records)
        if not store.write(churn_plan, now):
            outcomes[kind] = Outcome.DUPLICATE
        else:
            outcomes[kind] = Outcome.RECORDED if churn_plan.matched else Outcome.UNMATCHED
    return outcomes
