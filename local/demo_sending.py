"""The sending side on moto, through the real handlers: survey → CSV contacts → wave → SES/SNS.

Used by ``make demo`` (``local/demo.py``) and the integration tests. The pieces:

* :func:`create_survey` stores a definition; :func:`import_csv` puts a CSV in the import bucket and runs
  the import function on the S3 notification;
* :func:`fire_wave` invokes the planner as its Scheduler schedule would (moto never fires schedules);
* :func:`drain_send_queue` feeds the send queue to the deliver function as SQS batches (optionally
  delivering every message twice, as SQS may), advancing an injected clock past holds;
* :func:`captured_emails` / :func:`captured_sms` read what SES and SNS "sent", with the links parsed out.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from local.environment import REGION, LocalStack
from local.lambda_events import LambdaContext, sqs_record
from nps.kernel import aws
from nps.sending.planning import MAILBOX_CLAIM_PREFIX

ACCOUNT_ID = "123456789012"
SURVEY_ID = "onboarding-q4"
DEMO_SURVEY: dict[str, Any] = {
    "survey_id": SURVEY_ID,
    "name": "Relationship NPS, Q4",
    "brand_name": "Acme Cloud",
    "brand_colour": "#0f766e",
    "sender": "surveys@example.com",
    "sender_name": "Acme Cloud feedback",
    "channels": ["email", "sms"],
    "default_locale": "en",
    "locales": ["en", "es", "de"],
    "cadence": "quarterly",
    "fatigue_days": 60,
    "reminder_days": 3,
    "link_lifetime_days": 30,
    "segment_dimensions": ["plan", "region"],
    "quiet_hours": {"start": "20:00", "end": "09:00"},
    "triggers": [{"source": "helpdesk", "detail_type": "Ticket Closed", "delay_minutes": 60}],
    "follow_ups": {
        "detractor": {"resolve_within_days": 5, "resurvey_after_days": 14},
        "promoter": {"referral_url": "https://acme.example/refer", "review_url": "https://reviews.example/acme-cloud"},
    },
}
ZONES = ("Europe/Berlin", "Europe/Madrid", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "UTC")
LINK_RE = re.compile(r"https?://[^\s\"'<>]+")


# --------------------------------------------------------------------------------------------------
# Clock: every handler reads "now" through its service's clock, which the demo and tests control
# --------------------------------------------------------------------------------------------------


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@contextmanager
def handlers(clock: Clock) -> Iterator[None]:
    """Fresh handler services on the current environment, all reading ``clock``."""
    from functions.deliver import handler as deliver
    from functions.planner import handler as planner
    from functions.suppress import handler as suppress
    from functions.sweep_invites import handler as sweep_invites
    from functions.unsubscribe import handler as unsubscribe
    from nps.sending.adapters import channels

    factories: list[Any] = [
        planner.planner,
        deliver.service,
        unsubscribe.service,
        suppress.service,
        sweep_invites.sweeper,
    ]
    for factory in factories:
        factory.cache_clear()
    # moto applies SQS message delays in real time; here holds play out on the simulated clock instead
    # (each message's ``not_before``), so messages are queued without a delay.
    saved_delay = channels.MAX_DELAY_SECONDS
    channels.MAX_DELAY_SECONDS = 0
    reset_pending()
    planner.planner().clock = clock
    delivery = deliver.service()
    delivery.clock = clock
    delivery.limiter.clock = lambda: clock().timestamp()
    delivery.limiter.sleep = lambda seconds: clock.advance(timedelta(seconds=seconds))
    unsubscribe.service().clock = clock
    suppress.service().clock = clock
    sweep_invites.sweeper().clock = clock
    try:
        yield
    finally:
        channels.MAX_DELAY_SECONDS = saved_delay
        reset_pending()
        for factory in factories:
            factory.cache_clear()


# --------------------------------------------------------------------------------------------------
# Survey and contacts
# --------------------------------------------------------------------------------------------------


def create_survey(stack: LocalStack, definition: dict[str, Any] | None = None) -> str:
    """Validate and store a survey definition; returns its id."""
    from nps.sending.adapters.surveys import DynamoSurveyRepository
    from nps.sending.surveys import Survey

    survey = Survey.model_validate(definition or DEMO_SURVEY)
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    return survey.survey_id


def synthetic_contacts_csv(count: int, rng: random.Random, bad_rows: int = 0, accounts: bool = False) -> str:
    """A CSV of synthetic contacts (reserved example.com addresses, +1 415 555 xxxx numbers), with some
    malformed rows mixed in to show the per-row error report. With ``accounts``, four contacts in five
    belong to an account (3-6 contacts each: a decision maker, an influencer, users), whose revenue is given
    on its decision maker's row only."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["contact_id", "email", "phone", "time_zone", "locale", "plan", "region"]
    writer.writerow([*header, "account_id", "role", "revenue"] if accounts else header)
    memberships = _synthetic_accounts(count, rng) if accounts else {}
    for index in range(count):
        sms_only = index % 5 == 0
        email = "" if sms_only else f"person{index:05d}@example.com"
        phone = f"+1415555{index % 10_000:04d}" if sms_only or index % 3 == 0 else ""
        writer.writerow(
            [
                f"contact-{index:05d}",
                email,
                phone,
                rng.choice(ZONES),
                rng.choice(("en", "en", "en", "es", "de")),
                ("starter", "enterprise")[index % 2],
                rng.choice(("emea", "amer", "apac")),
                *(memberships.get(index, ("", "", "")) if accounts else ()),
            ]
        )
    bad = [
        ["bad-email", "not-an-address", "", "UTC", "en", "starter", "emea"],
        ["bad-phone", "", "0176 1234", "UTC", "en", "starter", "emea"],
        ["bad-zone", "zone@example.com", "", "Mars/Olympus", "en", "starter", "emea"],
        ["bad-locale", "locale@example.com", "", "UTC", "xx", "starter", "emea"],
        ["", "noid@example.com", "", "UTC", "en", "starter", "emea"],
        ["short-row", "short@example.com"],
    ]
    for row in bad[:bad_rows]:
        writer.writerow([*row, "", "", ""] if accounts and len(row) == len(header) else row)
    return out.getvalue()


