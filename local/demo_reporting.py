"""The reporting part of ``make demo``: response rate, history, the terminal report and the HTML report.

After the campaign, the invites are counted as the sending side counts them (``invites_sent`` on the
aggregates), three earlier monthly waves are added as history (answers written to the responses table
and scored by the real score function, so the trend has several months), and the ``nps`` CLI runs
in-process against the demo's moto tables: ``nps report`` prints the terminal report. The history's
comments were stored before the survey had its themes, so ``nps survey retag`` tags them (scored by the
score function like any edit); ``nps drivers`` then prints the driver table, which is checked against a
recount of the stored responses (``local.demo_reasons``), and ``nps html`` writes the HTML report.
"""

from __future__ import annotations

import contextlib
import io
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from local import demo_accounts, demo_outcomes
from local.demo_reasons import check_drivers
from local.environment import LocalStack
from local.lambda_events import LambdaContext
from local.reporting_data import count_invites_sent, write_history
from nps.events.patterns import RESURVEY_WAVE_PREFIX, is_resurvey_wave

__all__ = ["add_history", "count_invites_sent", "last_answer_day", "report_window", "run", "stored_invites"]
from nps.kernel import aws
from nps.kernel.periods import parse_timestamp
from nps.responding.adapters.invites import Invite

OUTPUT = Path("demo-output")
HISTORY_MONTHS = 3
HISTORY_INVITES_PER_DAY = 60


def last_answer_day(stack: LocalStack, survey_id: str) -> date:
    """The UTC day of the survey's latest first answer that the aggregates count (``date.min`` when none).

    A follow-up's re-survey answer (weeks after the campaign) is left out: it is not in the aggregates,
    and every recount leaves it out too, so it must not stretch the report into a later month."""
    days = [
        parse_timestamp(item["first_answered_at"]["S"]).date()
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=stack.tables["responses"])
        for item in page["Items"]
        if item.get("survey_id", {}).get("S") == survey_id
        and "first_answered_at" in item
        and not is_resurvey_wave(item.get("wave_id", {}).get("S", ""))
    ]
    return max(days, default=date.min)


def report_window(stack: LocalStack, survey_id: str, now: datetime) -> tuple[date, date]:
    """The demo's report range in UTC days: from the first day of the earliest history month (the
    :data:`HISTORY_MONTHS` months before ``now``'s) to the day of the campaign's last answer, or
    ``now``'s day if that is later.

    The campaign plays its answers about an hour after ``now``: after 22:00 UTC some fall on the next
    UTC day (on a month's or quarter's last day, in the next month or quarter), which the reports and
    their recounts must both cover."""
    year, month = divmod(now.year * 12 + now.month - 1 - HISTORY_MONTHS, 12)
    first = date(year, month + 1, 1)
    return first, max(now.astimezone(UTC).date(), last_answer_day(stack, survey_id))


def stored_invites(table_name: str) -> list[Invite]:
    invites: list[Invite] = []
    for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=table_name):
        for item in page["Items"]:
            if "sent_at" not in item or item["wave_id"]["S"].startswith(RESURVEY_WAVE_PREFIX):
                continue  # planned but not (yet) sent, or a follow-up's re-survey (not in the aggregates)
            if item.get("channel", {}).get("S") == "web":
                continue  # a web prompt is counted in invites_sent by the transaction that showed it
            invites.append(
                Invite(
                    invite_id=item["invite_id"]["S"],
                    survey_id=item["survey_id"]["S"],
                    wave_id=item["wave_id"]["S"],
                    contact_id=item["contact_id"]["S"],
                    channel=item["channel"]["S"],
                    locale=item.get("locale", {}).get("S", "en"),
                    expires_at=int(item["expires_at"]["N"]),
                    sent_at=item["sent_at"]["S"],
                    segments={k: v["S"] for k, v in item.get("segments", {}).get("M", {}).items()},
                )
            )
    return invites


#: The history's records are scored in big batches (moto's transactions are slow).
HISTORY_BATCH = 1000


