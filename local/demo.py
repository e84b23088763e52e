"""``make demo``: a whole campaign through the real handlers on moto, then the NPS report.

Creates a survey (with a driver question, CSAT, CES and a comment taxonomy in en, es and de:
``local.demo_reasons``), imports a CSV of a few hundred synthetic contacts (two plan segments), fires a
wave through the real planner and deliver functions (SES and SNS on moto), then taps the links people
received through the respond function (a realistic score mix, changed minds, comments in the person's
language that fit the score, driver/CSAT/CES answers, tampered and expired links), scores the responses
stream with the score function, checks the aggregates overall and per segment against a direct recount
of the responses table (exit status 1 if anything differs), runs the follow-up workflows (alerts,
apology / referral / "what would make it a 10?" emails, tasks for the team, re-surveys and who moved
category), then prints the one terminal report, the driver table (checked against a recount of the
stored responses) and writes the HTML report.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from local.arguments import utc_time
from local.demo_follow_ups import run_loop
from local.demo_reasons import REASONS, answers_for, comment_for
from local.demo_sending import DEMO_SURVEY, SentLink, run_sending
from local.environment import LocalStack, create_stack, prepare_process_environment
from local.lambda_events import LambdaContext, http_event

if TYPE_CHECKING:
    from nps.reporting.figures import SliceReport

CONTACTS = 400
SEED = 20261123
SURVEY_ID = "onboarding-q4"  # the survey of local/demo_sending.py
EMAILS_FOLDER = Path("demo-output/emails")
PLANS = ("starter", "enterprise")
#: The demo survey asks a driver, CSAT and CES after the score and tags comments with its themes.
DEMO_DEFINITION: dict[str, Any] = DEMO_SURVEY | {"reasons": REASONS}
# Likelihood of each score 0–10 in a typical B2B SaaS program.
SCORE_WEIGHTS = {
    "starter": [3, 2, 3, 4, 5, 7, 9, 15, 17, 17, 18],
    "enterprise": [1, 1, 1, 2, 3, 5, 7, 14, 20, 22, 24],
}
RESPONSE_RATE = 0.62
CHANGED_MIND = 0.08
#: People who answer the questions after the score (a driver, CSAT, CES) and/or leave a comment.
FOLLOW_UP_RATE = 0.45
#: Of those, the share who write a comment (the others answer only the questions).
COMMENT_SHARE = 0.65


def _quiet_functions() -> None:
    """Keep the functions' logs and metrics out of the demo's printout."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # A function invocation that adds no metric (most taps do not) is normal here, not worth a warning.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
SCANNER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
FORM = "application/x-www-form-urlencoded"
# One email recipient in ten sits behind corporate mail security that opens every link of every message.
SCANNED_SHARE = 0.1
# People open their messages a while after delivery; scanners within seconds of it.
OPENED_AFTER = timedelta(minutes=45)


class Browser:
    """Requests as a phone browser (or a scanner's) sends them to the respond function."""

    def __init__(self, locale: str, agent: str = PHONE) -> None:
        self.headers = {"user-agent": agent, "accept-language": locale}

    def call(self, method: str, path: str, query: dict[str, str] | None = None, body: str | None = None) -> int:
        from functions.respond import handler as respond

        headers = dict(self.headers)
        if body is not None:
            headers |= {"content-type": FORM, "sec-fetch-site": "same-origin"}
        event = http_event(method, path, query, body=body, headers=headers)
        status: int = respond.lambda_handler(event, LambdaContext())["statusCode"]
        return status

    def tap(self, path: str, score: int | str) -> int:
        """Open the score link, then let the page confirm it (what a tap in a mail app does)."""
        opened = self.call("GET", path, {"score": str(score)})
        if opened != 200:
            return opened
        return self.call("POST", path, body=urlencode({"score": str(score)}))

    def comment(self, path: str, text: str, score: int | None = None, answers: dict[str, str] | None = None) -> int:
        """Send the page's form: the comment, the score it showed, and the follow-up answers chosen."""
        fields = {"comment": text} | ({} if score is None else {"score": str(score)}) | (answers or {})
        return self.call("POST", f"{path}/comment", body=urlencode(fields))


