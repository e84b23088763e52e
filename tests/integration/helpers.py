"""Helpers for integration tests: invites with signed links, taps, and reading the stream."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from functions.respond import handler as respond
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.dal.invites import DynamoInviteRepository, Invite
from nps.periods import iso_timestamp
from nps.tokens import Purpose, sign


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    token: str

    def tap(self, score: str | int | None, **headers: str) -> dict[str, Any]:
        query = None if score is None else {"score": str(score)}
        result: dict[str, Any] = respond.lambda_handler(
            http_event("GET", f"/r/{self.token}", query, headers=headers), LambdaContext()
        )
        return result

    def comment(self, text: str, **headers: str) -> dict[str, Any]:
        all_headers = {"content-type": "application/x-www-form-urlencoded", **headers}
        result: dict[str, Any] = respond.lambda_handler(
            http_event(
                "POST", f"/r/{self.token}/comment", body=urlencode({"comment": text}), headers=all_headers
            ),
            LambdaContext(),
        )
        return result


def issue_invite(
    stack: LocalStack,
    invite_id: str,
    *,
    survey_id: str = "survey-1",
    channel: str = "email",
    locale: str = "en",
    segments: dict[str, str] | None = None,
    lifetime_seconds: int = 3600,
) -> IssuedInvite:
    expires_at = int(time.time()) + lifetime_seconds
    invite = Invite(
        invite_id=invite_id,
        survey_id=survey_id,
        wave_id="wave-1",
        contact_id=f"contact-{invite_id}",
        channel=channel,
        locale=locale,
        expires_at=expires_at,
        sent_at=iso_timestamp(datetime.now(UTC)),
        segments=segments if segments is not None else {"plan": "pro", "region": "emea"},
    )
    DynamoInviteRepository(stack.tables["invites"]).put(invite)
    return IssuedInvite(invite, sign(stack.keyring, Purpose.RESPOND, invite_id, expires_at))
