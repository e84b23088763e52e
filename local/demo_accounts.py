"""The accounts part of ``make demo``: ``nps accounts`` on the campaign, checked against a recount.

The campaign's contacts were imported with accounts, roles and revenue (``local.demo_sending``); every
answer of an account's contact was counted by the score function in the account's month and quarter. This
step prints the account table through the ``nps`` CLI and checks each account's latest quarter (answers per
category, the decision makers' detractors, invites sent) and the revenue-weighted NPS against a direct
recount of the responses and invites tables.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from local.environment import LocalStack
from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.accounts.health import revenue_weighted
from nps.events.patterns import is_resurvey_wave
from nps.kernel import aws
from nps.kernel.categories import categorize
from nps.kernel.periods import parse_timestamp
from nps.kernel.statistics import CategoryCounts
from nps.reporting.accounts import accounts_report
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.ranges import DateRange


def _scan(table: str) -> list[dict[str, Any]]:
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def _within(text: str, first: date, last: date) -> bool:
    return first <= parse_timestamp(text).date() <= last


def recount(stack: LocalStack, survey_id: str, first: date, last: date) -> dict[str, Counter[str]]:
    """Per account: its counted answers first given from ``first`` to ``last`` (UTC days) by category, its
    decision makers' detractors, and its invites sent in those days (a follow-up's re-survey is not a wave)."""
    out: dict[str, Counter[str]] = {}
    for item in _scan(stack.tables["responses"]):
        if item.get("survey_id", {}).get("S") != survey_id or "account_id" not in item or "score" not in item:
            continue
        if not _within(item["first_answered_at"]["S"], first, last) or is_resurvey_wave(item["wave_id"]["S"]):
            continue  # (a follow-up's re-survey answer is its follow-up's, not in the aggregates)
        if not item.get("counted", {}).get("BOOL", True) or item.get("in_headline", {}).get("BOOL") is False:
            continue
        category = categorize(int(item["score"]["N"])).value
        counts = out.setdefault(item["account_id"]["S"], Counter())
        counts[f"{category}s"] += 1
        if item.get("role", {}).get("S") == "decision_maker" and category == "detractor":
            counts["dm_detractors"] += 1
    for item in _scan(stack.tables["invites"]):
        account = item.get("account", {}).get("M", {}).get("account_id", {}).get("S")
        if not account or "sent_at" not in item or item.get("survey_id", {}).get("S") != survey_id:
            continue
        if is_resurvey_wave(item["wave_id"]["S"]) or not _within(item["sent_at"]["S"], first, last):
            continue
        out.setdefault(account, Counter())["invites_sent"] += 1
    return out


def check(stack: LocalStack, survey_id: str, first: date, last: date) -> list[str]:
    """Mismatches between the account report of ``first``…``last`` (by quarter) and a recount (none: [])."""
    report = accounts_report(
        DynamoAggregateReader(stack.tables["aggregates"]),
        DynamoAccountProfiles(stack.tables["accounts"]),
        survey_id,
        DateRange(first, last),
    )
    # An account's figures are its months' or quarters' (a partial period counts whole, as in every report).
    expected = recount(stack, survey_id, report.periods[0].first, report.periods[-1].last)
    weighted = revenue_weighted(
        [
            (CategoryCounts(c["promoters"], c["passives"], c["detractors"]), a.revenue)
            for a in report.accounts
            for c in [expected.get(a.account_id, Counter())]
        ]
    )
    mismatches = []
    if weighted.nps != report.weighted.nps:
        mismatches.append(f"revenue-weighted NPS: report {report.weighted.nps} ≠ recount {weighted.nps}")
    for account in report.accounts:
        total = account.total
        got = Counter(
            promoters=total.promoters,
            passives=total.passives,
            detractors=total.detractors,
            dm_detractors=sum(p.decision_makers.detractors for p in account.periods),
            invites_sent=sum(p.invites_sent for p in account.periods),
        )
        want = expected.pop(account.account_id, Counter())
        if +got != +want:
            mismatches.append(f"account {account.account_id}: report {dict(+got)} ≠ recount {dict(+want)}")
    mismatches += [f"account {account}: in the recount, not in the report" for account in expected]
    return mismatches