def _synthetic_accounts(count: int, rng: random.Random) -> dict[int, tuple[str, str, str]]:
    """Contact index → (account id, role, revenue cell) for four contacts in five, in accounts of 3-6."""
    out: dict[int, tuple[str, str, str]] = {}
    index = account = 0
    while index < count:
        if rng.random() < 0.2:  # a contact of no account
            index += 1
            continue
        size = rng.randint(3, 6)
        revenue = str(rng.choice((5, 12, 24, 48, 96, 240)) * 1000)
        for position in range(min(size, count - index)):
            role = ("Decision Maker", "influencer")[position] if position < 2 else "user"
            out[index + position] = (f"acct-{account:03d}", role, revenue if position == 0 else "")
        index += size
        account += 1
    return out


def import_csv(
    stack: LocalStack, text: str | bytes, name: str = "contacts.csv", audience: str = "default"
) -> dict[str, Any]:
    """Put the CSV (text as UTF-8, or the file's bytes) in the import bucket and run the import function."""
    from functions.import_contacts import handler as importer

    assert stack.sending is not None
    key = f"imports/{audience}/{name}"
    body = text.encode() if isinstance(text, str) else text
    aws.client("s3").put_object(Bucket=stack.sending.import_bucket, Key=key, Body=body)
    event = {"Records": [{"s3": {"bucket": {"name": stack.sending.import_bucket}, "object": {"key": key}}}]}
    importer.contacts.cache_clear()
    result: dict[str, Any] = importer.lambda_handler(event, LambdaContext("import_contacts"))["imports"][0]
    return result


def import_report(stack: LocalStack, report_key: str) -> list[dict[str, str]]:
    assert stack.sending is not None
    body = aws.client("s3").get_object(Bucket=stack.sending.import_bucket, Key=report_key)["Body"].read()
    return list(csv.DictReader(io.StringIO(body.decode())))


# --------------------------------------------------------------------------------------------------
# Waves and delivery
# --------------------------------------------------------------------------------------------------


class PlannerContext(LambdaContext):
    """The planner's context as deployed: its 15 minutes to the timeout are all left."""

    def __init__(self) -> None:
        super().__init__("planner")

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return 900_000