def at(moment: datetime) -> None:
    """Set the respond function's clock (the demo plays delivery and opening at their own times)."""
    from functions.respond import handler as respond

    respond.service().clock = lambda: moment


@contextlib.contextmanager
def respond_clock() -> Iterator[None]:
    """Give the respond function's clock back as it was (what :func:`at` set inside is undone)."""
    from functions.respond import handler as respond

    service = respond.service()
    saved = service.clock
    try:
        yield
    finally:
        service.clock = saved


def scan(path: str, delivered_at: datetime) -> None:
    """A mail scanner at delivery: every score link and the hidden preview link, then each page's script."""
    at(delivered_at + timedelta(seconds=3))
    scanner = Browser("en-US", SCANNER)
    for value in range(11):
        scanner.call("GET", path, {"score": str(value)})
    scanner.call("GET", f"{path}/p")
    for value in range(11):
        scanner.call("POST", path, body=urlencode({"score": str(value)}))


def run_campaign(
    stack: LocalStack, rng: random.Random, links: list[SentLink], now: datetime | None = None
) -> Counter[str]:
    """Tap the links people received (captured from SES and SNS) through the respond function, with
    mail scanners in front of some recipients; returns HTTP outcome counts.

    The messages count as delivered at ``now`` (default: the current UTC time) and are opened from
    :data:`OPENED_AFTER` later, one a second: a campaign started late in the UTC evening answers on the
    next day, possibly in the next month or quarter."""
    from nps.links.tokens import Purpose, sign

    outcomes: Counter[str] = Counter()
    delivered_at = now or datetime.now(UTC)
    opened_at = delivered_at + OPENED_AFTER
    with respond_clock():
        for index, link in enumerate(links):
            plan, locale = link.plan, link.locale
            path = urlsplit(link.score_page).path
            expired = index % 40 == 7  # a few people open the link after the survey closed
            if expired:  # the same invite's link as it would be after its expiry
                path = f"/r/{sign(stack.keyring, Purpose.RESPOND, link.invite_id, int(opened_at.timestamp()) - 60)}"
            if link.channel == "email" and not expired and rng.random() < SCANNED_SHARE:
                scan(path, delivered_at)
                outcomes["scanned by mail security"] += 1
            at(opened_at + timedelta(seconds=index))
            person = Browser(locale)
            if index % 40 == 13:  # a link mangled by a mail client or a curious person
                outcomes[f"tampered link → {person.tap(path[:-3] + 'AAA', 9)}"] += 1
                continue
            if rng.random() >= RESPONSE_RATE:
                continue
            score = rng.choices(range(11), weights=SCORE_WEIGHTS[plan])[0]
            status = person.tap(path, score)
            outcomes[f"{'expired link' if expired else 'tap'} → {status}"] += 1
            if status != 200:
                continue
            if index % 50 == 3:
                outcomes[f"out-of-range score → {person.tap(path, 11)}"] += 1
            if rng.random() < CHANGED_MIND:
                score = min(10, max(0, score + rng.choice((-3, -2, 2, 3))))
                outcomes[f"changed score → {person.tap(path, score)}"] += 1
            if rng.random() < FOLLOW_UP_RATE:
                answers = answers_for(score, rng)
                text = comment_for(score, rng, locale) if rng.random() < COMMENT_SHARE or not answers else ""
                what = "comment and answers" if text and answers else "comment" if text else "answers only"
                outcomes[f"{what} → {person.comment(path, text, score, answers)}"] += 1
    return outcomes


def score_stream(stack: LocalStack) -> tuple[int, int]:
    """Run the responses stream's new records through the score function; returns (batches, records).

    Each call continues where the stack's reader stopped, as the function's event source mapping does."""
    from functions.score import handler as score

    batches = stack.stream_reader("responses").read_batches()
    for event in batches:
        result = score.lambda_handler(event, LambdaContext())
        if result.get("batchItemFailures"):
            raise RuntimeError(f"stream records failed: {result['batchItemFailures']}")
    return len(batches), sum(len(b["Records"]) for b in batches)


