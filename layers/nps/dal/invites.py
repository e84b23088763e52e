"""Invites table: one item per contact per wave, holding the ids and segment values copied at send time.

The sending side (:mod:`nps.dal.invite_lifecycle`) adds ``status`` transitions (queued → sending →
sent / failed / skipped, then bounced), ``send_after``, ``reminder_sent_at`` and the ``expires_at_ttl``
TTL; the fields here keep their meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nps import aws


@dataclass(frozen=True, slots=True)
class Invite:
    invite_id: str
    survey_id: str
    wave_id: str
    contact_id: str
    channel: str
    locale: str
    expires_at: int
    sent_at: str
    segments: dict[str, str] = field(default_factory=dict)
    status: str = "sent"


def _to_item(invite: Invite) -> dict[str, Any]:
    return {
        "invite_id": {"S": invite.invite_id},
        "survey_id": {"S": invite.survey_id},
        "wave_id": {"S": invite.wave_id},
        "contact_id": {"S": invite.contact_id},
        "channel": {"S": invite.channel},
        "locale": {"S": invite.locale},
        "expires_at": {"N": str(invite.expires_at)},
        "sent_at": {"S": invite.sent_at},
        "segments": {"M": {k: {"S": v} for k, v in invite.segments.items()}},
        "status": {"S": invite.status},
    }


def _from_item(item: dict[str, Any]) -> Invite:
    return Invite(
        invite_id=item["invite_id"]["S"],
        survey_id=item["survey_id"]["S"],
        wave_id=item["wave_id"]["S"],
        contact_id=item["contact_id"]["S"],
        channel=item["channel"]["S"],
        locale=item.get("locale", {}).get("S", "en"),
        expires_at=int(item["expires_at"]["N"]),
        # Queued invites have no sent_at yet (tokens, and so respond lookups, exist only once sent).
        sent_at=item.get("sent_at", {}).get("S", ""),
        segments={k: v["S"] for k, v in item.get("segments", {}).get("M", {}).items()},
        status=item.get("status", {}).get("S", "sent"),
    )


class DynamoInviteRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def get(self, invite_id: str) -> Invite | None:
        item = aws.client("dynamodb").get_item(TableName=self.table_name, Key={"invite_id": {"S": invite_id}})
        return _from_item(item["Item"]) if "Item" in item else None

    def put(self, invite: Invite) -> None:
        aws.client("dynamodb").put_item(TableName=self.table_name, Item=_to_item(invite))
