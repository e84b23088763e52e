"""Contacts table: one item per contact per audience (partition key ``audience``, sort key ``contact_id``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nps.accounts.membership import Membership
from nps.kernel import aws

if TYPE_CHECKING:
    from nps.sending.contacts import Contact

_PARALLEL_WRITES = 16


def contact_from_item(item: dict[str, Any]) -> Contact:
    """The contact stored in ``item`` (trusted: written by :meth:`DynamoContactRepository.upsert`)."""
    # Imported here: functions that only key contacts (the invites' bookkeeping) never load pydantic.
    from nps.sending.contacts import Contact

    return Contact.model_construct(
        contact_id=item["contact_id"]["S"],
        audience=item["audience"]["S"],
        email=item.get("email", {}).get("S"),
        phone=item.get("phone", {}).get("S"),
        time_zone=item.get("time_zone", {}).get("S", "UTC"),
        locale=item.get("locale", {}).get("S"),
        attributes={k: v["S"] for k, v in item.get("attributes", {}).get("M", {}).items()},
        last_surveyed_at=item.get("last_surveyed_at", {}).get("S"),
        account=Membership.from_attribute(item.get("account")),
    )


@dataclass(frozen=True, slots=True)
class StoredAddresses:
    """A contact's addresses as stored (email; phone in E.164). PII: never logged or published."""

    email: str | None
    phone: str | None

    def address(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.phone if channel == "sms" else None


class DynamoContactAddresses:
    """Only the addresses of a contact: what an unsubscribe suppresses, read without building a
    :class:`~nps.sending.contacts.Contact` (whose module loads pydantic)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def get(self, audience: str, contact_id: str) -> StoredAddresses | None:
        """The stored addresses, or ``None`` for an unknown contact."""
        found = aws.client("dynamodb").get_item(
            TableName=self.table_name,
            Key=contact_key(audience, contact_id),
            ProjectionExpression="#email, #phone",
            ExpressionAttributeNames={"#email": "email", "#phone": "phone"},
        )
        if "Item" not in found:
            return None
        item = found["Item"]
        return StoredAddresses(email=item.get("email", {}).get("S"), phone=item.get("phone", {}).get("S"))


def contact_key(audience: str, contact_id: str) -> dict[str, Any]:
    return {"audience": {"S": audience}, "contact_id": {"S": contact_id}}


def last_invite_attribute(survey_id: str) -> str:
    """The contact item's attribute holding the id of the last invite of ``survey_id`` sent to the contact
    (``last_invite#<survey_id>``), written with ``last_surveyed_at`` by the send: how an identified
    share-link answer finds the contact's email or SMS answer of the period (:mod:`nps.channels.share_links`)."""
    return f"last_invite#{survey_id}"


class DynamoContactRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def upsert(self, contact: Contact) -> None:
        """Create or update a contact's details; ``last_surveyed_at`` is kept (imports are idempotent)."""
        names = {"#email": "email", "#phone": "phone", "#tz": "time_zone", "#locale": "locale", "#account": "account"}
        values: dict[str, Any] = {
            ":tz": {"S": contact.time_zone},
            ":attributes": {"M": {k: {"S": v} for k, v in contact.attributes.items()}},
        }
        sets = ["#tz = :tz", "attributes = :attributes"]
        removes = []
        for placeholder, value in (
            ("email", contact.email),
            ("phone", contact.phone),
            ("locale", contact.locale),
        ):
            if value:
                sets.append(f"#{placeholder} = :{placeholder}")
                values[f":{placeholder}"] = {"S": value}
            else:
                removes.append(f"#{placeholder}")
        if contact.account is not None:
            sets.append("#account = :account")
            values[":account"] = contact.account.to_attribute()
        else:
            removes.append("#account")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        aws.client("dynamodb").update_item(
            TableName=self.table_name,
            Key=contact_key(contact.audience, contact.contact_id),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def upsert_many(self, contacts: Sequence[Contact]) -> list[tuple[Contact, Exception]]:
        """Upsert in parallel; returns the contacts that failed with their errors (the rest are stored)."""
        failures: list[tuple[Contact, Exception]] = []

        def write(contact: Contact) -> None:
            try:
                self.upsert(contact)
            except Exception as error:  # reported per row by the caller
                failures.append((contact, error))

        with ThreadPoolExecutor(max_workers=_PARALLEL_WRITES) as pool:
            list(pool.map(write, contacts))
        return failures

    def get(self, audience: str, contact_id: str) -> Contact | None:
        item = aws.client("dynamodb").get_item(TableName=self.table_name, Key=contact_key(audience, contact_id))
        return contact_from_item(item["Item"]) if "Item" in item else None

    def all_pages(self) -> Iterator[list[Contact]]:
        """Every contact of every audience, one scan page (≤ 1 MB) at a time."""
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=self.table_name):
            yield [contact_from_item(item) for item in page["Items"]]

    def page(self, audience: str, after: str | None, limit: int) -> tuple[list[Contact], str | None]:
        """Up to ``limit`` contacts of ``audience`` after contact id ``after`` (one query), and the contact
        id to resume after, or None when the audience is exhausted."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "audience = :audience",
            "ExpressionAttributeValues": {":audience": {"S": audience}},
            "Limit": limit,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = contact_key(audience, after)
        result = aws.client("dynamodb").query(**kwargs)
        last = result.get("LastEvaluatedKey")
        return [contact_from_item(item) for item in result["Items"]], (last["contact_id"]["S"] if last else None)

    def pages(self, audience: str) -> Iterator[list[Contact]]:
        """Every contact of an audience, one query page (≤ 1 MB) at a time."""
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="audience = :audience",
            ExpressionAttributeValues={":audience": {"S": audience}},
        ):
            yield [contact_from_item(item) for item in page["Items"]]
