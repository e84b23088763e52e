"""What happened after the survey, in ``make demo``: referral clicks and joins, then churn.

The promoters' thank-you emails (``local.demo_follow_ups``) carry signed referral and review links
(``/g/<token>``). Some promoters follow them through the real ``referral`` function and some of those join
the referral program (``Referral Joined`` on the bus, consumed by ``referral_joins``), with a repeated join
and a join of a contact who was never asked. Then the billing system reports churned customers
(``Customer Churned``: more detractors than promoters, as in life; one whole account; a repeat; a contact
never surveyed), recorded by the ``churn`` function. ``nps referrals`` and ``nps churn`` print the KPIs, and
each is checked against a direct recount of what the demo did and of the responses table.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from local.churn import emit_churn_events, run_churn_queue
from local.demo_sending import captured_emails
from local.environment import LocalStack
from nps.accounts.adapters.churn import DynamoChurnReader
from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.accounts.adapters.referrals import DynamoReferralLedger
from nps.events.patterns import is_resurvey_wave
from nps.kernel import aws
from nps.kernel.categories import Category, categorize
from nps.kernel.periods import Granularity, parse_timestamp
from nps.links.tokens import Purpose, verify
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.churn import churn_report
from nps.reporting.ranges import DateRange
from nps.reporting.referrals import referrals_report

REDIRECT = re.compile(r"/g/([A-Za-z0-9_.~-]+)")
#: Promoters asked who follow the referral link, and of those who join the program.
CLICK_SHARE = 0.45
JOIN_SHARE = 0.5
#: The chance that a contact churns within the month, by the category of their answer.
CHURN_CHANCE = {Category.DETRACTOR: 0.3, Category.PASSIVE: 0.12, Category.PROMOTER: 0.04}

Nps = Callable[..., int]


def _scan(table: str) -> list[dict[str, Any]]:
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def _asks(stack: LocalStack) -> dict[str, str]:
    """The referral link of every invite asked by a promoter thank-you email (invite id → token)."""
    out: dict[str, str] = {}
    for email in captured_emails():
        for token in REDIRECT.findall(email.text):
            claims = verify(stack.keyring, token, Purpose.REDIRECT, 0).claims
            if claims is not None and claims.target == "referral":
                out.setdefault(claims.invite_id, token)
    return out


def _responses(stack: LocalStack, survey_id: str) -> dict[str, dict[str, Any]]:
    return {
        item["invite_id"]["S"]: item
        for item in _scan(stack.tables["responses"])
        if item.get("survey_id", {}).get("S") == survey_id
    }


def _counted(item: dict[str, Any]) -> bool:
    """An answer the aggregates count: scored, counted, in the headline, not a follow-up's re-survey."""
    return (
        "score" in item
        and item.get("counted", {}).get("BOOL", True)
        and item.get("in_headline", {}).get("BOOL") is not False
        and not is_resurvey_wave(item["wave_id"]["S"])
    )


def _within(item: dict[str, Any], first: date, last: date) -> bool:
    return first <= parse_timestamp(item["first_answered_at"]["S"]).date() <= last


def referrals(
    stack: LocalStack, survey_id: str, rng: random.Random, first: date, last: date, joined_at: datetime | None = None
) -> list[str]:
    """Promoters click and join at ``joined_at`` (default: the current UTC time), which must fall in
    ``first``…``last`` as the demo's clock does (a join without an ask counts in its own month); the KPIs
    are checked against what was done. Returns the mismatches."""
    from local import referrals as referral_links  # imported when used: it loads the referral functions

    joined_at = joined_at or datetime.now(UTC)

    asks = _asks(stack)
    responses = _responses(stack, survey_id)
    clicked: set[str] = set()
    joined: set[str] = set()
    with referral_links.clicks_at(joined_at):  # the promoters click then too
        for invite_id, token in sorted(asks.items()):
            if rng.random() >= CLICK_SHARE:
                continue
            if referral_links.click(token)["statusCode"] == 303:
                clicked.add(invite_id)
            if rng.random() < JOIN_SHARE:
                contact_id = responses[invite_id]["contact_id"]["S"]
                referral_links.emit_join(stack, contact_id, joined_at, referral_id=f"join-{invite_id}")
                joined.add(invite_id)
    if joined:  # the referral program sends one join twice
        repeated = sorted(joined)[0]
        referral_links.emit_join(stack, responses[repeated]["contact_id"]["S"], joined_at, f"join-{repeated}")
    referral_links.emit_join(stack, "never-asked-contact", joined_at, "join-stranger")
    referral_links.drain_joins(stack)
    # Recount: asks, clicks and joins of promoters whose answer is in the report's periods.
    report = referrals_report(
        DynamoAggregateReader(stack.tables["aggregates"]),
        DynamoAccountProfiles(stack.tables["accounts"]),
        DynamoReferralLedger(stack.tables["accounts"]),
        survey_id,
        DateRange(first, last),
        Granularity.MONTH,
    )
    in_range = {i for i in asks if i in responses and _within(responses[i], first, last)}
    expected = Counter(asked=len(in_range), clicked=len(clicked & in_range), joined=len(joined & in_range))
    total = report.kpis.total.counts
    got = Counter(asked=total.asked, clicked=total.clicked, joined=total.joined)
    mismatches = [] if +got == +expected else [f"referrals: report {dict(+got)} ≠ recount {dict(+expected)}"]
    if report.kpis.joined_unasked != 1:
        mismatches.append(f"joins without an ask: report {report.kpis.joined_unasked} ≠ 1")
    return mismatches