def fire_wave(survey_id: str, scheduled_time: datetime) -> dict[str, Any]:
    """Invoke the planner exactly as the survey's Scheduler schedule does, then deliver the wave's
    continuations (if it was too large for one invocation) as the planning queue would; the report of
    the invocation that finished the wave."""
    from functions.planner import handler as planner

    payload = {"action": "wave", "survey_id": survey_id, "scheduled_time": scheduled_time.isoformat()}
    result: dict[str, Any] = planner.lambda_handler(payload, PlannerContext())
    for report in continue_waves():
        if report.get("complete"):
            result = report
    return result


def continue_waves() -> list[dict[str, Any]]:
    """Deliver the planning queue's continuation messages to the planner until it is empty (moto never
    invokes an event source); the report of each."""
    from functions.planner import handler as planner

    queue_url = os.environ.get("PLANNING_QUEUE_URL", "")
    reports: list[dict[str, Any]] = []
    while queue_url:
        messages = _receive(queue_url)
        if not messages:
            break
        for message in messages:
            event = {"Records": [sqs_record(message, f"arn:aws:sqs:{REGION}:000000000000:planning")]}
            reports.extend(planner.lambda_handler(event, PlannerContext())["waves"])
            aws.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return reports


def fire_reminders() -> dict[str, Any]:
    from functions.planner import handler as planner

    result: dict[str, Any] = planner.lambda_handler({"action": "reminders"}, PlannerContext())
    return result


def _receive(queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        aws.client("sqs")
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0)
        .get("Messages", [])
    )
    return messages


@dataclass
class DeliveryRun:
    batches: int = 0
    messages: int = 0
    failures: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def drain_send_queue(
    stack: LocalStack,
    clock: Clock,
    *,
    duplicate: bool = False,
    hold_step: timedelta = timedelta(minutes=15),
    max_rounds: int = 500,
    before_batch: Callable[[list[dict[str, Any]]], None] | None = None,
) -> DeliveryRun:
    """Deliver everything on the send queue through the deliver function until it is empty.

    Messages are taken 10 at a time (SQS's batch) regardless of their delay: a message whose delay has
    not passed is put back, and when only delayed messages remain the clock moves ``hold_step`` on —
    so quiet-hours holds play out in simulated time. ``duplicate`` delivers each batch twice.
    """
    from functions.deliver import handler as deliver

    assert stack.sending is not None
    url = stack.sending.send_queue_url
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{url.rsplit('/', 1)[-1]}"
    run = DeliveryRun()
    for _ in range(max_rounds):
        due, waiting = _due_messages(url, clock)
        if not due and not waiting:
            return run
        if not due:
            clock.advance(hold_step)
            continue
        for start in range(0, len(due), 10):
            chunk = due[start : start + 10]
            if before_batch is not None:
                before_batch(chunk)
            event = {"Records": [sqs_record(m, arn) for m in chunk]}
            for _copy in range(2 if duplicate else 1):
                result = deliver.lambda_handler(event, LambdaContext("deliver"))
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                run.failures += len(failed)
            run.batches += 1
            run.messages += len(chunk)
            # Taken off the queue when received; a failed message comes back after its visibility timeout.
            for message in chunk:
                if message["MessageId"] in failed:
                    _requeue(url, message, clock)
    raise RuntimeError("the send queue did not drain")


# Messages we have received but are holding back because their SQS delay has not passed (moto does
# not know our simulated clock): message id → (body, visible at, receive count).
_PENDING: dict[str, dict[str, Any]] = {}


def _due_messages(url: str, clock: Clock) -> tuple[list[dict[str, Any]], int]:
    sqs = aws.client("sqs")
    while True:
        batch = _receive(url)
        if not batch:
            break
        for message in batch:
            not_before = _not_before(message)
            _PENDING[message["MessageId"]] = {
                "message": message,
                "visible_at": max(not_before, clock.now) if not_before else clock.now,
                "received": int(message["Attributes"].get("ApproximateReceiveCount", "1")),
            }
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    due, waiting = [], 0
    for message_id, pending in list(_PENDING.items()):
        if pending["visible_at"] <= clock.now:
            message = dict(pending["message"])
            message["Attributes"] = {
                **message["Attributes"],
                "ApproximateReceiveCount": str(pending["received"]),
            }
            message["ReceiptHandle"] = f"local-{message_id}"
            due.append(message)
            del _PENDING[message_id]
        else:
            waiting += 1
    return due, waiting