def _answer_quarter(item: dict[str, Any]) -> str | None:
    """The quarter a stored response counts in (that of its first answer; the aggregates' period)."""
    from nps.kernel.periods import Granularity, parse_timestamp, period_key

    first = item.get("first_answered_at", {}).get("S")
    return period_key(Granularity.QUARTER, parse_timestamp(first)) if first else None


def recount(stack: LocalStack, quarter: str | None = None) -> dict[str, Counter[str]]:
    """Category counts per slice straight from the responses table (the check on the aggregates); with
    ``quarter`` (``2026-Q4``), only of the answers first given in that quarter."""
    from nps.kernel import aws

    slices: dict[str, Counter[str]] = {}
    paginator = aws.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=stack.tables["responses"]):
        for item in page["Items"]:
            if "score" not in item or not item.get("counted", {}).get("BOOL", True):
                continue
            if quarter is not None and _answer_quarter(item) != quarter:
                continue
            value = int(item["score"]["N"])
            category = "promoters" if value >= 9 else "passives" if value >= 7 else "detractors"
            labels = ["*", f"plan={item['segments']['M']['plan']['S']}", f"channel={item['channel']['S']}"]
            for label in labels:
                slices.setdefault(label, Counter())[category] += 1
    return slices


def answer_quarters(stack: LocalStack) -> list[str]:
    """The quarters of the counted answers in the responses table, in order. The campaign answers about
    an hour after the demo starts: started on a quarter's last evening (UTC), it answers in two."""
    from nps.kernel import aws

    found = {
        quarter
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=stack.tables["responses"])
        for item in page["Items"]
        if "score" in item and item.get("counted", {}).get("BOOL", True)
        for quarter in [_answer_quarter(item)]
        if quarter is not None
    }
    return sorted(found)


def check_aggregates(stack: LocalStack, survey_id: str = SURVEY_ID) -> tuple[list[SliceReport], list[str]]:
    """The quarterly aggregates of every quarter the answers fall in (overall, per plan and per channel)
    against a direct recount of the responses table; returns (the rows checked, the mismatches)."""
    from nps.kernel.periods import Granularity
    from nps.reporting.figures import slice_report
    from nps.scoring.adapters.aggregates import DynamoAggregateStore
    from nps.scoring.aggregation import ALL

    store = DynamoAggregateStore(stack.tables["aggregates"])
    checked: list[SliceReport] = []
    mismatches: list[str] = []
    for quarter in answer_quarters(stack):
        slices = [(ALL, ALL, "all responses"), *((f"plan={plan}", ALL, f"plan={plan}") for plan in PLANS)]
        slices += [(ALL, channel, f"channel={channel}") for channel in ("email", "sms", "web")]
        rows = [
            slice_report(store, survey_id, Granularity.QUARTER, quarter, segment, channel, label)
            for segment, channel, label in slices
        ]
        expected = recount(stack, quarter)
        for row in rows:
            key = "*" if row.label == "all responses" else row.label
            want = expected.get(key, Counter())
            got = {
                "promoters": row.counts.promoters,
                "passives": row.counts.passives,
                "detractors": row.counts.detractors,
            }
            if got != {k: want.get(k, 0) for k in got}:
                mismatches.append(f"{quarter} {row.label}: aggregates {got} ≠ recount {dict(want)}")
        checked += rows
    return checked, mismatches


def _resurvey_tap(path: str, score: int, moment: datetime) -> int:
    """A re-surveyed contact taps a score in the new invite at ``moment``."""
    with respond_clock():
        at(moment)
        return Browser("en-US").tap(path, score)


