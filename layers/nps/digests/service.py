"""The digest run: every survey's digest due this hour, sent once to each recipient not suppressed, and
the ``NPS Account Health Changed`` events of its accounts; and the preview, which sends nothing.

Reads go through reporting's figures (the aggregates, never the responses), its comments reader and its
HTML report; the account health is :mod:`nps.accounts.health`'s, through reporting's account report.
Everything AWS stands behind the protocols below (the digest function wires the DynamoDB, SES and
EventBridge adapters; tests and the demo may wire the same ones on moto).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from nps.digests.schedule import DigestPeriod, due_period, latest_period
from nps.kernel.periods import Granularity, iso_timestamp

if TYPE_CHECKING:
    # The hourly run decides from the stored definitions' timing that most surveys' digests are not due: the
    # survey model (pydantic), the figures, the content, the templates, the event models and the mail
    # adapters load with the first digest due (tests/architecture/test_import_budget.py).
    from nps.accounts.health import AccountHealth
    from nps.digests.content import BinaryHealth, DigestContent, HealthChange, PublishedHealthState
    from nps.digests.message import RenderedDigest
    from nps.events.models import AccountHealthChangedDetail
    from nps.events.publisher import Publisher
    from nps.links.pseudonyms import IdKey
    from nps.reporting.adapters.reads import StoredResponse
    from nps.reporting.figures import ReportService
    from nps.reporting.ranges import DateRange
    from nps.sending.digest_timing import StoredSurvey
    from nps.sending.surveys import DigestSettings, Survey

#: Comments of the period read to choose the notable ones from (newest first).
COMMENTS_READ = 200
#: Days of the HTML report attached: the thirteen weeks to the period's end (a trend, not one day).
REPORT_DAYS = 91
#: Periods of account history the health is assessed over (months, or quarters for a quarterly survey).
HEALTH_PERIODS = 4
#: SES message tag naming the digest's survey (no invite tag: a bounce suppresses the address only).
DIGEST_TAG = "digest"
_RECIPIENT_LABEL = "digest-recipient"
#: The largest raw message sent (bytes): SES's 10 MB, less room for the headers SES adds
#: (:mod:`nps.digests.message`).
MAX_MESSAGE_BYTES = 9_500_000


class Surveys(Protocol):
    def stored(self) -> list[StoredSurvey]: ...
    def get(self, survey_id: str) -> Survey | None: ...


class CommentReader(Protocol):
    """The newest comments of a span (any category), at most ``limit``."""

    def comments(self, survey_id: str, span: DateRange, limit: int) -> Sequence[StoredResponse]: ...


class Markers(Protocol):
    def claim(self, survey_id: str, period_key: str, recipient_key: str, now_iso: str) -> bool: ...
    def settle(
        self, survey_id: str, period_key: str, recipient_key: str, status: str, message_id: str = ""
    ) -> None: ...
    def release(self, survey_id: str, period_key: str, recipient_key: str) -> None: ...


class PublishedHealth(Protocol):
    def read(
        self, survey_id: str, account_ids: Sequence[str], period_key: str
    ) -> Mapping[str, PublishedHealthState]: ...
    def record(
        self,
        survey_id: str,
        account_id: str,
        health: BinaryHealth,
        period_key: str,
        now_iso: str,
        before: BinaryHealth | None = None,
    ) -> None: ...


class Suppressions(Protocol):
    def suppressed_among(self, hashes: Sequence[str]) -> set[str]: ...


class Mailer(Protocol):
    def send_email(
        self, *, source: str, destination: str, raw: bytes, configuration_set: str, tags: dict[str, str]
    ) -> str: ...


#: The account health of a survey over a span, by period of a granularity (reporting's account report).
AccountsReader = Callable[[str, "DateRange", Granularity], Sequence["AccountHealth"]]


class DigestRunFailed(RuntimeError):
    """Some surveys' digests failed in a way a retried run may pass (SES throttling, a read that failed);
    ``outcomes`` holds every survey's outcome (sent ones included, which a retry will not send again)."""

    def __init__(self, outcomes: list[DigestOutcome], surveys: list[str]) -> None:
        super().__init__(f"{len(surveys)} survey digest(s) to retry: {', '.join(surveys)}")
        self.outcomes = outcomes


class UnknownDigestSurvey(LookupError):
    """No survey with that id (``nps digest preview``)."""


class NoDigest(ValueError):
    """The survey has no digest settings (``nps digest preview`` says how to add them)."""


class NoDigestDay(ValueError):
    """``--as-of`` names a day no digest can be previewed for: after the survey's local today (its period
    has not ended, or not begun), or so early that the period before it falls off the calendar."""


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    """What one survey's digest run did, by count (never an address)."""

    survey_id: str
    period: str
    sent: int = 0
    already_sent: int = 0
    suppressed: int = 0
    failed: int = 0
    health_events: int = 0
    attached: bool = False
    #: The kind of error that stopped this survey's digest (its class name; the run then fails, and is retried).
    error: str = ""


