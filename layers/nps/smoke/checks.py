"""``nps smoke``: one survey through a deployed platform, step by step, checked and then removed.

The run, as a person and AWS would see it:

1. ``prepare``: the smoke survey ``nps-smoke`` (email only, follow-ups off, no reminders, no quiet hours
   in the next 12 h) and two contacts in its own audience: SES's mailbox simulator addresses
   ``success@simulator.amazonses.com`` and ``bounce@simulator.amazonses.com``. Leftovers of an interrupted
   run are removed first.
2. ``listen``: a temporary EventBridge rule on the platform's bus, matching only the smoke survey's
   events, with a temporary SQS queue as its target (see :class:`nps.smoke.adapters.stack.ScoredEventTap`).
3. ``wave``: the planner plans the wave (the deployed function, invoked as its schedule does).
4. ``deliver``: the deliver function sends both invites through SES (polls the invites table).
5. ``page``: a GET of the success invite's score-10 link, over the real HTTPS endpoint, with the headers a
   phone browser sends on a tap in a mail app; the thank-you page must carry its confirm form.
6. ``confirm``: after the page script's pause, the POST it sends; the answer must be recorded and counted.
7. ``aggregate``: the score function's day aggregate of the smoke survey gains one promoter.
8. ``event``: ``NPS Response Scored`` for the tapped invite arrives on the temporary queue and matches its
   published JSON Schema (the pydantic model).
9. ``bounce``: SES's bounce notification reached the suppress function: the bounce address is suppressed
   (reason ``bounced``) and its invite is ``bounced``.
10. ``cleanup`` (always, also after a failure or Ctrl-C): the rule and queue, the responses, then (once
    the score function has subtracted the deleted answer) the smoke survey's aggregate items, the invites,
    the contacts, the survey and the bounce's suppression.

Each step reports one :class:`StepResult`; a step whose prerequisite failed is reported failed without
running. Output holds ids and the simulator addresses only, never other addresses.
"""

from __future__ import annotations

import gzip
import secrets
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from pydantic import ValidationError

from nps.events.models import EVENT_SOURCE, RESPONSE_SCORED, ResponseScoredDetail
from nps.kernel.periods import Granularity, parse_timestamp, period_key
from nps.responding.scanners import MIN_SECONDS_AFTER_SEND
from nps.scoring.aggregation import AggregateKey
from nps.sending.contacts import Contact
from nps.sending.messages import invite_links
from nps.sending.planning import invite_id_for, scheduled_wave_id
from nps.sending.suppression import SuppressionReason, address_hash
from nps.sending.surveys import Cadence, FollowUpEmail, FollowUps, QuietHours, Survey
from nps.smoke.adapters.stack import SuppressionEntry, error_code

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey
    from nps.links.tokens import Keyring
    from nps.responding.adapters.responses import StoredResponse
    from nps.sending.adapters.invites import InviteRecord

SURVEY_ID = "nps-smoke"
AUDIENCE = "nps-smoke"
SUCCESS_ADDRESS = "success@simulator.amazonses.com"
BOUNCE_ADDRESS = "bounce@simulator.amazonses.com"
SUCCESS_CONTACT = "smoke-success"
BOUNCE_CONTACT = "smoke-bounce"
CONTACTS = {SUCCESS_CONTACT: SUCCESS_ADDRESS, BOUNCE_CONTACT: BOUNCE_ADDRESS}
#: A promoter: never a detractor alert, even if a follow-up rule ignored the survey's settings.
SCORE = 10
#: The score page's script waits this long before it posts the answer (templates/pages/confirm.js).
CONFIRM_PAUSE_SECONDS = 2.5
HTTP_TIMEOUT_SECONDS = 20.0

#: What Safari on an iPhone sends when a person taps a link in the Mail app…
PHONE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)
NAVIGATION_HEADERS = {
    "User-Agent": PHONE_USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-GB,en;q=0.9",
    "Accept-Encoding": "gzip, deflate",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-User": "?1",
    "Upgrade-Insecure-Requests": "1",
}
#: …and what the page's own ``fetch(form.action, {method: "POST", body: URLSearchParams})`` sends.
SCRIPT_POST_HEADERS = {
    "User-Agent": PHONE_USER_AGENT,
    "Accept": "*/*",
    "Accept-Language": "en-GB,en;q=0.9",
    "Accept-Encoding": "gzip, deflate",
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
    "Sec-Fetch-Site": "same-origin",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Dest": "empty",
}


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepResult:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        """``PASS name — detail`` or ``FAIL name — reason``."""
        return f"{'PASS' if self.passed else 'FAIL'} {self.name} — {self.detail}"


