"""The demo's checks hold whatever the UTC time it starts at: late in the evening, on a month's or a
quarter's last evening, and in a month's first minutes.

The demo's campaign answers about an hour after it starts, so a demo started after about 23:00 UTC answers
on the next UTC day (on a month's or quarter's last day, in the next month or quarter). Each case runs the
demo's own path with the clock pinned (``run_sending(now=...)``, ``run_campaign(now=...)``, the history
and the report window of ``local.demo_reporting``) on a small campaign, then the demo's own checks: the
quarterly aggregates against a recount, the report window against the answers played, the driver,
account and referral reports against their recounts. The whole demo (``main(now)``: its web prompt,
follow-ups, reports, referrals, churn, digest and the contact's erasure too) runs once, small, on a year's
last evening; at full size it takes over a minute, too long to run per clock.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local import demo, demo_accounts, demo_outcomes, demo_reporting
from local.demo_reasons import check_drivers
from local.environment import LocalStack
from tests.reliability.test_privacy import _clear_function_state
from tests.support.demo_runs import run_demo

#: A small campaign: enough answers for every check to count something, fast enough to run per clock.
CONTACTS = 6
#: Demo start times (UTC) whose answers cross a day, month, quarter or year boundary, or just follow one.
CLOCKS = {
    "ordinary-evening": datetime(2026, 6, 17, 23, 50, tzinfo=UTC),
    "month-end-evening": datetime(2026, 4, 30, 23, 50, tzinfo=UTC),
    "quarter-and-year-end-evening": datetime(2026, 12, 31, 23, 50, tzinfo=UTC),
    "month-and-quarter-start-minutes": datetime(2026, 7, 1, 0, 5, tzinfo=UTC),
}


@dataclass
class Campaign:
    stack: LocalStack
    now: datetime
    rng: random.Random


@pytest.fixture(params=list(CLOCKS.values()), ids=list(CLOCKS))
def campaign(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Campaign]:
    """The demo's sending and campaign with its clock at the case's time, the answers scored."""
    from moto import mock_aws

    from local.demo_sending import run_sending
    from local.environment import create_stack, prepare_process_environment
    from local.step_functions import MOTO_CONFIG
    from nps.kernel import aws

    now: datetime = request.param
    saved = dict(os.environ)
    monkeypatch.setattr(demo_reporting, "HISTORY_INVITES_PER_DAY", 3)
    prepare_process_environment()
    demo._quiet_functions()
    _clear_function_state()
    rng = random.Random(demo.SEED)
    try:
        with mock_aws(config=MOTO_CONFIG), contextlib.redirect_stdout(io.StringIO()):
            aws.reset_clients()
            stack = create_stack("nps-clock")
            sending = run_sending(stack, CONTACTS, rng, tmp_path / "emails", demo.DEMO_DEFINITION, True, now)
            demo.run_campaign(stack, rng, sending.links, now)
            demo.score_stream(stack)
            yield Campaign(stack, now, rng)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _clear_function_state()


def _scan(stack: LocalStack) -> list[dict[str, Any]]:
    from nps.kernel import aws

    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=stack.tables["responses"])
    return [item for page in pages for item in page["Items"]]


def _answer_days(stack: LocalStack) -> set[date]:
    """The UTC days of the survey's counted answers (a follow-up's re-survey is not in the aggregates)."""
    from nps.events.patterns import is_resurvey_wave
    from nps.kernel.periods import parse_timestamp

    return {
        parse_timestamp(item["first_answered_at"]["S"]).date()
        for item in _scan(stack)
        if "score" in item
        and item.get("counted", {}).get("BOOL", True)
        and item.get("survey_id", {}).get("S") == demo.SURVEY_ID
        and not is_resurvey_wave(item["wave_id"]["S"])
    }


def _add_resurvey_answer(stack: LocalStack, at: datetime) -> None:
    """A follow-up's re-survey answered at ``at``: not in the aggregates, left out of every recount."""
    from nps.events.patterns import RESURVEY_WAVE_PREFIX
    from nps.kernel import aws
    from nps.kernel.periods import iso_timestamp

    aws.client("dynamodb").put_item(
        TableName=stack.tables["responses"],
        Item={
            "invite_id": {"S": "resurvey-invite"},
            "survey_id": {"S": demo.SURVEY_ID},
            "wave_id": {"S": f"{RESURVEY_WAVE_PREFIX}detractor-1"},
            "contact_id": {"S": "contact-00001"},
            "channel": {"S": "email"},
            "score": {"N": "9"},
            "first_answered_at": {"S": iso_timestamp(at)},
            "answered_at": {"S": iso_timestamp(at)},
        },
    )