def _not_before(message: dict[str, Any]) -> datetime | None:
    """The hold a message carries (``not_before``), which real SQS enforces with ``DelaySeconds``."""
    from nps.kernel.periods import parse_timestamp

    body = json.loads(message["Body"])
    return parse_timestamp(body["not_before"]) if body.get("not_before") else None


def _requeue(url: str, message: dict[str, Any], clock: Clock) -> None:
    """A failed message comes back after its visibility timeout with a higher receive count."""
    received = int(message["Attributes"].get("ApproximateReceiveCount", "1")) + 1
    message = dict(message)
    message["Attributes"] = {**message["Attributes"], "ApproximateReceiveCount": str(received)}
    _PENDING[str(uuid.uuid4())] = {
        "message": message,
        "visible_at": clock.now + timedelta(minutes=2),
        "received": received,
    }


def reset_pending() -> None:
    _PENDING.clear()


# --------------------------------------------------------------------------------------------------
# What SES and SNS sent
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapturedEmail:
    to: str
    message: EmailMessage
    html: str
    text: str
    score_links: tuple[str, ...]
    unsubscribe_link: str

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass(frozen=True)
class CapturedSms:
    to: str
    text: str
    link: str


def captured_emails() -> list[CapturedEmail]:
    from moto.ses.models import ses_backends

    out = []
    for sent in ses_backends[ACCOUNT_ID][REGION].sent_messages:
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        message = message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        html_part = message.get_body(preferencelist=("html",))
        text_part = message.get_body(preferencelist=("plain",))
        html = html_part.get_content() if html_part is not None else ""
        text = text_part.get_content() if text_part is not None else ""
        score_links = tuple(dict.fromkeys(link for link in LINK_RE.findall(text) if "/r/" in link))
        unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
        out.append(CapturedEmail(str(message["To"]), message, html, text, score_links, unsubscribe))
    return out


def captured_sms() -> list[CapturedSms]:
    from moto.sns.models import sns_backends

    out = []
    for phone, text in sns_backends[ACCOUNT_ID][REGION].sms_messages.values():
        links = LINK_RE.findall(text)
        out.append(CapturedSms(phone, text, links[0] if links else ""))
    return out


def invite_items(stack: LocalStack) -> list[dict[str, Any]]:
    """Every invite item (not the mailbox claims a wave planned over several pages keeps beside them)."""
    items: list[dict[str, Any]] = []
    paginator = aws.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=stack.tables["invites"]):
        items.extend(item for item in page["Items"] if not item["invite_id"]["S"].startswith(MAILBOX_CLAIM_PREFIX))
    return items