class StepFailed(Exception):
    """A check did not hold; the message is the reason printed on the FAIL line."""


def describe_error(error: Exception) -> str:
    """One line for an unexpected error: the AWS error code and operation, or the exception's type."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        operation = getattr(error, "operation_name", "a request")
        message = str(response["Error"].get("Message") or "")[:200]
        return f"AWS refused {operation} ({error_code(error)}){': ' + message if message else ''}"
    name = type(error).__name__
    if name == "NoCredentialsError":
        return "no AWS credentials found (set a profile or environment credentials)"
    return f"{name}: {str(error)[:200]}"


# --------------------------------------------------------------------------------------------------
# What the run talks to (the CLI wires the DynamoDB repositories, the planner and the event tap)
# --------------------------------------------------------------------------------------------------


class SurveyWriter(Protocol):
    def put(self, survey: Survey) -> None: ...


class ContactWriter(Protocol):
    def upsert(self, contact: Contact) -> None: ...


class Planner(Protocol):
    def start_wave(self, survey_id: str, scheduled_time: datetime) -> dict[str, Any]: ...


class InviteReader(Protocol):
    def get(self, invite_id: str) -> InviteRecord | None: ...


class ResponseReader(Protocol):
    def get(self, invite_id: str) -> StoredResponse | None: ...


class AggregateReader(Protocol):
    def read(self, pk: str, first_key: str, last_key: str) -> dict[str, dict[str, int]]: ...


class EventTap(Protocol):
    def open(self) -> None: ...
    def receive(self, wait_seconds: float) -> list[dict[str, Any]]: ...
    def close(self) -> list[str]: ...


class SmokeStore(Protocol):
    def answered_invites(self, survey_id: str) -> list[str]: ...
    def delete_responses(self, invite_ids: Iterable[str]) -> int: ...
    def aggregate_keys(self, survey_id: str, channels: Iterable[str]) -> list[tuple[str, str]]: ...
    def delete_aggregates(self, keys: Iterable[tuple[str, str]]) -> int: ...
    def delete_invites(self, invite_ids: Iterable[str]) -> int: ...
    def delete_audience(self, audience: str) -> int: ...
    def delete_survey(self, survey_id: str) -> int: ...
    def suppression(self, address_hash: str) -> SuppressionEntry | None: ...
    def delete_suppression(self, address_hash: str, contact_id: str) -> bool: ...


@dataclass
class SmokePlatform:
    surveys: SurveyWriter
    contacts: ContactWriter
    planner: Planner
    invites: InviteReader
    responses: ResponseReader
    aggregates: AggregateReader
    store: SmokeStore
    #: Built for the bus once the run knows its name (``listen``).
    event_tap: Callable[[str, dict[str, Any]], EventTap]
    keyring: Callable[[], Keyring]
    #: The stack's id key (invite ids and suppression keys are keyed hashes under it).
    id_key: Callable[[], IdKey]
    browser: Browser


@dataclass(frozen=True, slots=True)
class SmokeSettings:
    #: The response API's base URL, as the links in messages carry it (the stack's ``ResponseApiUrl``).
    api_url: str
    #: The ``From`` address: one the stack's SES identity may send from.
    sender: str
    #: Longest wait, in seconds, for each asynchronous outcome (delivery, aggregate, event, bounce).
    timeout: float = 120.0
    #: Seconds between two reads while waiting.
    poll_interval: float = 1.0
    #: Names the temporary rule and queue (``nps-smoke-<run id>``), so runs never share them.
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))


def smoke_survey(sender: str, now: datetime) -> Survey:
    """The smoke survey: email only, no follow-ups, no reminders, sendable for the next 12 hours.

    Quiet hours cannot be switched off, so they are one minute twelve hours from ``now`` (UTC contacts).
    """
    quiet_start = (now + timedelta(hours=12)).astimezone(UTC).replace(second=0, microsecond=0)
    quiet_end = quiet_start + timedelta(minutes=1)
    off = FollowUpEmail(enabled=False, email=False)
    return Survey(
        survey_id=SURVEY_ID,
        name="NPS smoke test (removed after each run)",
        brand_name="NPS smoke test",
        sender=sender,
        channels=["email"],
        audience=AUDIENCE,
        cadence=Cadence.NONE,
        fatigue_days=0,
        reminder_days=None,
        link_lifetime_days=1,
        quiet_hours=QuietHours(start=_clock(quiet_start), end=_clock(quiet_end)),
        follow_ups=FollowUps.model_validate(
            {
                "detractor": {**off.model_dump(), "alert": False, "resurvey": False},
                "passive": off.model_dump(),
                "promoter": off.model_dump(),
            }
        ),
    )


def _clock(at: datetime) -> day_time:
    return day_time(at.hour, at.minute)


# --------------------------------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    status: int
    content_type: str
    text: str
    seconds: float


class _NoRedirects(HTTPRedirectHandler):
    """The respond function never redirects: a redirect is reported as the page's status."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """Requests as a phone browser sends them, with the standard library (no cookies, no redirects)."""

    def __init__(self, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._opener = build_opener(_NoRedirects())

    def get(self, url: str) -> Page:
        return self._request(Request(url, headers=NAVIGATION_HEADERS, method="GET"))  # noqa: S310 - http(s) only

    def post_form(self, url: str, fields: dict[str, str], referer: str) -> Page:
        parts = urlsplit(referer)
        headers = SCRIPT_POST_HEADERS | {"Origin": f"{parts.scheme}://{parts.netloc}", "Referer": referer}
        body = urlencode(fields).encode("ascii")
        return self._request(Request(url, data=body, headers=headers, method="POST"))  # noqa: S310

    def _request(self, request: Request) -> Page:
        if urlsplit(request.full_url).scheme not in ("http", "https"):
            raise StepFailed(f"not an http(s) URL: {request.full_url[:60]}")
        started = time.monotonic()
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        except (URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise StepFailed(f"cannot reach {urlsplit(request.full_url).netloc}: {reason}") from error
        encoding = (headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        text = raw.decode(headers.get_content_charset() or "utf-8", errors="replace")
        return Page(request.full_url, status, headers.get_content_type(), text, time.monotonic() - started)


@dataclass(frozen=True, slots=True)
class Form:
    id: str
    action: str
    method: str
    fields: dict[str, str]


class _Forms(HTMLParser):
    """The forms of a page and their named inputs (what ``new FormData(form)`` would send)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = Form(values.get("id", ""), values.get("action", ""), values.get("method", "get"), {})
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and values.get("name"):
            self._current.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def confirm_form(html: str) -> Form | None:
    """The thank-you page's ``<form id="confirm">`` (the one its script posts), if present."""
    parser = _Forms()
    parser.feed(html)
    return next((form for form in parser.forms if form.id == "confirm"), None)


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


class SmokeRun:
    """Runs the steps in order, reporting each through ``emit`` as it ends; cleanup always runs."""

    def __init__(
        self,
        platform: SmokePlatform,
        settings: SmokeSettings,
        emit: Callable[[StepResult], None],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.platform = platform
        self.settings = settings
        self.emit = emit
        self.clock = clock
        self.sleep = sleep
        self.results: dict[str, StepResult] = {}
        self.started = clock()
        self.wave_id = scheduled_wave_id(SURVEY_ID, self.started)
        self.invite_ids = {c: invite_id_for(self.wave_id, c, AUDIENCE, platform.id_key()) for c in CONTACTS}
        self.tap: EventTap | None = None
        self.page: Page | None = None
        self.form: Form | None = None
        self.opened_at = 0.0
        self.baseline: dict[str, dict[str, int]] = {}
        self.answer_period: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results.values())

    def run(self) -> list[StepResult]:
        steps: Sequence[tuple[str, Callable[[], str], tuple[str, ...]]] = (
            ("prepare", self.prepare, ()),
            ("listen", self.listen, ("prepare",)),
            ("wave", self.start_wave, ("prepare",)),
            ("deliver", self.await_delivery, ("wave",)),
            ("page", self.open_page, ("deliver",)),
            ("confirm", self.confirm, ("page",)),
            ("aggregate", self.await_aggregate, ("confirm",)),
            ("event", self.await_event, ("confirm", "listen")),
            ("bounce", self.await_bounce, ("deliver",)),
        )
        try:
            for name, step, needs in steps:
                self._run_step(name, step, needs)
        finally:
            self._run_step("cleanup", self.cleanup, ())
        return list(self.results.values())

    def _run_step(self, name: str, step: Callable[[], str], needs: tuple[str, ...]) -> None:
        missing = [n for n in needs if not (n in self.results and self.results[n].passed)]
        if missing:
            result = StepResult(name, False, f"not run: {', '.join(missing)} did not pass")
        else:
            try:
                result = StepResult(name, True, step())
            except StepFailed as failure:
                result = StepResult(name, False, str(failure))
            except Exception as error:  # reported as one line: the run goes on to clean up
                result = StepResult(name, False, describe_error(error))
        self.results[name] = result
        self.emit(result)

    def _wait(self, what: str, check: Callable[[], str | None]) -> tuple[str, float]:
        """Call ``check`` until it returns a detail (or raises), for at most the timeout."""
        started = time.monotonic()
        while True:
            detail = check()
            elapsed = time.monotonic() - started
            if detail is not None:
                return detail, elapsed
            if elapsed >= self.settings.timeout:
                raise StepFailed(f"no {what} after {self.settings.timeout:.0f} s")
            self.sleep(self.settings.poll_interval)

    # -- 1. prepare ------------------------------------------------------------------------------------
    def prepare(self) -> str:
        removed = self._remove_leftovers()
        store = self.platform.store
        for address in CONTACTS.values():
            entry = store.suppression(address_hash("email", address, self.platform.id_key()))
            if entry is not None:
                raise StepFailed(
                    f"{address} is suppressed ({entry.reason}) for contact {entry.contact_id or 'unknown'}, "
                    "not by a smoke run: delete that suppression to run the smoke test"
                )
        self.platform.surveys.put(smoke_survey(self.settings.sender, self.started))
        for contact_id, address in CONTACTS.items():
            self.platform.contacts.upsert(
                Contact(contact_id=contact_id, audience=AUDIENCE, email=address, time_zone="UTC", locale="en")
            )
        leftovers = f"; removed {_count(removed, 'item')} left by an earlier run" if removed else ""
        return f"survey {SURVEY_ID} and contacts {', '.join(CONTACTS)} stored{leftovers}"

    def _remove_leftovers(self) -> int:
        """An interrupted run's items (including this wave's invite ids, were a run in this minute)."""
        store = self.platform.store
        removed = store.delete_responses([*store.answered_invites(SURVEY_ID), *self.invite_ids.values()])
        removed += store.delete_aggregates(store.aggregate_keys(SURVEY_ID, ["email"]))
        removed += store.delete_invites(self.invite_ids.values())
        removed += store.delete_audience(AUDIENCE)
        removed += store.delete_survey(SURVEY_ID)
        for contact_id, address in CONTACTS.items():
            removed += store.delete_suppression(address_hash("email", address, self.platform.id_key()), contact_id)
        return removed

    # -- 2. listen -------------------------------------------------------------------------------------
    def listen(self) -> str:
        name = f"nps-smoke-{self.settings.run_id}"
        pattern = {"source": [EVENT_SOURCE], "detail": {"survey_id": [SURVEY_ID]}}
        self.tap = self.platform.event_tap(name, pattern)
        self.tap.open()
        return f"temporary rule and queue {name} (events of survey {SURVEY_ID} only)"

    # -- 3. wave ---------------------------------------------------------------------------------------
    def start_wave(self) -> str:
        report = self.platform.planner.start_wave(SURVEY_ID, self.started)
        if report.get("wave_id") != self.wave_id:
            raise StepFailed(f"the planner planned wave {report.get('wave_id')!r}, not {self.wave_id!r}")
        if report.get("invites") != len(CONTACTS) or report.get("queued") != len(CONTACTS):
            skipped = report.get("skipped") or {}
            raise StepFailed(
                f"{report.get('queued', 0)} of {len(CONTACTS)} invites queued"
                + (f" (skipped: {', '.join(f'{k} {v}' for k, v in sorted(skipped.items()))})" if skipped else "")
            )
        return f"wave {self.wave_id}: {len(CONTACTS)} invites queued"

    # -- 4. deliver ------------------------------------------------------------------------------------
    def await_delivery(self) -> str:
        def delivered() -> str | None:
            records = {c: self.platform.invites.get(i) for c, i in self.invite_ids.items()}
            for contact_id, record in records.items():
                if record is not None and record.status in ("failed", "skipped", "unknown"):
                    reason = f" ({record.failure_reason})" if record.failure_reason else ""
                    raise StepFailed(f"invite {record.invite_id} ({contact_id}) is {record.status}{reason}")
            if all(r is not None and r.sent_at and r.status in ("sent", "bounced") for r in records.values()):
                return "sent"
            return None

        _, elapsed = self._wait("delivery of both invites", delivered)
        return f"{len(CONTACTS)} invites sent through SES in {elapsed:.1f} s"

    # -- 5. page ---------------------------------------------------------------------------------------
    def open_page(self) -> str:
        invite = self.platform.invites.get(self.invite_ids[SUCCESS_CONTACT])
        if invite is None or not invite.sent_at:
            raise StepFailed("the success invite is gone")
        # A person opens the message a little after it arrives (a click seconds after sending is a scanner's).
        ready = parse_timestamp(invite.sent_at) + timedelta(seconds=MIN_SECONDS_AFTER_SEND + 1)
        wait = (ready - self.clock()).total_seconds()
        if wait > 0:
            self.sleep(wait)
        today = period_key(Granularity.DAY, self.clock())
        self.baseline = self.platform.aggregates.read(self._day_pk(), today, today)
        base = self.settings.api_url.rstrip("/")
        link = invite_links(
            self.platform.keyring(), base, invite.invite_id, invite.expires_at, invite.expires_at
        ).score_links[SCORE]
        self.opened_at = time.monotonic()
        page = self.platform.browser.get(link)
        if page.status != 200:
            raise StepFailed(f"GET score link → HTTP {page.status}, expected 200 (the thank-you page)")
        if page.content_type != "text/html":
            raise StepFailed(f"GET score link → {page.content_type}, expected text/html")
        form = confirm_form(page.text)
        if form is None or form.method.lower() != "post" or not form.action:
            raise StepFailed("the thank-you page has no confirm form for its script to post")
        if form.fields.get("score") != str(SCORE):
            raise StepFailed(f"the confirm form carries score {form.fields.get('score')!r}, not {SCORE}")
        self.page, self.form = page, form
        return f"GET score link ({SCORE}) → 200, thank-you page with its confirm form in {page.seconds:.2f} s"

    # -- 6. confirm ------------------------------------------------------------------------------------
    def confirm(self) -> str:
        assert self.page is not None
        assert self.form is not None
        pause = CONFIRM_PAUSE_SECONDS - (time.monotonic() - self.opened_at)
        if pause > 0:
            self.sleep(pause)
        posted = self.platform.browser.post_form(
            urljoin(self.page.url, self.form.action), self.form.fields, self.page.url
        )
        if posted.status != 200:
            raise StepFailed(f"the page's confirm POST → HTTP {posted.status}, expected 200")
        invite_id = self.invite_ids[SUCCESS_CONTACT]
        stored = self.platform.responses.get(invite_id)
        if stored is None:
            raise StepFailed(f"POST → 200 but no response stored for invite {invite_id}")
        if not stored.counted or stored.score != SCORE:
            if stored.automated_score is not None:
                raise StepFailed(f"the answer was held as automated (a mail scanner's), not counted: {invite_id}")
            raise StepFailed(f"stored score {stored.score} (counted: {stored.counted}), expected {SCORE} counted")
        if stored.first_answered_at:
            self.answer_period = period_key(Granularity.DAY, parse_timestamp(stored.first_answered_at))
        return f"POST → 200; score {SCORE} recorded and counted for invite {invite_id}"

    # -- 7. aggregate ----------------------------------------------------------------------------------
    def await_aggregate(self) -> str:
        period = self.answer_period or period_key(Granularity.DAY, self.clock())
        before = self.baseline.get(period, {})
        expected = before.get("promoters", 0) + 1

        def counted() -> str | None:
            counters = self.platform.aggregates.read(self._day_pk(), period, period).get(period, {})
            return "counted" if counters.get("promoters", 0) >= expected else None

        _, elapsed = self._wait("aggregate update", counted)
        return f"{SURVEY_ID} day {period}: promoters {expected - 1} → {expected} after {elapsed:.1f} s"

    # -- 8. event --------------------------------------------------------------------------------------
    def await_event(self) -> str:
        assert self.tap is not None
        invite_id = self.invite_ids[SUCCESS_CONTACT]
        tap = self.tap

        def scored() -> str | None:
            for event in tap.receive(self.settings.poll_interval):
                if event.get("detail-type") != RESPONSE_SCORED or event.get("source") != EVENT_SOURCE:
                    continue
                raw = event.get("detail")
                if not isinstance(raw, dict) or raw.get("invite_id") != invite_id:
                    continue
                try:
                    detail = ResponseScoredDetail.model_validate(raw)
                except ValidationError as error:
                    reason = f"{RESPONSE_SCORED} does not match its schema ({error.error_count()} errors)"
                    raise StepFailed(reason) from error
                if detail.score != SCORE or detail.category != "promoter":
                    raise StepFailed(f"{RESPONSE_SCORED} says score {detail.score} ({detail.category})")
                return f"{detail.category}, score {detail.score}, schema {detail.schema_version}"
            return None

        detail, elapsed = self._wait(f"{RESPONSE_SCORED} event", scored)
        return f"{RESPONSE_SCORED} for invite {invite_id} ({detail}) after {elapsed:.1f} s"

    # -- 9. bounce -------------------------------------------------------------------------------------
    def await_bounce(self) -> str:
        bounce_hash = address_hash("email", BOUNCE_ADDRESS, self.platform.id_key())
        invite_id = self.invite_ids[BOUNCE_CONTACT]

        def suppressed() -> str | None:
            entry = self.platform.store.suppression(bounce_hash)
            invite = self.platform.invites.get(invite_id)
            if entry is None or invite is None or invite.status != "bounced":
                return None
            if entry.reason != SuppressionReason.BOUNCED.value or entry.contact_id != BOUNCE_CONTACT:
                raise StepFailed(f"{BOUNCE_ADDRESS} suppressed as {entry.reason} for {entry.contact_id}")
            return "suppressed"

        _, elapsed = self._wait("bounce suppression (SES feedback → suppress function)", suppressed)
        if self.platform.store.suppression(address_hash("email", SUCCESS_ADDRESS, self.platform.id_key())) is not None:
            raise StepFailed(f"{SUCCESS_ADDRESS} was suppressed too")
        return f"{BOUNCE_ADDRESS} suppressed (bounced), invite {invite_id} bounced after {elapsed:.1f} s"

    # -- 10. cleanup -----------------------------------------------------------------------------------
    def cleanup(self) -> str:
        """Remove everything the run (or an interrupted earlier one) created; each removal is tried even
        when another failed, and the FAIL line lists what is left behind and why."""
        problems: list[str] = []
        removed: list[str] = []
        store = self.platform.store

        def attempt(noun: str, remove: Callable[[], int]) -> int | None:
            try:
                count = remove()
            except Exception as error:  # keep going: leave as little behind as possible
                problems.append(f"{noun}s ({describe_error(error)})")
                return None
            removed.append(_count(count, noun))
            return count

        if self.tap is not None:
            left = self.tap.close()
            problems += left
            if not left:
                removed.append("the temporary rule and queue")
        responses = attempt(
            "response", lambda: store.delete_responses([*self.invite_ids.values(), *store.answered_invites(SURVEY_ID)])
        )
        unsettled = self._await_subtraction(self.answer_period) if responses and self.answer_period else []
        problems += unsettled
        if not unsettled:
            attempt("aggregate item", lambda: store.delete_aggregates(store.aggregate_keys(SURVEY_ID, ["email"])))
        attempt("invite", lambda: store.delete_invites(self.invite_ids.values()))
        attempt("contact", lambda: store.delete_audience(AUDIENCE))
        attempt("survey item", lambda: store.delete_survey(SURVEY_ID))
        attempt(
            "suppression",
            lambda: sum(
                store.delete_suppression(address_hash("email", address, self.platform.id_key()), contact_id)
                for contact_id, address in CONTACTS.items()
            ),
        )
        if problems:
            raise StepFailed(f"removed {', '.join(removed) or 'nothing'}; left behind: {'; '.join(problems)}")
        return f"removed {', '.join(removed)}"

    def _await_subtraction(self, period: str) -> list[str]:
        """Wait until the score function has subtracted the deleted answer, so that deleting the aggregate
        items is final (a later subtraction would otherwise write them again, negative)."""
        target = self.baseline.get(period, {}).get("promoters", 0)

        def settled() -> str | None:
            counters = self.platform.aggregates.read(self._day_pk(), period, period).get(period, {})
            return "settled" if counters.get("promoters", 0) <= target else None

        try:
            self._wait("subtraction", settled)
        except StepFailed:
            return [
                f"the aggregate items of {SURVEY_ID}: the deleted answer was not subtracted within "
                f"{self.settings.timeout:.0f} s (the next run removes them)"
            ]
        return []

    @staticmethod
    def _day_pk() -> str:
        return AggregateKey(SURVEY_ID, Granularity.DAY, "").pk


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