@dataclass
class DigestService:
    surveys: Surveys
    figures: ReportService
    comments: CommentReader
    accounts: AccountsReader
    published: PublishedHealth
    markers: Markers
    suppressions: Suppressions
    mailer: Mailer
    publisher: Publisher
    id_key: Callable[[], IdKey]
    configuration_set: str = ""
    max_message_bytes: int = MAX_MESSAGE_BYTES
    #: Surveys whose send SES refused in a way a later attempt may pass (the run raises after the others).
    retry_later: list[str] = field(default_factory=list)

    # -- content ------------------------------------------------------------------------------------------
    def content(self, survey: Survey, settings: DigestSettings, period: DigestPeriod) -> DigestContent:
        """The digest of ``period`` for ``survey`` (reads only)."""
        from nps.digests.content import digest_content
        from nps.reporting.ranges import DateRange

        current_span = DateRange(period.first, period.last)
        previous = period.previous
        accounts = self._accounts(survey, period.last)
        ids = [a.account_id for a in accounts]
        published = self.published.read(survey.survey_id, ids, period.key) if accounts else {}
        return digest_content(
            survey_id=survey.survey_id,
            title=survey.name,
            period=period,
            current=self.figures.total(survey.survey_id, current_span),
            previous=self.figures.total(survey.survey_id, DateRange(previous.first, previous.last)),
            comments=self.comments.comments(survey.survey_id, current_span, COMMENTS_READ),
            accounts=accounts or None,
            published={account: state.latest for account, state in published.items()},
            before={account: state.before for account, state in published.items() if state.before is not None},
        )

    def _accounts(self, survey: Survey, last: date) -> list[AccountHealth]:
        from nps.reporting.figures import ReportError
        from nps.reporting.ranges import DateRange, period_start
        from nps.sending.surveys import Cadence

        granularity = Granularity.QUARTER if survey.cadence is Cadence.QUARTERLY else Granularity.MONTH
        first = period_start(granularity, last)
        for _ in range(HEALTH_PERIODS - 1):
            first = period_start(granularity, first - timedelta(days=1))
        try:
            return list(self.accounts(survey.survey_id, DateRange(first, last), granularity))
        except ReportError:  # no aggregates yet, or more accounts than a report lists: no account section
            return []

    def report_html(self, survey: Survey, period: DigestPeriod, now: datetime, content: DigestContent) -> str | None:
        """The HTML report of the :data:`REPORT_DAYS` days to the period's end, or None (no aggregates)."""
        from nps.reporting.figures import ReportError
        from nps.reporting.html import render_report
        from nps.reporting.ranges import DateRange

        span = DateRange(period.last - timedelta(days=REPORT_DAYS - 1), period.last)
        try:
            report = self.figures.report(survey.survey_id, span, survey_name=survey.name)
        except ReportError:
            return None
        comments = self.comments.comments(survey.survey_id, span, 36)
        return render_report(report, comments, now)

    def render(
        self, survey: Survey, settings: DigestSettings, period: DigestPeriod, now: datetime
    ) -> tuple[DigestContent, RenderedDigest, str | None]:
        """Content, rendering and the report to attach (None when it is left out: too large, or none)."""
        from nps.digests.message import mime_digest, render_digest

        content = self.content(survey, settings, period)
        report = self.report_html(survey, period, now, content)
        rendered = render_digest(content, survey, settings, attached=report is not None)
        if report is not None:
            size = len(mime_digest(survey, settings.recipients[0], rendered, report))
            if size > self.max_message_bytes:
                report = None
                rendered = render_digest(content, survey, settings, attached=False)
        return content, rendered, report

    # -- preview ------------------------------------------------------------------------------------------
    def preview(
        self, survey_id: str, now: datetime, as_of: date | None = None
    ) -> tuple[Survey, DigestContent, RenderedDigest, str | None]:
        """The latest digest due at or before ``now`` (or by the end of the local day ``as_of``) for
        ``survey_id``, rendered; nothing sent or written. Raises :class:`UnknownDigestSurvey`,
        :class:`NoDigest`, or :class:`NoDigestDay` for an ``as_of`` after the survey's local today or
        before the calendar holds a period."""
        survey = self.surveys.get(survey_id)
        if survey is None:
            raise UnknownDigestSurvey(f"no survey {survey_id!r}")
        if survey.digest is None:
            raise NoDigest(f'survey {survey_id!r} has no digest: add a "digest" block with recipients (docs/digest.md)')
        if as_of is not None:
            zone = ZoneInfo(survey.digest.time_zone)
            if as_of > now.astimezone(zone).date():
                raise NoDigestDay(f"--as-of {as_of.isoformat()} is in the future: no digest of it is due yet")
            now = datetime.combine(as_of, time(23, 59), tzinfo=zone)
        try:
            period = latest_period(survey.digest, now)
        except OverflowError:
            period = None
        # The comparison period and the 13-week report reach back further than the period itself.
        if period is None or period.first.toordinal() <= period.days + REPORT_DAYS:
            raise NoDigestDay(f"--as-of {as_of} is before any digest could be due")
        content, rendered, report = self.render(survey, survey.digest, period, now)
        return survey, content, rendered, report

    # -- the hourly run -----------------------------------------------------------------------------------
    def run(self, now: datetime) -> list[DigestOutcome]:
        """Send every digest due at ``now`` (active surveys with digest settings). Raises
        :class:`DigestRunFailed` after the other surveys when a survey's digest failed in a way that may
        pass later (a send SES refused for now, a failed read): the invocation is then retried, and the
        markers keep what was sent from being sent again."""
        outcomes = []
        self.retry_later.clear()
        for stored in self.surveys.stored():
            timing = stored.digest
            if timing is None or not stored.active:
                continue
            period = due_period(timing, now)
            if period is None:
                continue
            try:
                # Validated in full only now: its digest is due (the model's settings are the timing read).
                survey = stored.survey()
                settings = survey.digest
                if settings is None:  # never: the timing was read from this definition's digest
                    continue
                outcomes.append(self.send(survey, settings, period, now))
            except Exception as error:  # one survey's failure never keeps the others' digests from going out
                outcomes.append(DigestOutcome(stored.survey_id, period.key, error=type(error).__name__))
                self.retry_later.append(stored.survey_id)
        if self.retry_later:
            raise DigestRunFailed(outcomes, self.retry_later)
        return outcomes

    def send(self, survey: Survey, settings: DigestSettings, period: DigestPeriod, now: datetime) -> DigestOutcome:
        """Send one survey's digest of ``period`` to each recipient at most once, skipping suppressed ones,
        and publish its accounts' health changes."""
        from nps.digests.message import mime_digest
        from nps.sending.adapters.channels import SendError
        from nps.sending.suppression import lookup_hashes

        now_iso = iso_timestamp(now)
        key = self.id_key()
        hashes = {recipient: lookup_hashes("email", recipient, key) for recipient in settings.recipients}
        suppressed_hashes = self.suppressions.suppressed_among([h for pair in hashes.values() for h in pair])
        recipients = [r for r in settings.recipients if not suppressed_hashes.intersection(hashes[r])]
        suppressed = len(settings.recipients) - len(recipients)
        content, rendered, report = self.render(survey, settings, period, now)
        events = self._publish_health(survey.survey_id, content.health_changes, period, now)
        sent = already = failed = 0
        for recipient in recipients:
            recipient_key = key.digest(_RECIPIENT_LABEL, survey.survey_id, recipient)
            if not self.markers.claim(survey.survey_id, period.key, recipient_key, now_iso):
                already += 1
                continue
            try:
                message_id = self.mailer.send_email(
                    source=survey.sender,
                    destination=recipient,
                    raw=mime_digest(survey, recipient, rendered, report),
                    configuration_set=self.configuration_set,
                    tags={DIGEST_TAG: survey.survey_id},
                )
            except SendError as error:
                failed += 1
                if error.maybe_sent:
                    self.markers.settle(survey.survey_id, period.key, recipient_key, "unknown")
                else:
                    self.markers.release(survey.survey_id, period.key, recipient_key)
                    if error.retryable and survey.survey_id not in self.retry_later:
                        self.retry_later.append(survey.survey_id)
                continue
            self.markers.settle(survey.survey_id, period.key, recipient_key, "sent", message_id)
            sent += 1
        return DigestOutcome(
            survey.survey_id, period.key, sent, already, suppressed, failed, events, report is not None
        )

    def _publish_health(
        self, survey_id: str, changes: Sequence[HealthChange], period: DigestPeriod, now: datetime
    ) -> int:
        """Publish ``NPS Account Health Changed`` for each change, then record it (a retried run publishes
        only the changes it did not record)."""
        from nps.events.models import ACCOUNT_HEALTH_CHANGED
        from nps.events.publisher import MAX_ENTRIES_PER_CALL, Event

        now_iso = iso_timestamp(now)
        for start in range(0, len(changes), MAX_ENTRIES_PER_CALL):
            chunk = changes[start : start + MAX_ENTRIES_PER_CALL]
            self.publisher.publish(
                [Event(ACCOUNT_HEALTH_CHANGED, _health_detail(survey_id, c, period, now)) for c in chunk]
            )
            for change in chunk:
                self.published.record(
                    survey_id, change.account.account_id, change.health, period.key, now_iso, change.before_period
                )
        return len(changes)


def _health_detail(
    survey_id: str, change: HealthChange, period: DigestPeriod, now: datetime
) -> AccountHealthChangedDetail:
    """The ``NPS Account Health Changed`` detail of one change (reasons only when at risk)."""
    from nps.events.models import AccountHealthChangedDetail
    from nps.kernel.formatting import rounded

    account = change.account
    return AccountHealthChangedDetail(
        survey_id=survey_id,
        account_id=account.account_id,
        health=change.health,
        reasons=[reason.value for reason in account.reasons] if change.health == "at_risk" else [],
        nps=rounded(account.latest.nps, 2),
        n=account.latest.n,
        period=period.key,
        assessed_at=now,
    )