def write_emails(emails: list[CapturedEmail], folder: Path, limit: int = 4) -> list[Path]:
    """Write a few rendered emails (one per locale first) as HTML files a person can open."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen: dict[str, CapturedEmail] = {}
    for email in emails:
        chosen.setdefault(str(email.message["Content-Language"] or _lang(email.html)), email)
    picked = list(chosen.values())[:limit]
    paths = []
    for index, email in enumerate(picked, 1):
        path = folder / f"invite-{index}-{_lang(email.html)}.html"
        path.write_text(email.html, encoding="utf-8")
        paths.append(path)
    return paths


def _lang(html: str) -> str:
    found = re.search(r'<html lang="([a-z-]+)"', html)
    return found.group(1) if found else "en"


def summary_lines(report: dict[str, Any], run: DeliveryRun, emails: int, sms: int) -> list[str]:
    skipped = report.get("skipped", {})
    return [
        f"contacts in the audience           {report['contacts']:>6}",
        f"invites planned                    {report['invites']:>6}",
        f"  by channel                       {json.dumps(report['by_channel'], sort_keys=True)}",
        f"  by locale                        {json.dumps(report['by_locale'], sort_keys=True)}",
        f"held for quiet hours               {report['held']:>6}",
        f"skipped for fatigue                {skipped.get('fatigue', 0):>6}",
        f"skipped as suppressed              {skipped.get('suppressed', 0):>6}",
        f"skipped without a usable channel   {skipped.get('no_channel', 0):>6}",
        f"send messages delivered            {run.messages:>6} in {run.batches} batches",
        f"emails sent through SES            {emails:>6}",
        f"SMS sent through SNS               {sms:>6}",
    ]


@dataclass(frozen=True)
class SentLink:
    """One invite as the recipient got it: the score-page link (append ``?score=N`` to tap) and the
    invite's channel, locale and plan, read from the invite the link's token names."""

    invite_id: str
    channel: str
    locale: str
    plan: str
    score_page: str


def sent_links(stack: LocalStack) -> list[SentLink]:
    """The link of every captured email and SMS, in a stable order."""
    from urllib.parse import urlsplit

    from nps.links.tokens import Purpose, verify
    from nps.responding.adapters.invites import DynamoInviteRepository

    invites = DynamoInviteRepository(stack.tables["invites"])
    # Invites only: follow-up emails (apologies, thank-yous) carry no score links.
    emails = [e.score_links[0].split("?", 1)[0] for e in captured_emails() if e.score_links]
    pages = emails + [s.link for s in captured_sms()]
    out = []
    for page in pages:
        claims = verify(stack.keyring, urlsplit(page).path.removeprefix("/r/"), Purpose.RESPOND, 0).claims
        assert claims is not None, "a captured link does not carry a token we signed"
        invite = invites.get(claims.invite_id)
        assert invite is not None
        out.append(SentLink(invite.invite_id, invite.channel, invite.locale, invite.segments.get("plan", ""), page))
    return sorted(out, key=lambda link: link.invite_id)


@dataclass
class SendingDemo:
    report: dict[str, Any]
    run: DeliveryRun
    import_summary: dict[str, Any]
    links: list[SentLink]
    written: list[Path]


def run_sending(
    stack: LocalStack,
    contacts: int,
    rng: random.Random,
    output: Path,
    definition: dict[str, Any] | None = None,
    accounts: bool = False,
    now: datetime | None = None,
) -> SendingDemo:
    """Survey (``definition``, else :data:`DEMO_SURVEY`) → CSV import (with bad rows) → scheduled wave →
    delivery on a simulated clock starting at ``now`` (default: the current UTC time); prints the counts
    and writes a few rendered emails to ``output``."""
    clock = Clock(now or datetime.now(UTC))
    with handlers(clock):
        create_survey(stack, definition)
        summary = import_csv(stack, synthetic_contacts_csv(contacts, rng, bad_rows=6, accounts=accounts))
        # A few contacts unsubscribed in an earlier program and some were surveyed last month.
        _seed_history(stack, clock, rng)
        report = fire_wave(SURVEY_ID, clock.now)
        run = drain_send_queue(stack, clock)
    emails, sms = captured_emails(), captured_sms()
    print(f"Contacts CSV: {summary['imported']} imported, {summary['rejected']} rows rejected (see the report)")
    for line in summary_lines(report, run, len(emails), len(sms)):
        print(f"  {line}")
    written = write_emails(emails, output)
    if written:
        print(f"  rendered emails written to {written[0].parent}/ ({len(written)} files)")
    return SendingDemo(report, run, summary, sent_links(stack), written)


def _seed_history(stack: LocalStack, clock: Clock, rng: random.Random) -> None:
    from nps.kernel.periods import iso_timestamp
    from nps.sending.adapters.suppressions import DynamoSuppressionRepository
    from nps.sending.suppression import SuppressionReason, address_hash

    suppressions = DynamoSuppressionRepository(stack.tables["suppressions"])
    dynamodb = aws.client("dynamodb")
    items = dynamodb.scan(TableName=stack.tables["contacts"])["Items"]
    for item in items:
        roll = rng.random()
        if roll < 0.03 and "email" in item:
            suppressions.suppress(
                address_hash("email", item["email"]["S"], stack.id_key),
                SuppressionReason.UNSUBSCRIBED,
                iso_timestamp(clock.now),
            )
        elif roll < 0.08:
            dynamodb.update_item(
                TableName=stack.tables["contacts"],
                Key={"audience": item["audience"], "contact_id": item["contact_id"]},
                UpdateExpression="SET last_surveyed_at = :at",
                ExpressionAttributeValues={":at": {"S": iso_timestamp(clock.now - timedelta(days=20))}},
            )
