"""Referral records in the accounts table and their counters on the aggregates, each step exactly once.

Items (accounts table, string keys ``pk``/``sk``; docs/referrals.md):

* ``referral#<invite_id>`` / ``asked``: the promoter follow-up sent the referral/review ask (``asked_at``,
  ``survey_id``, ``contact_id``, ``first_answered_at``, ``account_id``);
* ``referral#<invite_id>`` / ``clicked#<target>`` and ``clicked``: the first click of a target, and of any;
* ``referral#<invite_id>`` / ``joined``: the promoter joined the referral program (``joined_at``);
* ``referral#<invite_id>`` / ``opens``: the redirect pages' recent fetches (``[at, target]``, newest last,
  at most :data:`OPEN_LOG_SIZE`), which tell a scanner's burst from a person's click;
* ``contact#<contact_id>`` / ``referral_asked``: the contact's latest ask (invite id, survey, asked_at,
  first_answered_at, account_id), which a ``Referral Joined`` event is matched to;
* ``contact#<contact_id>`` / ``joined_unasked``: a join of a contact with no ask on record, and
  ``referrals#unasked`` / ``<YYYY-MM>``: the number of such joins per month of ``joined_at``;
* ``contact#<contact_id>`` / ``join#<referral_id, or joined_at>``: one ``Referral Joined`` event seen, so
  the same event delivered again after the contact was asked again (a redelivery, a DLQ redrive, an
  archive replay) is not counted on the newer ask too.

Every step is one ``TransactWriteItems``: the marker (``attribute_not_exists``) with ``ADD <counter> 1``
on each aggregate of the promoter's answer (:func:`nps.accounts.referrals.counter_keys`), with the
aggregate's ``survey_id``/``granularity``/``segment``/``channel`` set as the invites-sent update sets them.
A repeated step finds its marker and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nps.accounts.referrals import (
    ASKED,
    CLICKED,
    JOINED,
    JOINED_UNASKED,
    LATEST_ASK,
    REFERRAL_JOINED_UNASKED,
    STEP_COUNTERS,
    CounterKey,
    clicked_marker,
    contact_partition,
    counter_keys,
    invite_partition,
)
from nps.kernel import aws
from nps.kernel.periods import iso_timestamp, parse_timestamp

OPENS = "opens"
#: How many redirect fetches an invite keeps for judging the next POST.
OPEN_LOG_SIZE = 16
UNASKED_PARTITION = "referrals#unasked"
#: Sort key prefix of a seen ``Referral Joined`` event in the contact's partition.
JOIN_SEEN = "join#"


@dataclass(frozen=True, slots=True)
class Answer:
    """The promoter's answer a referral step counts under: its survey, invite, contact, when it was first
    answered and its account (None: the contact is not an account's)."""

    survey_id: str
    invite_id: str
    contact_id: str
    first_answered_at: datetime
    account_id: str | None = None

    @property
    def keys(self) -> list[CounterKey]:
        """The aggregates its referral steps add to."""
        return counter_keys(self.survey_id, self.first_answered_at, self.account_id)


@dataclass(frozen=True, slots=True)
class Ask:
    """A contact's latest ask (the pointer item), or an invite's ``asked`` marker."""

    answer: Answer
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class InviteMarkers:
    """What the accounts table holds for one invite: when it was asked (None: not on record), the targets
    clicked, whether it joined, and the redirect's recent fetches (``(epoch seconds, target)``)."""

    asked_at: datetime | None
    clicked: frozenset[str]
    joined: bool
    opens: tuple[tuple[float, str], ...]


def _counter_updates(aggregates_table: str, keys: Sequence[CounterKey], counter: str, at: str) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": aggregates_table,
                "Key": {"pk": {"S": key.pk}, "period": {"S": key.period}},
                "UpdateExpression": (
                    "ADD #counter :one SET survey_id = :survey, granularity = :granularity, "
                    "#segment = :segment, #channel = :channel, updated_at = :at"
                ),
                "ExpressionAttributeNames": {"#counter": counter, "#segment": "segment", "#channel": "channel"},
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":survey": {"S": key.survey_id},
                    ":granularity": {"S": key.granularity.value},
                    ":segment": {"S": key.segment},
                    ":channel": {"S": key.channel},
                    ":at": {"S": at},
                },
            }
        }
        for key in keys
    ]


def _answer_attributes(answer: Answer) -> dict[str, Any]:
    item: dict[str, Any] = {
        "survey_id": {"S": answer.survey_id},
        "invite_id": {"S": answer.invite_id},
        "contact_id": {"S": answer.contact_id},
        "first_answered_at": {"S": iso_timestamp(answer.first_answered_at)},
    }
    if answer.account_id is not None:
        item["account_id"] = {"S": answer.account_id}
    return item