# One test per clock (the campaign's setup is the cost; each step below builds on the one before).
def test_the_demos_checks_hold_at_the_clock_it_starts_at(campaign: Campaign) -> None:
    from nps.kernel.periods import Granularity, period_key

    stack, now = campaign.stack, campaign.now
    # Given the campaign played at the pinned time (not the machine's): about an hour later, in the
    # evening cases on the next UTC day, which is what those cases are about
    days = _answer_days(stack)
    opened = (now + demo.OPENED_AFTER).date()
    assert days
    assert days <= {opened, opened + timedelta(days=1)}
    if now.hour == 23:
        assert min(days) > now.date()

    # When the demo checks the quarterly aggregates against a recount of the responses table
    rows, mismatches = demo.check_aggregates(stack)
    # Then they agree, in the answers' quarter (the next one when started on a quarter's last evening)
    assert mismatches == []
    assert demo.answer_quarters(stack) == [period_key(Granularity.QUARTER, now + demo.OPENED_AFTER)]
    everything = next(row for row in rows if row.label == "all responses")
    assert everything.counts.n == sum(demo.recount(stack)["*"].values()) > 0

    # Given the history months added before the campaign's month, as the demo adds them
    with contextlib.redirect_stdout(io.StringIO()):
        demo_reporting.add_history(stack, demo.SURVEY_ID, now, campaign.rng)
    # When the demo chooses its report window
    first, last = demo_reporting.report_window(stack, demo.SURVEY_ID, now)
    # Then it starts on the first day of the earliest history month and holds every answer played,
    # the campaign's next-day (next month's, next quarter's) ones included
    assert first.day == 1
    assert (now.year * 12 + now.month) - (first.year * 12 + first.month) == demo_reporting.HISTORY_MONTHS
    days = _answer_days(stack)
    assert first <= min(days)
    assert max(days) <= last, f"answers on {max(days)} are outside the report window {first}…{last}"
    # And the driver and account reports of that window equal the demo's recounts of the stored answers
    assert check_drivers(stack, demo.SURVEY_ID, first, last) == []
    assert demo_accounts.check(stack, demo.SURVEY_ID, first, last) == []
    # And the referral KPIs of that window count the join of a contact never asked, made on the demo's
    # clock (in the window), not on the machine's
    with contextlib.redirect_stdout(io.StringIO()):
        assert demo_outcomes.referrals(stack, demo.SURVEY_ID, campaign.rng, first, last, now) == []

    # When a follow-up's re-survey is answered 20 days later (the follow-ups' resurvey_after_days)
    _add_resurvey_answer(stack, now + timedelta(days=20))
    # Then the report window still ends on the campaign's last answer, not in a later month
    assert demo_reporting.report_window(stack, demo.SURVEY_ID, now) == (first, last)


@dataclass
class DemoRun:
    now: datetime
    status: int
    stdout: str
    #: At the run's last step, inside the mock: the DynamoDB tables moto's registry held, and the live ones.
    registered_tables: int = 0
    live_tables: int = 0


#: The whole demo is run at the hardest of the clocks only (it costs about as much as the four cases above).
WHOLE_DEMO_CLOCK = CLOCKS["quarter-and-year-end-evening"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The whole demo (``main``) started at :data:`WHOLE_DEMO_CLOCK`, on a small campaign and history."""
    from local import demo_contacts, demo_web
    from local.moto_memory import live_tables, registered_tables

    folder = tmp_path_factory.mktemp("whole-demo")
    moto_tables: list[int] = []
    contacts_step = demo_contacts.run

    def last_step(*args: Any, **kwargs: Any) -> int:
        status = contacts_step(*args, **kwargs)
        moto_tables.extend((registered_tables(), live_tables()))
        return status

    patch = pytest.MonkeyPatch()
    patch.setattr(demo, "CONTACTS", CONTACTS)
    patch.setattr(demo, "EMAILS_FOLDER", folder / "emails")
    patch.setattr(demo_reporting, "HISTORY_INVITES_PER_DAY", 3)
    patch.setattr(demo_web, "SITE_USERS", 6)
    patch.setattr(demo_contacts, "run", last_step)
    status, stdout = run_demo(folder, patch, lambda: demo.main(WHOLE_DEMO_CLOCK))
    return DemoRun(WHOLE_DEMO_CLOCK, status, stdout, *moto_tables)


def test_the_whole_demo_runs_on_the_clock_it_is_started_at(demo_run: DemoRun) -> None:
    # Given the whole demo started on a year's last evening (UTC): the web prompt, the follow-ups, the
    # reports, the referrals, the churn, the digest and the contact's erasure on the demo's clock too
    text = demo_run.stdout
    # Then every check of the demo passed
    assert demo_run.status == 0, text[-3000:]
    assert "MISMATCH" not in text
    # And the web prompt answered that evening (2026-Q4), the campaign an hour later (2027-Q1), not at the
    # machine's time
    assert "Check: the aggregates for 2026-Q4 and 2027-Q1 (" in text
    # And the report runs from the first history month to the campaign's day in the next year
    assert "(onboarding-q4), 2026-09-01 – 2027-01-01" in text
    assert "Check: asks, clicks and joins, and churn by last category, equal a direct recount" in text
    # And the erased contact's answer is checked in the quarter it was given in
    assert re.search(r"Check: no table or import report holds contact-\d+ any more, and the 2027-Q1 email", text)


def test_the_whole_demo_leaves_no_table_backup_in_moto(demo_run: DemoRun) -> None:
    # Given the whole demo, whose score function commits answers in transactions of up to 100 aggregate
    # updates (moto backs up the whole table once per item of a transaction, to roll back a cancellation)
    assert demo_run.status == 0, demo_run.stdout[-3000:]
    # Then at its last step moto's registry held no more tables than the live ones: no backup was kept
    # (before, one per transaction item: hundreds on this small run, tens of thousands at 400 contacts)
    assert demo_run.live_tables > 0
    assert demo_run.registered_tables <= demo_run.live_tables