def churn(
    stack: LocalStack,
    survey_id: str,
    rng: random.Random,
    first: date,
    churned_at: datetime,
    received_at: datetime | None = None,
) -> list[str]:
    """Customers churn at ``churned_at`` (more detractors than promoters), reported to the churn function at
    ``received_at`` (default: the current UTC time); the churn table is checked against a recount of each
    churned contact's last counted answer before the churn (by the time of its latest score). Returns the
    mismatches."""
    # The history's answers were written without invites (local.reporting_data): only the campaign's
    # contacts have invites a churn can find them by.
    sent = {item["invite_id"]["S"] for item in _scan(stack.tables["invites"]) if "sent_at" in item}
    latest: dict[str, dict[str, Any]] = {}
    for item in _responses(stack, survey_id).values():
        if not _counted(item) or parse_timestamp(item["answered_at"]["S"]) > churned_at:
            continue
        if item["invite_id"]["S"] not in sent:
            continue
        contact = item["contact_id"]["S"]
        if contact not in latest or item["answered_at"]["S"] > latest[contact]["answered_at"]["S"]:
            latest[contact] = item
    leaving = [c for c in sorted(latest) if rng.random() < CHURN_CHANCE[categorize(int(latest[c]["score"]["N"]))]]
    details: list[dict[str, Any]] = [
        {"schema_version": "1.0", "churn_id": f"billing-{c}", "contact_id": c, "churned_at": churned_at.isoformat()}
        for c in leaving
    ]
    if leaving:  # billing reports one churn twice
        details.append(dict(details[0]))
    details.append({"schema_version": "1.0", "contact_id": "never-surveyed", "churned_at": churned_at.isoformat()})
    # And one whole account (recorded against the mean score of its latest quarter with answers).
    accounts = sorted({item["account_id"]["S"] for item in latest.values() if "account_id" in item})
    if accounts:
        details.append({"schema_version": "1.0", "account_id": accounts[0], "churned_at": churned_at.isoformat()})
    emit_churn_events(stack, details)
    refused = run_churn_queue(stack, now=received_at)
    last = churned_at.date()
    report = churn_report(
        DynamoAggregateReader(stack.tables["aggregates"]),
        DynamoChurnReader(stack.tables["accounts"]),
        survey_id,
        DateRange(first, last),
        Granularity.QUARTER,
    )
    figures = report.figures
    expected = Counter(
        f"{categorize(int(latest[c]['score']['N'])).value}s" for c in leaving if _within(latest[c], first, last)
    )
    got = Counter({f"{rate.category.value}s": rate.churned for rate in figures.total})
    mismatches = [] if +got == +expected else [f"churn: report {dict(+got)} ≠ recount {dict(+expected)}"]
    if refused:
        mismatches.append(f"churn: {len(refused)} events refused")
    if sum(figures.accounts.values()) != (1 if accounts else 0):
        mismatches.append(f"accounts churned: report {dict(figures.accounts)} ≠ {1 if accounts else 0}")
    if figures.unmatched != 1:
        mismatches.append(f"churned without an answer: report {figures.unmatched} ≠ 1")
    return mismatches


def run(
    stack: LocalStack,
    survey_id: str,
    rng: random.Random,
    nps: Nps,
    common: list[str],
    window: list[str],
    now: datetime | None = None,
) -> int:
    """Referrals (joins at ``now``, default the current UTC time) then churn (a day later), each printed
    through the ``nps`` CLI and checked; 0, or 1 on a mismatch. The demo's clock, not the wall clock at
    each step: a step reached after midnight would otherwise stamp its events outside ``window``."""
    now = now or datetime.now(UTC)
    first, last = date.fromisoformat(window[1]), date.fromisoformat(window[3])
    print("\nPromoters follow their referral links; some join the referral program (one join arrives twice,")
    print("one from a contact never asked):\n")
    with contextlib.redirect_stdout(io.StringIO()):  # the functions' own logs
        mismatches = referrals(stack, survey_id, rng, first, last, now)
    status = nps([*common, "referrals", survey_id, *window], in_process=True)
    if status:
        return status
    print("\nBilling reports churned customers a day later (one twice, one never surveyed):\n")
    churned_at = now + timedelta(hours=23)  # after the campaign's answers, within a day
    with contextlib.redirect_stdout(io.StringIO()):
        mismatches += churn(stack, survey_id, rng, first, churned_at, now)
    until = ["--from", window[1], "--to", churned_at.date().isoformat()]
    status = nps([*common, "churn", survey_id, *until, "--granularity", "quarter"], in_process=True)
    if status:
        return status
    if mismatches:
        print("\nMISMATCH between the referral or churn figures and a recount:", *mismatches, sep="\n  ")
        return 1
    print("\nCheck: asks, clicks and joins, and churn by last category, equal a direct recount of what")
    print("happened and of the responses table.")
    return 0