def _answer_of(item: Mapping[str, Any]) -> Answer | None:
    try:
        return Answer(
            survey_id=item["survey_id"]["S"],
            invite_id=item["invite_id"]["S"],
            contact_id=item["contact_id"]["S"],
            first_answered_at=parse_timestamp(item["first_answered_at"]["S"]),
            account_id=item.get("account_id", {}).get("S"),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _cancelled_reasons(error: Exception) -> list[str] | None:
    """The cancellation reason codes of a cancelled transaction (None: another error)."""
    response = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons", [])]


class DynamoReferralLedger:
    """The referral steps of invites, recorded once each (accounts table + aggregates table)."""

    def __init__(self, accounts_table: str, aggregates_table: str = "") -> None:
        self.accounts_table = accounts_table
        self.aggregates_table = aggregates_table

    def _marker(self, pk: str, sk: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.accounts_table,
                "Item": {"pk": {"S": pk}, "sk": {"S": sk}, **attributes},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _transact(self, actions: list[dict[str, Any]]) -> list[str] | None:
        """Run ``actions``; None when they were written, else the cancellation reasons."""
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=actions)
        except Exception as error:
            reasons = _cancelled_reasons(error)
            if reasons is None or "ConditionalCheckFailed" not in reasons:
                raise
            return reasons
        return None

    # -- asked --------------------------------------------------------------------------------------
    def record_ask(self, answer: Answer, asked_at: datetime) -> bool:
        """Mark the invite asked, add ``referral_asked`` and point the contact's latest ask at it, in one
        transaction; False (nothing written) when the invite was asked before."""
        at = iso_timestamp(asked_at)
        attributes = _answer_attributes(answer) | {"asked_at": {"S": at}}
        actions = [
            self._marker(invite_partition(answer.invite_id), ASKED, attributes),
            {
                "Put": {
                    "TableName": self.accounts_table,
                    "Item": {
                        "pk": {"S": contact_partition(answer.contact_id)},
                        "sk": {"S": LATEST_ASK},
                        **attributes,
                    },
                }
            },
            *_counter_updates(self.aggregates_table, answer.keys, STEP_COUNTERS[ASKED], at),
        ]
        return self._transact(actions) is None

    def latest_ask(self, contact_id: str) -> Ask | None:
        """The contact's latest ask, or None when it was never asked (or the pointer cannot be read)."""
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self.accounts_table,
                Key={"pk": {"S": contact_partition(contact_id)}, "sk": {"S": LATEST_ASK}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item:
            return None
        answer = _answer_of(item)
        try:
            asked_at = parse_timestamp(item["asked_at"]["S"])
        except (KeyError, ValueError):
            return None
        return Ask(answer, asked_at) if answer is not None else None

    # -- clicked ------------------------------------------------------------------------------------
    def markers(self, invite_id: str) -> InviteMarkers:
        """Everything recorded for one invite (one ``Query`` of its partition)."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.accounts_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": invite_partition(invite_id)}},
            "ConsistentRead": True,
        }
        while True:
            page = aws.client("dynamodb").query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        by_sk = {item["sk"]["S"]: item for item in items}
        asked = by_sk.get(ASKED)
        asked_at = None
        if asked is not None and "asked_at" in asked:
            try:
                asked_at = parse_timestamp(asked["asked_at"]["S"])
            except ValueError:
                asked_at = None
        clicked = frozenset(sk.split("#", 1)[1] for sk in by_sk if sk.startswith(f"{CLICKED}#"))
        opens: list[tuple[float, str]] = []
        for entry in by_sk.get(OPENS, {}).get("opens", {}).get("L", []):
            pair = entry.get("L", [])
            try:
                opens.append((float(pair[0]["N"]), str(pair[1]["S"])))
            except (IndexError, KeyError, ValueError):
                continue
        return InviteMarkers(asked_at=asked_at, clicked=clicked, joined=JOINED in by_sk, opens=tuple(opens))

    def log_open(self, invite_id: str, target: str, at: float) -> None:
        """Append a fetch of the redirect page to the invite's open log (one write; older entries beyond
        :data:`OPEN_LOG_SIZE` are dropped by the next write that reads them)."""
        client = aws.client("dynamodb")
        result = client.update_item(
            TableName=self.accounts_table,
            Key={"pk": {"S": invite_partition(invite_id)}, "sk": {"S": OPENS}},
            UpdateExpression="SET opens = list_append(if_not_exists(opens, :empty), :open)",
            ExpressionAttributeValues={
                ":empty": {"L": []},
                ":open": {"L": [{"L": [{"N": f"{at:.3f}"}, {"S": target}]}]},
            },
            ReturnValues="UPDATED_NEW",
        )
        size = len(result.get("Attributes", {}).get("opens", {}).get("L", []))
        if size > OPEN_LOG_SIZE:
            drop = size - OPEN_LOG_SIZE
            client.update_item(
                TableName=self.accounts_table,
                Key={"pk": {"S": invite_partition(invite_id)}, "sk": {"S": OPENS}},
                UpdateExpression="REMOVE " + ", ".join(f"opens[{i}]" for i in range(drop)),
            )

    def record_click(self, answer: Answer, target: str, clicked_at: datetime) -> bool:
        """Record the first click of ``target`` on the invite; the first click of any target also marks
        ``clicked`` and adds ``referral_clicked``. True when this was the target's first click."""
        at = iso_timestamp(clicked_at)
        pk = invite_partition(answer.invite_id)
        attributes = _answer_attributes(answer) | {"clicked_at": {"S": at}}
        target_marker = self._marker(pk, clicked_marker(target), attributes)
        reasons = self._transact(
            [
                target_marker,
                self._marker(pk, CLICKED, attributes),
                *_counter_updates(self.aggregates_table, answer.keys, STEP_COUNTERS[CLICKED], at),
            ]
        )
        if reasons is None:
            return True
        if reasons[0] == "ConditionalCheckFailed":
            return False  # this target was clicked before
        # Another target was clicked first: mark this one, the promoter is counted already.
        return self._transact([target_marker]) is None

    # -- joined -------------------------------------------------------------------------------------
    def _join_seen(self, contact_id: str, joined_at: str, referral_id: str | None) -> dict[str, Any]:
        """The marker of one join event: the sender's ``referral_id``, else its ``joined_at``. Written with
        the join, so the event is counted once whichever ask is the contact's latest when it comes again."""
        return self._marker(
            contact_partition(contact_id), f"{JOIN_SEEN}{referral_id or joined_at}", {"joined_at": {"S": joined_at}}
        )

    def record_join(self, answer: Answer, joined_at: datetime, referral_id: str | None) -> bool:
        """Mark the invite joined and add ``referral_joined``; False (nothing written) when it joined before
        or this join event was recorded before (on another ask, or as a join without an ask)."""
        at = iso_timestamp(joined_at)
        attributes = _answer_attributes(answer) | {"joined_at": {"S": at}}
        if referral_id:
            attributes["referral_id"] = {"S": referral_id}
        actions = [
            self._marker(invite_partition(answer.invite_id), JOINED, attributes),
            self._join_seen(answer.contact_id, at, referral_id),
            *_counter_updates(self.aggregates_table, answer.keys, STEP_COUNTERS[JOINED], at),
        ]
        return self._transact(actions) is None

    def record_unasked_join(self, contact_id: str, joined_at: datetime, referral_id: str | None) -> bool:
        """Mark a join of a contact with no ask on record (once per contact) and count it apart, by the
        month of ``joined_at``; False when the contact's unasked join, or this join event, is on record already."""
        at = iso_timestamp(joined_at)
        attributes: dict[str, Any] = {"joined_at": {"S": at}, "contact_id": {"S": contact_id}}
        if referral_id:
            attributes["referral_id"] = {"S": referral_id}
        actions = [
            self._marker(contact_partition(contact_id), JOINED_UNASKED, attributes),
            self._join_seen(contact_id, at, referral_id),
            {
                "Update": {
                    "TableName": self.accounts_table,
                    "Key": {"pk": {"S": UNASKED_PARTITION}, "sk": {"S": at[:7]}},
                    "UpdateExpression": "ADD #counter :one SET updated_at = :at",
                    "ExpressionAttributeNames": {"#counter": REFERRAL_JOINED_UNASKED},
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":at": {"S": at}},
                }
            },
        ]
        return self._transact(actions) is None

    def unasked_joins(self, months: Sequence[str]) -> int:
        """Joins without an ask in the given months (``YYYY-MM``; one ``BatchGetItem`` per 100 months)."""
        total = 0
        unique = sorted(set(months))
        for start in range(0, len(unique), 100):
            keys = [{"pk": {"S": UNASKED_PARTITION}, "sk": {"S": month}} for month in unique[start : start + 100]]
            found, _ = aws.batch_get_items({self.accounts_table: {"Keys": keys}})
            for item in found.get(self.accounts_table, []):
                total += int(item.get(REFERRAL_JOINED_UNASKED, {}).get("N", "0"))
        return total