def main(now: datetime | None = None) -> int:
    """Run the whole demo; its exit status (1 when a figure differs from its recount).

    ``now`` is the UTC time the demo starts at (default: the current time). Every part takes its clock
    from it rather than from the machine's, as one run started at that time would: the wave is sent
    at ``now``, the campaign answers from :data:`OPENED_AFTER` later (after about 23:00 UTC on the next
    day, possibly in the next month, quarter or year), the web prompt is answered at ``now``, and the
    follow-ups, the history, the reports and the contact's erasure all count from ``now``."""
    start = now or datetime.now(UTC)
    prepare_process_environment()
    _quiet_functions()
    from moto import mock_aws

    from local.moto_memory import transaction_backups_released
    from local.step_functions import MOTO_CONFIG
    from nps.kernel import aws

    rng = random.Random(SEED)
    with mock_aws(config=MOTO_CONFIG), transaction_backups_released():
        aws.reset_clients()
        stack = create_stack("nps-demo")
        print(f"NPS platform demo — survey {SURVEY_ID!r}, {CONTACTS} contacts on moto\n")
        print("Sending: survey definition, contacts CSV, one scheduled wave through SES and SNS")
        sending = run_sending(stack, CONTACTS, rng, EMAILS_FOLDER, DEMO_DEFINITION, accounts=True, now=start)
        print()
        # The functions' JSON logs and metrics go to stdout in Lambda; here they would bury the report.
        with contextlib.redirect_stdout(io.StringIO()):
            outcomes = run_campaign(stack, rng, sending.links, start)
        print("Link taps through the respond function (outcome → HTTP status):")
        for label, count in sorted(outcomes.items()):
            print(f"  {label:<28} {count:>5}")
        from local.demo_web import run_web

        with contextlib.redirect_stdout(io.StringIO()):
            web_outcomes = run_web(stack, rng, DEMO_DEFINITION, PLANS, SCORE_WEIGHTS, comment_for, start)
        print("In-app prompt through the web function (outcome → HTTP status):")
        for label, count in sorted(web_outcomes.items()):
            print(f"  {label:<28} {count:>5}")
        with contextlib.redirect_stdout(io.StringIO()):
            batches, records = score_stream(stack)
        print(f"\nScored {records} stream records in {batches} batches.\n")

        # The quarters of the answers, not of "now": started on a quarter's last evening, the campaign
        # answers in the next quarter (the aggregates' period of an answer is that of its first answer).
        quarters = answer_quarters(stack)
        rows, mismatches = check_aggregates(stack)
        detractors_now = recount(stack).get("*", Counter())["detractors"]
        automated = sum(
            1
            for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=stack.tables["responses"])
            for item in page["Items"]
            if "automated_clicks" in item
        )
        print(f"Invites whose automated clicks were held back (never counted): {automated}")
        with contextlib.redirect_stdout(io.StringIO()):
            loop = run_loop(stack, rng, detractors_now, _resurvey_tap, lambda: score_stream(stack), start)
        print("\nClosing the loop (follow-up workflows):")
        for line in loop.lines:
            print(f"  {line}")
        mismatches += loop.mismatches
        if mismatches:
            print("\nMISMATCH between aggregates and the responses table:", *mismatches, sep="\n  ")
            return 1
        checked = ", ".join(dict.fromkeys(row.label for row in rows))
        print(
            f"\nCheck: the aggregates for {' and '.join(quarters)} ({checked}) equal a direct recount of the"
            " responses table."
        )
        from local import demo_contacts, demo_reporting
        from nps.cli.main import main as nps

        status = demo_reporting.run(stack, SURVEY_ID, rng, start)
        if status:
            return status
        common = ["--local", "--prefix", stack.prefix]
        return demo_contacts.run(stack, SURVEY_ID, nps, common, score_stream, start)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """``python -m local.demo [--at TIME]``."""
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--at",
        type=utc_time,
        default=None,
        metavar="TIME",
        help="start the demo at this UTC time (ISO 8601, e.g. 2026-12-31T23:50:00Z) instead of the current one",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(parse_arguments().at))
