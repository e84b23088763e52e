"""The sending side of invite items: plan, claim, mark sent (with ``invites_sent``), fail, remind, bounce.

Status moves only forward, each step a conditional write:

* ``queued`` (planned, one per contact per wave: ``attribute_not_exists``) → ``sending`` (claimed by
  one deliver invocation right before the send call) → ``sent`` / ``failed`` / ``unknown``;
  ``queued`` → ``skipped`` / ``failed``; ``sent`` → ``bounced``.
* ``sending`` → ``sent`` is one transaction with the ``invites_sent`` counters, the contact's
  ``last_surveyed_at`` and the reminder item, so a send is counted exactly once and a redelivered
  message, finding the invite no longer ``queued``, sends nothing.
* ``unknown``: the send call went out and no verdict came back (a timeout), or the claim was left behind
  (the function died mid-send: the sweep finds it). The message may have reached the person, so it is
  never sent again by itself; an operator resolves it (``nps invites resolve``) as ``sent``, ``failed``
  or back to ``queued``. At most once beats twice.
* The one reminder of a sent invite has its own ``reminder_status``: ``sending`` → ``sent`` /
  ``failed`` / ``skipped_<reason>`` / ``unknown``.

While a send (invite or reminder) is in flight or unknown, ``delivery_state`` (``sending`` /
``unknown``), ``delivery_state_at`` and ``delivery_kind`` (``invite`` / ``reminder``) put the invite in
the sparse :data:`nps.kernel.tables.INVITES_IN_FLIGHT` index; every way out of those states removes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nps.accounts.membership import ACCOUNT_GRANULARITIES, Membership, account_label
from nps.events.patterns import is_resurvey_wave
from nps.kernel import aws
from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.periods import iso_timestamp, parse_timestamp, period_keys
from nps.kernel.tables import INVITES_IN_FLIGHT
from nps.scoring.aggregation import ALL, AggregateKey, segment_label
from nps.sending.adapters.contacts import contact_key, last_invite_attribute

if TYPE_CHECKING:
    from nps.sending.planning import PlannedInvite

INVITES_SENT = "invites_sent"
_PARALLEL_WRITES = 16
_NAMES = {"#status": "status"}
#: ``delivery_state`` values: a claimed send not yet recorded, and a send whose outcome is unknown.
IN_FLIGHT = "sending"
UNKNOWN = "unknown"
_OUT_OF_FLIGHT = "REMOVE delivery_state, delivery_state_at, delivery_kind"


class ContactGone(LookupError):
    """The contact of an invite being claimed no longer exists (it was erased): nothing may be sent."""


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
    #: When the current (or last) send of the invite was claimed (ISO-8601 UTC).
    claimed_at: str | None = None
    #: Why the invite's (or its reminder's) fate is unknown, e.g. ``ses: ReadTimeoutError``.
    unknown_reason: str | None = None
    #: The SES/SNS message id of the send, once known.
    message_id: str | None = None
    #: What the invite's pages show of the survey, copied when it was planned (neutral on older invites).
    page: PageBrand = NEUTRAL_BRAND
    #: The contact's account when the invite was planned (None: no account, or an older invite).
    account: Membership | None = None

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
            claimed_at=text("claimed_at"),
            unknown_reason=text("unknown_reason"),
            message_id=text("message_id"),
            page=PageBrand.from_item(item.get("page")),
            account=Membership.from_attribute(item.get("account")),
        )


@dataclass(frozen=True, slots=True)
class InFlightInvite:
    """An invite in the in-flight index: its send claimed and not yet recorded, or its fate unknown."""

    invite_id: str
    survey_id: str
    wave_id: str
    channel: str
    #: ``invite`` or ``reminder``: which of the invite's sends is in flight or unknown.
    kind: str
    #: ``sending`` or ``unknown`` (:data:`IN_FLIGHT`, :data:`UNKNOWN`).
    state: str
    #: When it entered that state (ISO-8601 UTC): the claim, or the moment it was found unknown.
    since: str
    status: str
    reminder_status: str | None = None
    unknown_reason: str | None = None

    @property
    def current(self) -> bool:
        """Whether the send is still in the state the index says (a bounce may have moved the invite on)."""
        return (self.reminder_status if self.kind == "reminder" else self.status) == self.state

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> InFlightInvite:
        def text(name: str) -> str | None:
            value = item.get(name, {}).get("S")
            return str(value) if value else None

        return cls(
            invite_id=item["invite_id"]["S"],
            survey_id=text("survey_id") or "",
            wave_id=text("wave_id") or "",
            channel=text("channel") or "",
            kind=text("delivery_kind") or "invite",
            state=item["delivery_state"]["S"],
            since=item["delivery_state_at"]["S"],
            status=text("status") or "",
            reminder_status=text("reminder_status"),
            unknown_reason=text("unknown_reason"),
        )


def invites_sent_keys(
    survey_id: str, sent_at: datetime, segments: dict[str, str], channel: str, account_id: str | None = None
) -> list[AggregateKey]:
    """Every aggregate key an invite sent at ``sent_at`` counts in.

    The same keys as responses (:class:`nps.scoring.aggregation.AggregateKey`): segments one dimension at a
    time plus ``*``, the channel plus ``*``, every granularity by the UTC send time; and, for an invite to
    a contact of an account, the account's slice (``account_id=<id>``, every channel, month and quarter:
    :data:`nps.accounts.membership.ACCOUNT_GRANULARITIES`).
    """
    labels = [ALL, *(segment_label(d, v) for d, v in sorted(segments.items()))]
    periods = period_keys(sent_at)
    keys = [
        AggregateKey(survey_id, granularity, period, segment, channel_value)
        for granularity, period in periods.items()
        for segment in labels
        for channel_value in (ALL, channel)
    ]
    if account_id is not None:
        label = account_label(account_id)
        keys.extend(
            AggregateKey(survey_id, granularity, periods[granularity], label, ALL)
            for granularity in ACCOUNT_GRANULARITIES
        )
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
                "page": invite.page.to_item(),
            }
            if invite.account is not None:
                item["account"] = invite.account.to_attribute()
            if invite.questions is not None:
                item["questions"] = invite.questions.to_attribute()
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

    def claim_mailboxes(self, planned: Sequence[PlannedInvite], ttl: int) -> set[str]:
        """Claim each invite's mailbox for its contact (one conditional put per invite with a
        ``mailbox_key``); the ids of invites whose mailbox another contact of the wave holds.

        The claim is an item of this table keyed by the mailbox key (``mbx-...``: no address, never a
        link's id), holding the contact id and the wave; it succeeds again for the same contact, so a
        replayed page keeps its invites. It expires with the wave's invites (``ttl``).
        """

        def claim(invite: PlannedInvite) -> str | None:
            if invite.mailbox_key is None:
                return None
            held = aws.conditional_write(
                "put_item",
                TableName=self.invites_table,
                Item={
                    "invite_id": {"S": invite.mailbox_key},
                    "contact_id": {"S": invite.contact_id},
                    "wave_id": {"S": invite.wave_id},
                    "expires_at_ttl": {"N": str(ttl)},
                },
                ConditionExpression="attribute_not_exists(invite_id) OR contact_id = :contact",
                ExpressionAttributeValues={":contact": {"S": invite.contact_id}},
            )
            return None if held else invite.invite_id

        if len(planned) <= 1:
            taken = [claim(invite) for invite in planned]
        else:
            with ThreadPoolExecutor(max_workers=_PARALLEL_WRITES) as pool:
                taken = list(pool.map(claim, planned))
        return {invite_id for invite_id in taken if invite_id}

    # -- reading ------------------------------------------------------------------------------------
    def get(self, invite_id: str) -> InviteRecord | None:
        item = aws.client("dynamodb").get_item(
            TableName=self.invites_table, Key={"invite_id": {"S": invite_id}}, ConsistentRead=True
        )
        return InviteRecord.from_item(item["Item"]) if "Item" in item else None

    # -- sending ------------------------------------------------------------------------------------
    def _transition(
        self,
        invite_id: str,
        expected: str,
        new: str,
        extra: dict[str, str] | None = None,
        *,
        out_of_flight: bool = False,
    ) -> bool:
        """``expected`` → ``new`` with ``extra`` string attributes set; False when the status was not
        ``expected``. ``out_of_flight`` also takes the invite out of the in-flight index."""
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
            UpdateExpression="SET " + ", ".join(sets) + (f" {_OUT_OF_FLIGHT}" if out_of_flight else ""),
            ConditionExpression="#status = :expected",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def claim(self, invite_id: str, now: datetime, expires_at: int, *, contact: tuple[str, str] | None = None) -> bool:
        """queued → sending, in the in-flight index; False when another delivery got there first (or it is
        no longer queued). ``expires_at`` (epoch seconds) is the expiry the links of this send carry.

        With ``contact`` (audience, contact id) the claim is one transaction with a check that the contact
        item still exists, and raises :class:`ContactGone` when it does not: a contact erased after the
        deliver read it is never sent to (docs/privacy.md).
        """
        now_iso = iso_timestamp(now)
        update: dict[str, Any] = {
            "TableName": self.invites_table,
            "Key": {"invite_id": {"S": invite_id}},
            "UpdateExpression": (
                "SET #status = :sending, claimed_at = :now, expires_at = :expires, "
                "delivery_state = :sending, delivery_state_at = :now, delivery_kind = :invite"
            ),
            "ConditionExpression": "#status = :queued",
            "ExpressionAttributeNames": dict(_NAMES),
            "ExpressionAttributeValues": {
                ":sending": {"S": IN_FLIGHT},
                ":queued": {"S": "queued"},
                ":now": {"S": now_iso},
                ":expires": {"N": str(expires_at)},
                ":invite": {"S": "invite"},
            },
        }
        if contact is None:
            return aws.conditional_write("update_item", **update)
        return self._claim_with_contact(update, contact)

    def _claim_with_contact(self, update: dict[str, Any], contact: tuple[str, str]) -> bool:
        check = {
            "ConditionCheck": {
                "TableName": self.contacts_table,
                "Key": contact_key(*contact),
                "ConditionExpression": "attribute_exists(contact_id)",
            }
        }
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=[{"Update": update}, check])
        except Exception as error:
            reasons = (getattr(error, "response", None) or {}).get("CancellationReasons") or []
            codes = [r.get("Code") for r in reasons]
            if len(codes) == 2 and codes[1] == "ConditionalCheckFailed":
                raise ContactGone(update["Key"]["invite_id"]["S"]) from error
            if codes[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    def discard_queued(self, invite_id: str) -> bool:
        """Delete a queued invite whose contact is gone (erased while its wave was being planned or sent):
        nothing of an erased contact lingers; False when the invite is not queued any more."""
        return aws.conditional_write(
            "delete_item",
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            ConditionExpression="#status = :queued",
            ExpressionAttributeNames=dict(_NAMES),
            ExpressionAttributeValues={":queued": {"S": "queued"}},
        )

    def release(self, invite_id: str, reason: str) -> bool:
        """sending → queued after a failure that proves nothing left, so the next delivery attempt may send."""
        return self._transition(invite_id, "sending", "queued", {"last_error": reason}, out_of_flight=True)

    def requeue(self, invite_id: str, reason: str) -> bool:
        """unknown → queued: an operator established that the message never left (the caller queues it)."""
        return self._transition(invite_id, UNKNOWN, "queued", {"last_error": reason}, out_of_flight=True)

    def mark_failed(self, invite_id: str, reason: str, now: datetime, expected: str = "sending") -> bool:
        """``expected`` (``sending``, ``queued`` or ``unknown``) → failed, with the reason; False otherwise."""
        return self._transition(
            invite_id,
            expected,
            "failed",
            {"failure_reason": reason, "failed_at": iso_timestamp(now)},
            out_of_flight=True,
        )

    def mark_skipped(self, invite_id: str, reason: str, now: datetime) -> bool:
        return self._transition(
            invite_id, "queued", "skipped", {"skip_reason": reason, "skipped_at": iso_timestamp(now)}
        )

    def mark_unknown(
        self,
        invite_id: str,
        reason: str,
        now: datetime,
        *,
        claimed_at: str | None = None,
        message_id: str | None = None,
    ) -> bool:
        """sending → unknown (the send may or may not have left), in the index's ``unknown`` partition.

        ``claimed_at`` makes it conditional on that very claim (the sweep, acting on what it read);
        ``message_id`` records the id SES/SNS gave when the send is known to have left but could not be
        recorded. False when the invite was not ``sending`` (or was claimed again).
        """
        return self._mark_unknown(
            invite_id, "#status", reason, now, claimed_at=claimed_at, claim_field="claimed_at", message_id=message_id
        )

    def _mark_unknown(
        self,
        invite_id: str,
        status_field: str,
        reason: str,
        now: datetime,
        *,
        claimed_at: str | None,
        claim_field: str,
        message_id: str | None = None,
    ) -> bool:
        now_iso = iso_timestamp(now)
        sets = [
            f"{status_field} = :unknown",
            "unknown_reason = :reason",
            "unknown_at = :now",
            "delivery_state = :unknown",
            "delivery_state_at = :now",
        ]
        values: dict[str, Any] = {
            ":unknown": {"S": UNKNOWN},
            ":sending": {"S": IN_FLIGHT},
            ":reason": {"S": reason},
            ":now": {"S": now_iso},
        }
        condition = f"{status_field} = :sending"
        if claimed_at is not None:
            condition += f" AND {claim_field} = :claimed"
            values[":claimed"] = {"S": claimed_at}
        if message_id:
            sets.append("message_id = :message")
            values[":message"] = {"S": message_id}
        request: dict[str, Any] = {
            "TableName": self.invites_table,
            "Key": {"invite_id": {"S": invite_id}},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if status_field == "#status":
            request["ExpressionAttributeNames"] = dict(_NAMES)
        return aws.conditional_write("update_item", **request)

    def mark_sent(
        self,
        invite: InviteRecord,
        sent_at: datetime,
        expires_at: int,
        ttl: int,
        message_id: str,
        reminder: dict[str, Any] | None,
        expected: str = "sending",
    ) -> None:
        """``expected`` (``sending``, or ``unknown`` when an operator resolves it) → sent, out of the
        in-flight index; ``invites_sent`` +1 on every aggregate key (not for re-surveys), the contact's
        ``last_surveyed_at`` and last invite of the survey (:func:`last_invite_attribute`), and the reminder
        item, in one transaction (raises if not ``expected``)."""
        sent_iso = iso_timestamp(sent_at)
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.invites_table,
                    "Key": {"invite_id": {"S": invite.invite_id}},
                    "UpdateExpression": (
                        "SET #status = :sent, sent_at = :at, expires_at = :expires, "
                        f"expires_at_ttl = :ttl, message_id = :message {_OUT_OF_FLIGHT}"
                    ),
                    "ConditionExpression": "#status = :expected",
                    "ExpressionAttributeNames": dict(_NAMES),
                    "ExpressionAttributeValues": {
                        ":sent": {"S": "sent"},
                        ":expected": {"S": expected},
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
                    "UpdateExpression": "SET last_surveyed_at = :at, #last_invite = :invite",
                    "ConditionExpression": "attribute_exists(contact_id)",
                    "ExpressionAttributeNames": {"#last_invite": last_invite_attribute(invite.survey_id)},
                    "ExpressionAttributeValues": {":at": {"S": sent_iso}, ":invite": {"S": invite.invite_id}},
                }
            },
        ]
        counted_keys = (
            []
            if is_resurvey_wave(invite.wave_id)
            else invites_sent_keys(
                invite.survey_id,
                sent_at,
                invite.segments,
                invite.channel,
                invite.account.account_id if invite.account is not None else None,
            )
        )
        for key in counted_keys:
            actions.append(
                {
                    "Update": {
                        "TableName": self.aggregates_table,
                        "Key": {"pk": {"S": key.pk}, "period": {"S": key.period}},
                        "UpdateExpression": (
                            "ADD invites_sent :one SET survey_id = :survey, granularity = :granularity, "
                            "#segment = :segment, #channel = :channel, updated_at = :at"
                        ),
                        "ExpressionAttributeNames": {"#segment": "segment", "#channel": "channel"},
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":survey": {"S": key.survey_id},
                            ":granularity": {"S": key.granularity.value},
                            ":segment": {"S": key.segment},
                            ":channel": {"S": key.channel},
                            ":at": {"S": sent_iso},
                        },
                    }
                }
            )
        if reminder is not None:
            actions.append(reminder)
        aws.client("dynamodb").transact_write_items(TransactItems=actions)

    # -- reminders ----------------------------------------------------------------------------------
    def claim_reminder(self, invite_id: str, now: datetime, *, contact: tuple[str, str] | None = None) -> bool:
        """Claim the one reminder of a sent invite (never for bounced, failed or already reminded), in the
        in-flight index. With ``contact``, checked in one transaction like :meth:`claim` (raises
        :class:`ContactGone`)."""
        now_iso = iso_timestamp(now)
        update: dict[str, Any] = {
            "TableName": self.invites_table,
            "Key": {"invite_id": {"S": invite_id}},
            "UpdateExpression": (
                "SET reminder_status = :sending, reminder_claimed_at = :now, "
                "delivery_state = :sending, delivery_state_at = :now, delivery_kind = :reminder"
            ),
            "ConditionExpression": "#status = :sent AND attribute_not_exists(reminder_status)",
            "ExpressionAttributeNames": dict(_NAMES),
            "ExpressionAttributeValues": {
                ":sending": {"S": IN_FLIGHT},
                ":sent": {"S": "sent"},
                ":now": {"S": now_iso},
                ":reminder": {"S": "reminder"},
            },
        }
        if contact is None:
            return aws.conditional_write("update_item", **update)
        return self._claim_with_contact(update, contact)

    def finish_reminder(self, invite_id: str, outcome: str, now: datetime, expected: str = IN_FLIGHT) -> bool:
        """Record the claimed reminder's outcome: ``sent`` (with ``reminder_sent_at``) or why it was not
        sent; out of the in-flight index. False when the reminder was not ``expected`` (``sending``, or
        ``unknown`` when an operator resolves it)."""
        expression = "SET reminder_status = :outcome"
        values: dict[str, Any] = {":outcome": {"S": outcome}, ":expected": {"S": expected}}
        if outcome == "sent":
            expression += ", reminder_sent_at = :now"
            values[":now"] = {"S": iso_timestamp(now)}
        return aws.conditional_write(
            "update_item",
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression=f"{expression} {_OUT_OF_FLIGHT}",
            ConditionExpression="reminder_status = :expected",
            ExpressionAttributeValues=values,
        )

    def release_reminder(self, invite_id: str, expected: str = IN_FLIGHT) -> bool:
        """Give the reminder claim back (nothing left), so a later delivery may send it; False when the
        reminder was not ``expected`` (``sending``, or ``unknown`` when an operator resolves it)."""
        return aws.conditional_write(
            "update_item",
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression=f"REMOVE reminder_status, {_OUT_OF_FLIGHT.removeprefix('REMOVE ')}",
            ConditionExpression="reminder_status = :expected",
            ExpressionAttributeValues={":expected": {"S": expected}},
        )

    def mark_reminder_unknown(
        self, invite_id: str, reason: str, now: datetime, *, claimed_at: str | None = None
    ) -> bool:
        """The reminder's reminder_status sending → unknown (it may or may not have left), in the index's
        ``unknown`` partition; ``claimed_at`` makes it conditional on that very claim. False otherwise."""
        return self._mark_unknown(
            invite_id, "reminder_status", reason, now, claimed_at=claimed_at, claim_field="reminder_claimed_at"
        )

    # -- the in-flight index ------------------------------------------------------------------------
    def in_flight(self, state: str, *, since_before: str | None = None, limit: int = 1000) -> list[InFlightInvite]:
        """Invites in ``state`` (:data:`IN_FLIGHT` or :data:`UNKNOWN`), oldest first, at most ``limit``;
        with ``since_before`` (ISO-8601 UTC) only those that entered the state before it."""
        condition = "delivery_state = :state"
        values: dict[str, Any] = {":state": {"S": state}}
        if since_before is not None:
            condition += " AND delivery_state_at < :before"
            values[":before"] = {"S": since_before}
        request: dict[str, Any] = {
            "TableName": self.invites_table,
            "IndexName": INVITES_IN_FLIGHT.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        found: list[InFlightInvite] = []
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(**request):
            for item in page.get("Items", []):
                found.append(InFlightInvite.from_item(item))
                if len(found) >= limit:
                    return found
        return found

    def leave_in_flight(self, invite_id: str, state: str) -> bool:
        """Take an invite out of the index's ``state`` partition once neither the invite nor its reminder
        is in that state any more (e.g. a bounce proved an unknown send left); False while one still is."""
        return aws.conditional_write(
            "update_item",
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression=_OUT_OF_FLIGHT,
            ConditionExpression=(
                "delivery_state = :state AND #status <> :state "
                "AND (attribute_not_exists(reminder_status) OR reminder_status <> :state)"
            ),
            ExpressionAttributeNames=dict(_NAMES),
            ExpressionAttributeValues={":state": {"S": state}},
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
