"""Helpers for the web prompt's tests: a web-enabled survey on the local stack, contact tokens, requests."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from functions.web import handler as web_function
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.channels.site_tokens import mint
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey

ORIGIN = "https://app.example.com"
SURVEY_ID = "web-survey"

#: A survey's ``reasons`` block (three drivers, CSAT, CES, one theme) in English, German and Spanish.
REASONS_EN_DE_ES: dict[str, Any] = {
    "drivers": [
        {"id": "price", "label": {"en": "Price", "de": "Preis", "es": "Precio"}},
        {"id": "support", "label": {"en": "Support", "de": "Kundendienst", "es": "Atención al cliente"}},
        {"id": "ease", "label": {"en": "Ease of use", "de": "Bedienbarkeit", "es": "Facilidad de uso"}},
    ],
    "csat": {"enabled": True},
    "ces": {"enabled": True},
    "themes": [
        {"id": "price", "label": {"en": "Price", "de": "Preis", "es": "Precio"},
         "phrases": {"en": ["expensive"], "de": ["teuer"], "es": ["caro"]}},
    ],
}  # fmt: skip


def put_web_survey(
    stack: LocalStack,
    survey_id: str = SURVEY_ID,
    *,
    share_link: dict[str, Any] | None = None,
    reasons: dict[str, Any] | None = None,
    **web: Any,
) -> Survey:
    """Store a survey whose web prompt is on for :data:`ORIGIN` (``web`` overrides its settings), with the
    ``share_link`` settings and the ``reasons`` block (follow-up questions, themes) when given."""
    survey = Survey.model_validate(
        {
            "survey_id": survey_id,
            "name": "Web survey",
            "brand_name": "Acme",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "locales": ["en", "de"],
            "segment_dimensions": ["plan"],
            "web": {"enabled": True, "allowed_origins": [ORIGIN]} | web,
        }
        | ({"share_link": share_link} if share_link is not None else {})
        | ({"reasons": reasons} if reasons is not None else {})
    )
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    web_function.service().store.forget_surveys()
    return survey


def contact_token(stack: LocalStack, contact_id: str, survey_id: str = SURVEY_ID, **claims: Any) -> str:
    return mint(stack.site_secret(survey_id), survey_id, contact_id, int(time.time()) + 600, **claims)


@dataclass
class WebReply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


def call(
    survey_id: str,
    action: str,
    body: Any,
    *,
    origin: str | None = ORIGIN,
    method: str = "POST",
    content_type: str = "application/json",
    source_ip: str = "203.0.113.10",
    raw: str | None = None,
) -> WebReply:
    headers = {"content-type": content_type}
    if origin is not None:
        headers["origin"] = origin
    text = raw if raw is not None else (json.dumps(body) if body is not None else None)
    event = http_event(method, f"/w/v1/surveys/{survey_id}/{action}", body=text, headers=headers, source_ip=source_ip)
    result = web_function.lambda_handler(event, LambdaContext("web"))
    payload = result.get("body") or ""
    return WebReply(
        int(result["statusCode"]),
        {k.lower(): v for k, v in (result.get("headers") or {}).items()},
        json.loads(payload) if payload else {},
    )


class ThrottledCounters:
    """A DynamoDB client whose writes of rate-limit counters (``wrl-`` ids) are throttled past botocore's
    retries; every other call goes to the real client."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.throttled = 0

    def update_item(self, **kwargs: Any) -> Any:
        if str(kwargs.get("Key", {}).get("invite_id", {}).get("S", "")).startswith("wrl-"):
            from botocore.exceptions import ClientError

            self.throttled += 1
            code = "ProvisionedThroughputExceededException"
            raise ClientError({"Error": {"Code": code, "Message": "throttled"}}, "UpdateItem")
        return self._client.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def throttle_rate_counters(monkeypatch: Any) -> list[ThrottledCounters]:
    """Route ``aws.client("dynamodb")`` through :class:`ThrottledCounters` (the wrappers made, for counts)."""
    from nps.kernel import aws

    real = aws.client
    made: list[ThrottledCounters] = []

    def client(name: str) -> Any:
        if name != "dynamodb":
            return real(name)
        made.append(ThrottledCounters(real(name)))
        return made[-1]

    monkeypatch.setattr(aws, "client", client)
    return made