def _score(stack: LocalStack) -> int:
    """Score the responses stream's new records (from where the stack's reader stopped)."""
    from functions.score import handler as score

    records = 0
    for event in stack.stream_reader("responses").read_batches(HISTORY_BATCH):
        result: dict[str, Any] = score.lambda_handler(event, LambdaContext())
        if result.get("batchItemFailures"):
            raise RuntimeError(f"stream records failed: {result['batchItemFailures']}")
        records += len(event["Records"])
    return records


def add_history(stack: LocalStack, survey_id: str, now: datetime, rng: random.Random) -> tuple[int, int]:
    """Earlier monthly waves (answered over their first two days); returns (invites, responses)."""
    invites: list[Invite] = []
    responses = 0
    for months_back in range(HISTORY_MONTHS, 0, -1):
        year, month = divmod(now.year * 12 + now.month - 1 - months_back, 12)
        part = write_history(
            stack.tables["responses"],
            survey_id,
            end=datetime(year, month + 1, 2, tzinfo=UTC),  # a wave sent on the 1st, answered by the 2nd
            days=2,
            invites_per_day=HISTORY_INVITES_PER_DAY,
            rng=rng,
            plans=("starter", "enterprise"),
            regions=("emea", "amer"),
            drift=-1.5 + months_back,
            prefix=f"m{months_back}",
        )
        invites += part.invites
        responses += len(part.responses)
    _score(stack)  # from where the campaign's scoring left off
    count_invites_sent(stack.tables["aggregates"], invites)
    return len(invites), responses


def retag_history(stack: LocalStack, survey_id: str, common: list[str]) -> int:
    """``nps survey retag``: the history's comments get the survey's themes; the stream is scored after."""
    from nps.cli.main import main as nps

    print("\nThe history's comments were stored before the survey had themes: `nps survey retag` tags them.")
    status = nps([*common, "survey", "retag", survey_id], in_process=True)
    if status:
        return status
    with contextlib.redirect_stdout(io.StringIO()):
        _score(stack)  # from where the history's scoring left off
    return 0


def run(stack: LocalStack, survey_id: str, rng: random.Random, now: datetime | None = None) -> int:
    """Count invites, add history, then print the terminal report and write the HTML report."""
    from nps.cli.main import main as nps

    now = now or datetime.now(UTC)
    count_invites_sent(stack.tables["aggregates"], stored_invites(stack.tables["invites"]))
    history_invites, history_responses = add_history(stack, survey_id, now, rng)
    print(
        f"\nHistory: {HISTORY_MONTHS} earlier monthly waves, {history_invites} invites and"
        f" {history_responses} answers, scored by the score function.\n"
    )
    first, last = report_window(stack, survey_id, now)
    common = ["--local", "--prefix", stack.prefix]
    window = ["--from", first.isoformat(), "--to", last.isoformat()]
    # No --granularity: both reports take the step chosen from the range and the responses per period.
    status = nps([*common, "report", survey_id, *window], in_process=True)
    if status:
        return status
    status = retag_history(stack, survey_id, common)
    if status:
        return status
    print()
    status = nps([*common, "drivers", survey_id, *window], in_process=True)
    if status:
        return status
    mismatches = check_drivers(stack, survey_id, first, last)
    if mismatches:
        print("\nMISMATCH between the driver table and the responses table:", *mismatches, sep="\n  ")
        return 1
    print("\nCheck: every driver and theme row, CSAT and CES equal a direct recount of the stored responses.")
    print()
    status = nps([*common, "accounts", survey_id, *window, "--limit", "12"], in_process=True)
    if status:
        return status
    mismatches = demo_accounts.check(stack, survey_id, first, last)
    if mismatches:
        print("\nMISMATCH between the account table and the stored responses:", *mismatches, sep="\n  ")
        return 1
    print("\nCheck: every account's answers, decision makers' detractors, invites and the revenue-weighted NPS")
    print("equal a direct recount of the responses and invites tables.")
    status = demo_outcomes.run(stack, survey_id, rng, nps, common, window, now)
    if status:
        return status
    OUTPUT.mkdir(exist_ok=True)
    out = OUTPUT / f"{survey_id}-report.html"
    status = nps([*common, "html", survey_id, *window, "--out", str(out)], in_process=True)
    if status:
        return status
    from local import demo_digest

    return demo_digest.run(stack, survey_id, OUTPUT, now)
