"""Helpers for integration tests: invites with signed links, a person's taps, and comments."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from functions.respond import handler as respond
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.kernel.periods import iso_timestamp
from nps.links.tokens import Purpose, sign
from nps.reasons.questions import FollowUpQuestions
from nps.responding.adapters.invites import DynamoInviteRepository, Invite

#: What a phone browser sends when a person taps a link in a mail app, then what the page's script sends.
BROWSER = {
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "accept-language": "en-GB,en;q=0.9",
    "sec-fetch-site": "none",
    "sec-fetch-mode": "navigate",
    "sec-fetch-user": "?1",
}
PAGE_SCRIPT = {**BROWSER, "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "sec-fetch-user": ""}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def call(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = respond.lambda_handler(event, LambdaContext())
    return result


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    token: str

    def open(self, score: str | int | None, **headers: str) -> dict[str, Any]:
        """GET a score link (what a tap, or a scanner's fetch, does)."""
        query = None if score is None else {"score": str(score)}
        return call(http_event("GET", f"/r/{self.token}", query, headers={**BROWSER, **headers}))

    def confirm(self, score: str | int | None, **headers: str) -> dict[str, Any]:
        """POST the answer as the score page's script does."""
        body = urlencode({} if score is None else {"score": str(score)})
        return call(http_event("POST", f"/r/{self.token}", body=body, headers={**PAGE_SCRIPT, **FORM, **headers}))

    def tap(self, score: str | int | None, **headers: str) -> dict[str, Any]:
        """A person's tap: the link opens in the browser, then the page confirms the answer."""
        opened = self.open(score, **headers)
        if opened["statusCode"] != 200 or score is None:
            return opened
        return self.confirm(score, **headers)

    def comment(
        self, text: str, score: str | int | None = None, answers: dict[str, str] | None = None, **headers: str
    ) -> dict[str, Any]:
        """POST the "why?" comment; ``score`` is the answer the page showed, which its form sends along, and
        ``answers`` the follow-up fields chosen (``driver``, ``csat``, ``ces``)."""
        fields = {"comment": text} if score is None else {"comment": text, "score": str(score)}
        body = urlencode(fields | (answers or {}))
        return call(http_event("POST", f"/r/{self.token}/comment", body=body, headers={**BROWSER, **FORM, **headers}))

    def preview(self, **headers: str) -> dict[str, Any]:
        """GET the hidden preview link (only machines follow it)."""
        return call(http_event("GET", f"/r/{self.token}/p", headers=headers))


def issue_invite(
    stack: LocalStack,
    invite_id: str,
    *,
    survey_id: str = "survey-1",
    channel: str = "email",
    locale: str = "en",
    segments: dict[str, str] | None = None,
    lifetime_seconds: int = 3600,
    sent_seconds_ago: float = 600,
    questions: FollowUpQuestions | None = None,
    wave_id: str = "wave-1",
    contact_id: str | None = None,
) -> IssuedInvite:
    expires_at = int(time.time()) + lifetime_seconds
    invite = Invite(
        invite_id=invite_id,
        survey_id=survey_id,
        wave_id=wave_id,
        contact_id=contact_id or f"contact-{invite_id}",
        channel=channel,
        locale=locale,
        expires_at=expires_at,
        sent_at=iso_timestamp(datetime.now(UTC) - timedelta(seconds=sent_seconds_ago)),
        segments=segments if segments is not None else {"plan": "pro", "region": "emea"},
        questions=questions,
    )
    DynamoInviteRepository(stack.tables["invites"]).put(invite)
    return IssuedInvite(invite, sign(stack.keyring, Purpose.RESPOND, invite_id, expires_at))
