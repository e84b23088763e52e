"""Referral clicks and joins through the real handlers, for the demo and tests (moto).

:func:`redirect_link` signs a promoter's referral or review link as the follow-up email does;
:func:`click` follows it as a person's browser does (the landing page, then its POST), at the time
:func:`clicks_at` sets if any; :func:`emit_join` puts a ``Referral Joined`` event on the bus as the team's
referral program would; :func:`drain_joins` hands the joins queue's messages to the ``referral_joins``
function, as the SQS event source does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from functions.referral import handler as referral
from functions.referral_joins import handler as referral_joins
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.events.names import REFERRAL_JOINED
from nps.kernel import aws
from nps.kernel.periods import iso_timestamp
from nps.links.tokens import Purpose, sign

#: What a phone browser sends when a person taps a link in a mail app, then the landing page's form post.
BROWSER = {
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "accept-language": "en-GB,en;q=0.9",
    "sec-fetch-site": "none",
    "sec-fetch-mode": "navigate",
    "sec-fetch-user": "?1",
}
FORM_POST = {**BROWSER, "sec-fetch-site": "same-origin", "content-type": "application/x-www-form-urlencoded"}
REFERRAL_SOURCE = "acme.referrals"


def redirect_link(stack: LocalStack, invite_id: str, target: str, lifetime_seconds: int = 86400) -> str:
    """The token of an invite's ``target`` (``referral`` | ``review``) link, as the promoter email signs it."""
    return sign(stack.keyring, Purpose.REDIRECT, invite_id, int(time.time()) + lifetime_seconds, target)


def request(method: str, token: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One request to the referral function (``/g/<token>``)."""
    result: dict[str, Any] = referral.lambda_handler(
        http_event(method, f"/g/{token}", headers=headers if headers is not None else BROWSER), LambdaContext()
    )
    return result


@contextmanager
def clicks_at(moment: datetime) -> Iterator[None]:
    """The referral function reads ``moment`` as the time (the links' expiry and the clicks' months are
    checked against it), then its clock as it was."""
    service = referral.service()
    saved = service.clock
    service.clock = lambda: moment
    try:
        yield
    finally:
        service.clock = saved


def click(token: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A person's click: the landing page (GET), then the POST its script sends; the POST's answer."""
    opened = request("GET", token, headers)
    if opened["statusCode"] != 200:
        return opened
    return request("POST", token, {**FORM_POST, **(headers or {})})


def emit_join(stack: LocalStack, contact_id: str, joined_at: datetime, referral_id: str | None = None) -> None:
    """Put a ``Referral Joined`` event on the bus (as the team's referral program does)."""
    detail: dict[str, Any] = {"schema_version": "1.0", "contact_id": contact_id, "joined_at": iso_timestamp(joined_at)}
    if referral_id is not None:
        detail["referral_id"] = referral_id
    aws.client("events").put_events(
        Entries=[
            {
                "Source": REFERRAL_SOURCE,
                "DetailType": REFERRAL_JOINED,
                "Detail": json.dumps(detail),
                "EventBusName": stack.bus_name,
            }
        ]
    )


def drain_joins(stack: LocalStack) -> list[dict[str, Any]]:
    """Hand every queued ``Referral Joined`` message to the ``referral_joins`` function; its answers."""
    sqs = aws.client("sqs")
    answers: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=stack.referral_joins_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return answers
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:referral-joins",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        answers.append(referral_joins.lambda_handler({"Records": records}, LambdaContext()))
        failed = {f["itemIdentifier"] for f in answers[-1].get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=stack.referral_joins_queue_url, ReceiptHandle=m["ReceiptHandle"])
        if failed:
            return answers
