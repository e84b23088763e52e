"""``NPS Contact Unsubscribed`` and ``NPS Invite Bounced`` details as plain JSON data, without pydantic.

The models in :mod:`nps.events.models` stay the contract (JSON Schemas, docs). The functions that
publish these two events (unsubscribe clicks through the suppressions stream, SES bounces and
complaints, SMS STOP) build them from values checked where they entered: an invite read back from our
own table, an SES notification parsed field by field, a suppression the unsubscribe wrote. Defining and
building the models there cost those functions about 60–90 ms of cold start (pydantic itself, the model
classes, their first schema build) for no check the input had not had. The builders give the same JSON as
the models: ``tests/unit/events/test_plain_details.py`` validates their output with the models and
compares it with the models' own serialisation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

SCHEMA_VERSION = "1.0"
#: :data:`nps.events.fields.Id`.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHANNELS = ("email", "sms")
UNSUBSCRIBE_METHODS = ("link", "one_click", "sms_stop", "complaint")
BounceType = Literal["permanent", "transient", "complaint"]


@dataclass(frozen=True, slots=True)
class PlainDetail:
    """An event detail as JSON-ready data (keys in the model's field order).

    Has the one method the publisher calls on a detail (:class:`nps.events.publisher.Detail`).
    """

    data: Mapping[str, Any]

    def model_dump_json(self) -> str:
        """Compact JSON, non-ASCII kept, as pydantic's ``model_dump_json`` writes it."""
        return json.dumps(self.data, separators=(",", ":"), ensure_ascii=False)


def json_timestamp(at: datetime) -> str:
    """``at`` as pydantic serialises a ``datetime``: ISO-8601, ``Z`` for UTC, microseconds only when set."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def contact_unsubscribed(
    *,
    event_id: str,
    contact_id: str,
    survey_id: str | None,
    wave_id: str | None,
    invite_id: str | None,
    channel: str,
    method: str,
    unsubscribed_at: datetime,
) -> PlainDetail:
    """The detail of ``NPS Contact Unsubscribed`` (:class:`nps.events.models.ContactUnsubscribedDetail`)."""
    return PlainDetail(
        {
            "schema_version": SCHEMA_VERSION,
            "event_id": event_id,
            "contact_id": contact_id,
            "survey_id": survey_id,
            "wave_id": wave_id,
            "invite_id": invite_id,
            "channel": channel,
            "method": method,
            "unsubscribed_at": json_timestamp(unsubscribed_at),
        }
    )


def invite_bounced(
    *,
    event_id: str,
    contact_id: str,
    survey_id: str,
    wave_id: str,
    invite_id: str,
    bounce_type: BounceType,
    suppressed: bool,
    bounced_at: datetime,
) -> PlainDetail:
    """The detail of ``NPS Invite Bounced`` (:class:`nps.events.models.InviteBouncedDetail`)."""
    return PlainDetail(
        {
            "schema_version": SCHEMA_VERSION,
            "event_id": event_id,
            "contact_id": contact_id,
            "survey_id": survey_id,
            "wave_id": wave_id,
            "invite_id": invite_id,
            "channel": "email",
            "bounce_type": bounce_type,
            "suppressed": suppressed,
            "bounced_at": json_timestamp(bounced_at),
        }
    )


def is_id(value: object) -> bool:
    """Whether ``value`` is an id as the contract defines it (1–64 letters, digits, ``_`` or ``-``)."""
    return isinstance(value, str) and ID_PATTERN.match(value) is not None
