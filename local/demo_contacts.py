"""The contact part of ``make demo``: one contact's timeline, its erasure, and the proof (docs/privacy.md).

Prints the timeline of a contact who answered by email (``nps contact show``), erases the contact through
the erase_contact function (as ``POST /contacts/{id}/erasure`` does), scores the responses stream's
removals, then checks that no table and no import report holds anything of the contact and that the
survey's quarter aggregates (email channel, every segment) equal a recount of the remaining responses,
before and after. Exit status 1 on any difference.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.events.patterns import is_resurvey_wave
from nps.kernel import aws
from nps.kernel.categories import categorize
from nps.kernel.periods import Granularity, parse_timestamp, period_key
from nps.scoring.aggregation import ALL, AggregateKey

CHANNEL = "email"
_COUNTS = ("promoters", "passives", "detractors")


def _scan(table: str) -> list[dict[str, Any]]:
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def pick_contact(stack: LocalStack, survey_id: str) -> tuple[str, str] | None:
    """A contact who answered ``survey_id`` by email (the first by id) and the quarter of the answer."""
    answered = sorted(
        (item["contact_id"]["S"], item["first_answered_at"]["S"])
        for item in _scan(stack.tables["responses"])
        if item.get("survey_id", {}).get("S") == survey_id
        and item.get("channel", {}).get("S") == CHANNEL
        and "score" in item
        and "contact_id" in item
        and "first_answered_at" in item
        and not is_resurvey_wave(item.get("wave_id", {}).get("S", ""))
    )
    if not answered:
        return None
    contact_id, first = answered[0]
    return contact_id, period_key(Granularity.QUARTER, parse_timestamp(first))


def recount(stack: LocalStack, survey_id: str, quarter: str, contact_id: str | None = None) -> dict[str, int]:
    """Counted email answers of ``survey_id`` first given in ``quarter``, by category (from the responses);
    with ``contact_id``, that contact's only."""
    counts: Counter[str] = Counter()
    for item in _scan(stack.tables["responses"]):
        if item.get("survey_id", {}).get("S") != survey_id or item.get("channel", {}).get("S") != CHANNEL:
            continue
        if contact_id is not None and item.get("contact_id", {}).get("S") != contact_id:
            continue
        if "score" not in item or item.get("counted", {}).get("BOOL") is False or "first_answered_at" not in item:
            continue
        if is_resurvey_wave(item.get("wave_id", {}).get("S", "")):
            continue
        if period_key(Granularity.QUARTER, parse_timestamp(item["first_answered_at"]["S"])) != quarter:
            continue
        counts[f"{categorize(int(item['score']['N'])).value}s"] += 1
    return {name: counts[name] for name in _COUNTS}


def aggregates(stack: LocalStack, survey_id: str, quarter: str) -> dict[str, int]:
    key = AggregateKey(survey_id, Granularity.QUARTER, quarter, ALL, CHANNEL)
    item = (
        aws.client("dynamodb")
        .get_item(TableName=stack.tables["aggregates"], Key={"pk": {"S": key.pk}, "period": {"S": key.period}})
        .get("Item", {})
    )
    return {name: int(item.get(name, {}).get("N", "0")) for name in _COUNTS}


def holding(stack: LocalStack, contact_id: str) -> list[str]:
    """Every item (and import report row) that still holds ``contact_id``: its own value in any attribute, or
    a key naming it (``contact#<id>``). A scan: the demo's check, not how the product finds a contact."""

    def mentions(value: Any) -> bool:
        if isinstance(value, dict):
            return any(mentions(v) for v in value.values())
        if isinstance(value, list):
            return any(mentions(v) for v in value)
        return value in (contact_id, f"contact#{contact_id}")

    found = [
        f"{logical}: {json.dumps({k: v for k, v in item.items() if k in ('invite_id', 'pk', 'sk', 'audience')})}"
        for logical, table in sorted(stack.tables.items())
        for item in _scan(table)
        if mentions(item)
    ]
    if stack.sending is not None:
        s3 = aws.client("s3")
        listing = s3.list_objects_v2(Bucket=stack.sending.import_bucket, Prefix="reports/")
        for entry in listing.get("Contents", []):
            text = s3.get_object(Bucket=stack.sending.import_bucket, Key=entry["Key"])["Body"].read().decode()
            rows = [line.split(",") for line in text.splitlines()]
            found += [f"{entry['Key']}: line {row[0]}" for row in rows if len(row) > 1 and row[1] == contact_id]
    return found


def erase(contact_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Erase through the erase_contact function (its respond fence is real seconds in AWS; no tap races here),
    at ``now`` (default: the current UTC time)."""
    from functions.erase_contact import handler

    handler.service.cache_clear()
    handler.service().sleep = lambda seconds: None
    if now is not None:
        handler.service().clock = lambda: now
    event = http_event("POST", f"/contacts/{contact_id}/erasure")
    event["pathParameters"] = {"contact_id": contact_id}
    with contextlib.redirect_stdout(io.StringIO()):
        result = handler.lambda_handler(event, LambdaContext("erase_contact"))
    handler.service.cache_clear()
    body: dict[str, Any] = json.loads(result["body"])
    if result["statusCode"] != 200:
        raise RuntimeError(f"the erasure answered {result['statusCode']}: {body}")
    return body


def run(
    stack: LocalStack,
    survey_id: str,
    nps: Callable[..., int],
    common: list[str],
    score_stream: Callable[[LocalStack], tuple[int, int]],
    now: datetime | None = None,
) -> int:
    """Show, erase (at ``now``, default the current UTC time) and check one contact; 0 when every store and
    the aggregates agree, else 1."""
    picked = pick_contact(stack, survey_id)
    if picked is None:
        print("\nNo contact answered by email: nothing to erase.")
        return 1
    contact_id, quarter = picked
    print(f"\nOne contact's timeline (nps contact show {contact_id}):")
    status = nps([*common, "contact", "show", contact_id, "--limit", "5"], in_process=True)
    if status:
        return status
    mismatches: list[str] = []
    before = aggregates(stack, survey_id, quarter)
    if before != recount(stack, survey_id, quarter):
        mismatches.append(f"before: aggregates {before} ≠ recount {recount(stack, survey_id, quarter)}")
    # What the contact's answers add to the slice: a re-survey's answer, or one outside the NPS, adds nothing.
    own = sum(recount(stack, survey_id, quarter, contact_id).values())
    erased = erase(contact_id, now)
    with contextlib.redirect_stdout(io.StringIO()):
        score_stream(stack)
    print(f"\nErased contact {contact_id} (POST /contacts/{contact_id}/erasure):")
    for name, count in erased["counts"].items():
        print(f"  {name:<20} {count:>4}")
    after = aggregates(stack, survey_id, quarter)
    expected = recount(stack, survey_id, quarter)
    if after != expected:
        mismatches.append(f"after: aggregates {after} ≠ recount {expected}")
    if sum(after.values()) != sum(before.values()) - own:
        mismatches.append(f"after: {sum(after.values())} answers, expected {sum(before.values())} less {own} erased")
    mismatches += [f"still holds {contact_id}: {where}" for where in holding(stack, contact_id)]
    if mismatches:
        print("\nMISMATCH after the erasure:", *mismatches, sep="\n  ")
        return 1
    print(
        f"\nCheck: no table or import report holds {contact_id} any more, and the {quarter} email aggregates"
        f" ({after}) equal a recount of the remaining responses."
    )
    return 0
