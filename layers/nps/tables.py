"""Key schemas of the platform's DynamoDB tables: one definition for the CDK app and the local/moto setup."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableSpec:
    logical_name: str
    partition_key: str
    sort_key: str | None = None
    stream: bool = False
    ttl_attribute: str | None = None


INVITES = TableSpec("invites", partition_key="invite_id", ttl_attribute="expires_at_ttl")
RESPONSES = TableSpec("responses", partition_key="invite_id", stream=True)
AGGREGATES = TableSpec("aggregates", partition_key="pk", sort_key="period", ttl_attribute="expires_at_ttl")
# Survey definitions (sort key ``definition``) and the reminders due for their invites
# (sort key ``reminder#<due>#<invite_id>``), so a reminder run is one query per survey.
SURVEYS = TableSpec("surveys", partition_key="survey_id", sort_key="sk")
# Contacts by audience: a wave queries its survey's audience; fatigue is tracked per contact there.
CONTACTS = TableSpec("contacts", partition_key="audience", sort_key="contact_id")
# Unsubscribed, bounced and complained addresses, keyed by a hash of the normalised address (no PII).
SUPPRESSIONS = TableSpec("suppressions", partition_key="address_hash")

ALL_TABLES: tuple[TableSpec, ...] = (INVITES, RESPONSES, AGGREGATES, SURVEYS, CONTACTS, SUPPRESSIONS)
