"""The sending side of invite items: plan, claim, mark sent (with ``invites_sent``), fail, remind, bounce.

Status moves only forward, each step a conditional write:

* ``queued`` (planned, one per contact per wave: ``attribute_not_exists``) → ``sending`` (claimed by
  one deliver invocation) → ``sent`` / ``failed`` / ``skipped``; ``sent`` → ``bounced``.
* ``sending`` → ``sent`` is one transaction with the ``invites_sent`` counters, the contact's
  ``last_surveyed_at`` and the reminder item, so a send is counted exactly once and a redelivered
  message, finding the invite no longer ``queued``, sends nothing.

A claim that is never completed (the function died mid-send) leaves the invite ``sending``: it is not
retried, because the email may have left. At most once beats twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nps import aws
from nps.aggregation import ALL, segment_label
from nps.dal.contacts import contact_key
from nps.periods import iso_timestamp, parse_timestamp, period_keys
from nps.planning import PlannedInvite
from nps.routing import is_resurvey_wave

INVITES_SENT = "invites_sent"
_PARALLEL_WRITES = 16
_NAMES = {"#status": "status"}


@dataclass(frozen=True, slots=True)
class InviteRecord:
    """An invite item as the sending side sees it."""

    invite_id: str
    survey_id: str
    wave_id: str
    contact_id: str
    audience: str
    channel: str
    locale: str
    status: str
    send_after: str
    expires_at: int
    segments: dict[str, str] = field(default_factory=dict)
    sent_at: str | None = None
    reminder_status: str | None = None
    failure_reason: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> InviteRecord:
        def text(name: str) -> str | None:
            value = item.get(name, {}).get("S")
            return str(value) if value else None

        return cls(
            invite_id=item["invite_id"]["S"],
            survey_id=item["survey_id"]["S"],
            wave_id=item["wave_id"]["S"],
            contact_id=item["contact_id"]["S"],
            audience=text("audience") or "default",
            channel=item["channel"]["S"],
            locale=text("locale") or "en",
            status=text("status") or "sent",
            send_after=text("send_after") or "",
            expires_at=int(item.get("expires_at", {}).get("N", "0")),
            segments={k: v["S"] for k, v in item.get("segments", {}).get("M", {}).items()},
            sent_at=text("sent_at"),
            reminder_status=text("reminder_status"),
            failure_reason=text("failure_reason"),
        )


def invites_sent_keys(
    survey_id: str, sent_at: datetime, segments: dict[str, str], channel: str
) -> list[tuple[str, str]]:
    """``(pk, period)`` of every aggregate item an invite sent at ``sent_at`` counts in.

    The same key scheme as responses (:class:`nps.aggregation.AggregateKey`): segments one dimension at a
    time plus ``*``, the channel plus ``*``, every granularity by the UTC send time.
    """
    labels = [ALL, *(segment_label(d, v) for d, v in sorted(segments.items()))]
    keys = []
    for granularity, period in period_keys(sent_at).items():
        for segment in labels:
            for channel_value in (ALL, channel):
                keys.append((f"{survey_id}#{granularity.value}#{segment}#{channel_value}", period))
    return keys


class DynamoInviteLifecycle:
    def __init__(self, invites_table: str, aggregates_table: str, contacts_table: str) -> None:
        self.invites_table = invites_table
        self.aggregates_table = aggregates_table
        self.contacts_table = contacts_table

    # -- planning -----------------------------------------------------------------------------------
    def record_planned(
        self, planned: Sequence[PlannedInvite], planned_expiry: int, ttl: int, now: datetime
    ) -> list[tuple[PlannedInvite, bool, bool]]:
        """Write each planned invite unless it exists; ``(invite, created, still queued)`` for each.

        ``still queued`` is True for a new invite and for one an earlier run recorded but did not send
        (so a replayed wave enqueues it again and the deliver claim keeps it to one send).
        """
        now_iso = iso_timestamp(now)

        def write(invite: PlannedInvite) -> tuple[PlannedInvite, bool, bool]:
            item = {
                "invite_id": {"S": invite.invite_id},
                "survey_id": {"S": invite.survey_id},
                "wave_id": {"S": invite.wave_id},
                "contact_id": {"S": invite.contact_id},
                "audience": {"S": invite.audience},
                "channel": {"S": invite.channel},
                "locale": {"S": invite.locale},
                "segments": {"M": {k: {"S": v} for k, v in invite.segments.items()}},
                "status": {"S": "queued"},
                "send_after": {"S": iso_timestamp(invite.send_after)},
                "planned_at": {"S": now_iso},
                "expires_at": {"N": str(planned_expiry)},
                "expires_at_ttl": {"N": str(ttl)},
            }
            try:
                aws.client("dynamodb").put_item(
                    TableName=self.invites_table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(invite_id)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except Exception as error:
                if not aws.conditional_check_failed(error):
                    raise
                old = getattr(error, "response", {}).get("Item") or {}
                return invite, False, old.get("status", {}).get("S") == "queued"
            return invite, True, True

        if len(planned) <= 1:
            return [write(invite) for invite in planned]
        with ThreadPoolExecutor(max_workers=_PARALLEL_WRITES) as pool:
            return list(pool.map(write, planned))

    # -- reading ------------------------------------------------------------------------------------
    def get(self, invite_id: str) -> InviteRecord | None:
        item = aws.client("dynamodb").get_item(
            TableName=self.invites_table, Key={"invite_id": {"S": invite_id}}, ConsistentRead=True
        )
        return InviteRecord.from_item(item["Item"]) if "Item" in item else None

    # -- sending ------------------------------------------------------------------------------------
    def _transition(self, invite_id: str, expected: str, new: str, extra: dict[str, str] | None = None) -> bool:
        names = dict(_NAMES)
        values: dict[str, Any] = {":expected": {"S": expected}, ":new": {"S": new}}
        sets = ["#status = :new"]
        for index, (name, value) in enumerate((extra or {}).items()):
            names[f"#f{index}"] = name
            values[f":f{index}"] = {"S": value}
            sets.append(f"#f{index} = :f{index}")
        return aws.conditional_write(
            "update_item",
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="#status = :expected",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def claim(self, invite_id: str, now: datetime) -> bool:
        """queued → sending; False when another delivery got there first (or it is no longer queued)."""
        return self._transition(invite_id, "queued", "sending", {"claimed_at": iso_timestamp(now)})

    def release(self, invite_id: str, reason: str) -> bool:
        """sending → queued after a retryable failure, so the next delivery attempt may send."""
        return self._transition(invite_id, "sending", "queued", {"last_error": reason})

    def mark_failed(self, invite_id: str, reason: str, now: datetime, expected: str = "sending") -> bool:
        return self._transition(
            invite_id, expected, "failed", {"failure_reason": reason, "failed_at": iso_timestamp(now)}
        )

    def mark_skipped(self, invite_id: str, reason: str, now: datetime) -> bool:
        return self._transition(
            invite_id, "queued", "skipped", {"skip_reason": reason, "skipped_at": iso_timestamp(now)}
        )

    def mark_sent(
        self,
        invite: InviteRecord,
        sent_at: datetime,
        expires_at: int,
        ttl: int,
        message_id: str,
        reminder: dict[str, Any] | None,
    ) -> None:
        """sending → sent, ``invites_sent`` +1 on every aggregate key (not for re-surveys), the contact's
        ``last_surveyed_at``, and the reminder item, in one transaction (raises if not ``sending``)."""
        sent_iso = iso_timestamp(sent_at)
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.invites_table,
                    "Key": {"invite_id": {"S": invite.invite_id}},
                    "UpdateExpression": (
                        "SET #status = :sent, sent_at = :at, expires_at = :expires, "
                        "expires_at_ttl = :ttl, message_id = :message"
                    ),
                    "ConditionExpression": "#status = :sending",
                    "ExpressionAttributeNames": dict(_NAMES),
                    "ExpressionAttributeValues": {
                        ":sent": {"S": "sent"},
                        ":sending": {"S": "sending"},
                        ":at": {"S": sent_iso},
                        ":expires": {"N": str(expires_at)},
                        ":ttl": {"N": str(ttl)},
                        ":message": {"S": message_id},
                    },
                }
            },
            {
                "Update": {
                    "TableName": self.contacts_table,
                    "Key": contact_key(invite.audience, invite.contact_id),
                    "UpdateExpression": "SET last_surveyed_at = :at",
                    "ConditionExpression": "attribute_exists(contact_id)",
                    "ExpressionAttributeValues": {":at": {"S": sent_iso}},
                }
            },
        ]
        counted_keys = (
            []
            if is_resurvey_wave(invite.wave_id)
            else invites_sent_keys(invite.survey_id, sent_at, invite.segments, invite.channel)
        )
        for pk, period in counted_keys:
            survey_id, granularity, segment, channel = pk.split("#")
            actions.append(
                {
                    "Update": {
                        "TableName": self.aggregates_table,
                        "Key": {"pk": {"S": pk}, "period": {"S": period}},
                        "UpdateExpression": (
                            "ADD invites_sent :one SET survey_id = :survey, granularity = :granularity, "
                            "#segment = :segment, #channel = :channel, updated_at = :at"
                        ),
                        "ExpressionAttributeNames": {"#segment": "segment", "#channel": "channel"},
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":survey": {"S": survey_id},
                            ":granularity": {"S": granularity},
                            ":segment": {"S": segment},
                            ":channel": {"S": channel},
                            ":at": {"S": sent_iso},
                        },
                    }
                }
            )
        if reminder is not None:
            actions.append(reminder)
        aws.client("dynamodb").transact_write_items(TransactItems=actions)

    # -- reminders ----------------------------------------------------------------------------------
    def claim_reminder(self, invite_id: str, now: datetime) -> bool:
        """Claim the one reminder of a sent invite (never for bounced, failed or already reminded)."""
        return aws.conditional_write(
            "update_item",
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="SET reminder_status = :sending, reminder_claimed_at = :now",
            ConditionExpression="#status = :sent AND attribute_not_exists(reminder_status)",
            ExpressionAttributeNames=dict(_NAMES),
            ExpressionAttributeValues={
                ":sending": {"S": "sending"},
                ":sent": {"S": "sent"},
                ":now": {"S": iso_timestamp(now)},
            },
        )

    def finish_reminder(self, invite_id: str, outcome: str, now: datetime) -> None:
        """Record the reminder's outcome: ``sent`` (with ``reminder_sent_at``) or why it was not sent."""
        expression = "SET reminder_status = :outcome"
        values: dict[str, Any] = {":outcome": {"S": outcome}}
        if outcome == "sent":
            expression += ", reminder_sent_at = :now"
            values[":now"] = {"S": iso_timestamp(now)}
        aws.client("dynamodb").update_item(
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )

    def release_reminder(self, invite_id: str) -> None:
        aws.client("dynamodb").update_item(
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="REMOVE reminder_status",
        )

    # -- bounces ------------------------------------------------------------------------------------
    def mark_bounced(self, invite_id: str, bounce_type: str, now: datetime) -> bool:
        """Mark a sent invite bounced (False when the invite is unknown)."""
        return aws.conditional_write(
            "update_item",
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="SET #status = :bounced, bounce_type = :type, bounced_at = :now",
            ConditionExpression="attribute_exists(invite_id)",
            ExpressionAttributeNames=dict(_NAMES),
            ExpressionAttributeValues={
                ":bounced": {"S": "bounced"},
                ":type": {"S": bounce_type},
                ":now": {"S": iso_timestamp(now)},
            },
        )


def send_after_of(record: InviteRecord) -> datetime | None:
    return parse_timestamp(record.send_after) if record.send_after else None
