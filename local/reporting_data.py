"""Report data for the demo and the tests: invite counters as the sender keeps them, and dated history.

``count_invites_sent`` does what the sending side does when it sends an invite: ``ADD invites_sent :n``
on every aggregate key of the invite (survey × granularity × period × segment × channel, the same keys
a response uses). ``write_history`` stores answered responses with first-answer times spread over past
days (straight into the responses table, as the respond function would have stored them), so the
stream scorer builds real aggregates across many periods.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from nps.kernel import aws
from nps.kernel.categories import categorize
from nps.kernel.periods import iso_timestamp, parse_timestamp, period_keys
from nps.kernel.tables import survey_shard
from nps.responding.adapters.invites import Invite
from nps.scoring.aggregation import ALL, CATEGORY_COUNTERS, AggregateKey, segment_label


def invite_keys(survey_id: str, segments: dict[str, str], channel: str, at: datetime) -> list[AggregateKey]:
    """Every aggregate key an invite sent at ``at`` counts towards."""
    labels = [ALL, *(segment_label(d, v) for d, v in sorted(segments.items()))]
    return [
        AggregateKey(survey_id, granularity, period, label, channel_value)
        for granularity, period in period_keys(at).items()
        for label in labels
        for channel_value in (ALL, channel)
    ]


def count_invites_sent(table_name: str, invites: Iterable[Invite]) -> int:
    """Add each invite to ``invites_sent`` on its keys (one update per key); returns the updates made."""
    totals: Counter[AggregateKey] = Counter()
    for invite in invites:
        for key in invite_keys(invite.survey_id, invite.segments, invite.channel, parse_timestamp(invite.sent_at)):
            totals[key] += 1
    client = aws.client("dynamodb")
    for key, count in totals.items():
        client.update_item(
            TableName=table_name,
            Key={"pk": {"S": key.pk}, "period": {"S": key.period}},
            UpdateExpression=(
                "ADD invites_sent :n SET survey_id = :survey, granularity = :granularity, "
                "#segment = :segment, channel = :channel"
            ),
            ExpressionAttributeNames={"#segment": "segment"},
            ExpressionAttributeValues={
                ":n": {"N": str(count)},
                ":survey": {"S": key.survey_id},
                ":granularity": {"S": key.granularity.value},
                ":segment": {"S": key.segment},
                ":channel": {"S": key.channel},
            },
        )
    return len(totals)


@dataclass
class History:
    """What :func:`write_history` stored, for checks."""

    invites: list[Invite] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)


PLAN_WEIGHTS = {
    "starter": [3, 2, 3, 4, 5, 7, 9, 15, 17, 17, 18],
    "team": [2, 1, 2, 3, 4, 6, 8, 15, 18, 20, 21],
    "enterprise": [1, 1, 1, 2, 3, 5, 7, 14, 20, 22, 24],
}
#: Comments by the category of the score that comes with them, taken in turn (so the first detractor
#: comment is the one that looks like a formula, and the export's defusing always has one to show).
COMMENTS = {
    "detractor": (
        '=HYPERLINK("http://example.invalid") looks like a formula',
        "Setup took longer than promised",
        "Pricing is hard to understand <please> fix & simplify",
        "الإعداد استغرق وقتًا أطول من الموعود",
    ),
    "passive": (
        "Missing an integration with our CRM",
        "Fine overall, the export could be simpler",
    ),
    "promoter": (
        "Great support team, answered within the hour",
        "The reports are exactly what our board needs",
    ),
}


def write_history(
    table_name: str,
    survey_id: str,
    *,
    end: datetime,
    days: int,
    invites_per_day: int,
    rng: random.Random,
    response_rate: float = 0.6,
    plans: tuple[str, ...] = ("starter", "team", "enterprise"),
    regions: tuple[str, ...] = ("emea", "amer", "apac"),
    drift: float = 0.0,
    prefix: str = "hist",
    reasons: bool = False,
) -> History:
    """Invites over ``days`` days ending at ``end`` and the answers to about ``response_rate`` of them.

    ``drift`` shifts scores up (positive) or down over the period, so trends have something to show.
    With ``reasons``, answers also carry a driver, CSAT and CES (most of them) and commented ones a
    theme or two, drawn from their own generator so the rest of the history is the same either way.
    """
    history = History()
    reasons_rng = random.Random(prefix) if reasons else None
    client = aws.client("dynamodb")
    start = end - timedelta(days=days - 1)
    index = 0
    written: Counter[tuple[str, ...]] = Counter()
    for day in range(days):
        for _ in range(invites_per_day):
            index += 1
            sent = (start + timedelta(days=day)).replace(hour=9, minute=0, second=0, microsecond=0)
            plan = rng.choice(plans)
            channel = "sms" if rng.random() < 0.2 else "email"
            invite = Invite(
                invite_id=f"{prefix}-{index:06d}",
                survey_id=survey_id,
                wave_id=f"{prefix}-wave-{sent:%Y%m}",
                contact_id=f"{prefix}-contact-{index:06d}",
                channel=channel,
                locale=rng.choice(("en", "en", "es", "de")),
                expires_at=int((sent + timedelta(days=30)).timestamp()),
                sent_at=iso_timestamp(sent),
                segments={"plan": plan, "region": rng.choice(regions)},
            )
            history.invites.append(invite)
            if rng.random() >= response_rate:
                continue
            score = rng.choices(range(11), weights=PLAN_WEIGHTS.get(plan, PLAN_WEIGHTS["team"]))[0]
            shift = round(drift * (day / max(1, days - 1)) + rng.uniform(-0.5, 0.5))
            score = min(10, max(0, score + shift))
            # Answers come in over the following hours; late ones land on the next day.
            answered = sent + timedelta(minutes=rng.randint(5, 60 * 20))
            item: dict[str, Any] = {
                "invite_id": {"S": invite.invite_id},
                "survey_id": {"S": survey_id},
                "survey_shard": {"S": survey_shard(survey_id, invite.invite_id)},
                "wave_id": {"S": invite.wave_id},
                "contact_id": {"S": invite.contact_id},
                "channel": {"S": channel},
                "locale": {"S": invite.locale},
                "segments": {"M": {k: {"S": v} for k, v in invite.segments.items()}},
                "score": {"N": str(score)},
                "category": {"S": categorize(score).value},
                "version": {"N": "1"},
                "first_answered_at": {"S": iso_timestamp(answered)},
                "answered_at": {"S": iso_timestamp(answered)},
                "source": {"S": "link"},
            }
            if rng.random() < 0.3:
                choices = COMMENTS[categorize(score).value]
                item["comment"] = {"S": choices[written[choices] % len(choices)]}
                written[choices] += 1
                item["comment_at"] = {"S": iso_timestamp(answered + timedelta(minutes=1))}
            if reasons_rng is not None:
                item.update(reason_answers(reasons_rng, score, "comment" in item))
            client.put_item(TableName=table_name, Item=item)
            history.responses.append(item)
    return history


#: Drivers and themes of the synthetic answers, weighted by category (detractors mention price and bugs most).
DRIVERS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "detractor": (("price", "support", "features"), (6, 3, 1)),
    "passive": (("price", "support", "features"), (3, 3, 3)),
    "promoter": (("price", "support", "features"), (1, 4, 5)),
}
THEMES: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "detractor": (("bugs", "speed", "onboarding"), (5, 3, 1)),
    "passive": (("bugs", "speed", "onboarding"), (2, 3, 2)),
    "promoter": (("bugs", "speed", "onboarding"), (1, 2, 4)),
}


def reason_answers(rng: random.Random, score: int, commented: bool) -> dict[str, Any]:
    """The driver, CSAT, CES and themes attributes of one synthetic answer (each sometimes left out)."""
    category = categorize(score).value
    item: dict[str, Any] = {}
    if rng.random() < 0.8:
        names, weights = DRIVERS[category]
        item["driver"] = {"S": rng.choices(names, weights=weights)[0]}
    if rng.random() < 0.7:
        item["csat"] = {"N": str(min(5, max(1, round(score / 2.5) + rng.randint(-1, 1))))}
    if rng.random() < 0.6:
        item["ces"] = {"N": str(min(7, max(1, round(score * 0.6) + rng.randint(-1, 1))))}
    if commented:
        names, weights = THEMES[category]
        themes = sorted(set(rng.choices(names, weights=weights, k=rng.randint(1, 2))))
        item["themes"] = {"L": [{"S": theme} for theme in themes]}
    return item


def utc_midnight(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def synthetic_aggregates(
    survey_id: str,
    first: date,
    last: date,
    *,
    seed: int,
    dimensions: dict[str, tuple[str, ...]] | None = None,
    channels: tuple[str, ...] = ("email", "sms"),
    responses_per_day: int = 12,
) -> dict[tuple[str, str], dict[str, int]]:
    """Aggregate counters as the scorer and sender would leave them, without going through them.

    Each day gets ``responses_per_day`` answers (and about 1.7× as many invites), each with one value
    per dimension and a channel; every answer is added to every key it belongs to, exactly as
    :func:`nps.scoring.aggregation.aggregate_keys` expands a response. Returns ``{(pk, period): counters}``.
    """
    rng = random.Random(seed)
    dimensions = dimensions if dimensions is not None else {"plan": ("starter", "team", "enterprise")}
    items: dict[tuple[str, str], dict[str, int]] = {}
    day = first
    while day <= last:
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        keys_of_day = period_keys(at)
        for answered in range(round(responses_per_day * 1.7)):
            segments = {d: rng.choice(values) for d, values in dimensions.items()}
            channel = rng.choice(channels)
            counters: dict[str, int] = {"invites_sent": 1}
            if answered < responses_per_day:
                weights = PLAN_WEIGHTS[rng.choice(("starter", "team", "enterprise"))]
                score = rng.choices(range(11), weights=weights)[0]
                counters[CATEGORY_COUNTERS[categorize(score)]] = 1
                counters[f"score_{score}"] = 1
            labels = [ALL, *(segment_label(d, v) for d, v in segments.items())]
            for granularity, period in keys_of_day.items():
                for label in labels:
                    for channel_value in (ALL, channel):
                        key = AggregateKey(survey_id, granularity, period, label, channel_value)
                        bucket = items.setdefault((key.pk, period), {})
                        for name, value in counters.items():
                            bucket[name] = bucket.get(name, 0) + value
        day += timedelta(days=1)
    return items


def aggregate_item(pk: str, period: str, counters: dict[str, int]) -> dict[str, Any]:
    """A DynamoDB item for :func:`synthetic_aggregates` output (with the descriptors the index needs)."""
    survey_id, granularity, segment, channel = pk.split("#")
    return {
        "pk": {"S": pk},
        "period": {"S": period},
        "survey_id": {"S": survey_id},
        "granularity": {"S": granularity},
        "segment": {"S": segment},
        "channel": {"S": channel},
        **{name: {"N": str(value)} for name, value in counters.items()},
    }


def put_aggregates(table_name: str, items: dict[tuple[str, str], dict[str, int]]) -> int:
    """Write synthetic aggregate items with batch writes; returns how many were written."""
    client = aws.client("dynamodb")
    requests = [{"PutRequest": {"Item": aggregate_item(pk, period, c)}} for (pk, period), c in items.items()]
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table_name: requests[start : start + 25]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(requests)
