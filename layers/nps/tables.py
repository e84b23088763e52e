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

ALL_TABLES: tuple[TableSpec, ...] = (INVITES, RESPONSES, AGGREGATES)
