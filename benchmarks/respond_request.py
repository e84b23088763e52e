"""The first request to a freshly imported respond function, with AWS answered locally.

Run inside the cold-start subprocess, after import and client creation were timed. AWS calls are
answered by a botocore ``before-send`` hook (the request is still serialized and the response parsed,
as with a real endpoint, but nothing leaves the process): the DynamoDB client the function already made
gets the hook directly, and clients made later (the Secrets Manager client Powertools creates on first
use) get it through botocore's built-in handler list, like moto does.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from botocore import handlers as botocore_handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders

from benchmarks.synthetic import FakeLambdaContext

INVITE_ID = "inv-bench-0001"
KEYRING_ID = "nps-bench/link-signing"
SIGNING_KEY = "k" * 48
ENVIRONMENT = {
    "INVITES_TABLE": "nps-bench-invites",
    "RESPONSES_TABLE": "nps-bench-responses",
    "SIGNING_SECRET_NAME": KEYRING_ID,
}


class _RawBody(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _invite_item() -> dict[str, Any]:
    return {
        "invite_id": {"S": INVITE_ID},
        "survey_id": {"S": "survey-1"},
        "wave_id": {"S": "survey-1-w1"},
        "contact_id": {"S": "contact-1"},
        "channel": {"S": "email"},
        "locale": {"S": "de"},
        "expires_at": {"N": str(int(time.time()) + 86_400)},
        "sent_at": {"S": "2026-03-10T09:00:00.000Z"},
        "segments": {"M": {"plan": {"S": "pro"}, "region": {"S": "emea"}}},
        "status": {"S": "sent"},
        "clicks": {"L": [{"M": {"at": {"N": f"{time.time():.3f}"}, "kind": {"S": "open"}, "score": {"N": "9"}}}]},
    }


def _canned(target: str, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if target.endswith("GetItem"):
        return "application/x-amz-json-1.0", {"Item": _invite_item()}
    if target.endswith("UpdateItem") and request.get("TableName") == ENVIRONMENT["INVITES_TABLE"]:
        # Logging the open on the invite returns the invite with its click log.
        return "application/x-amz-json-1.0", {"Attributes": _invite_item()}
    if target.endswith("UpdateItem"):
        return "application/x-amz-json-1.0", {"Attributes": {"version": {"N": "1"}, "score": {"N": "9"}}}
    if target.endswith("GetSecretValue"):
        return "application/x-amz-json-1.1", {
            "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{KEYRING_ID}-AbCdEf",
            "Name": KEYRING_ID,
            "VersionId": "v1",
            "SecretString": json.dumps({"active": "k1", "k1": SIGNING_KEY}),
        }
    raise RuntimeError(f"no canned response for {target}")


def _answer_locally(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
    raw_target = request.headers.get("X-Amz-Target", "")
    target = raw_target.decode() if isinstance(raw_target, bytes) else str(raw_target)
    raw_body = request.body if isinstance(request.body, (bytes, str)) else b"{}"
    content_type, body = _canned(target, json.loads(raw_body or b"{}"))
    headers = HTTPHeaders()
    headers["Content-Type"] = content_type
    headers["x-amzn-RequestId"] = "bench"
    return AWSResponse(request.url, 200, headers, _RawBody(json.dumps(body).encode()))


def _tap_event(token: str) -> dict[str, Any]:
    path = f"/r/{token}"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "score=9",
        "headers": {
            "accept-language": "de-DE,de;q=0.9,en;q=0.8",
            "host": "nps.example.com",
            "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        },
        "queryStringParameters": {"score": "9"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "nps.example.com",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Mozilla/5.0",
            },
            "requestId": "bench-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "10/Mar/2026:09:00:00 +0000",
            "timeEpoch": 1773133200000,
        },
        "isBase64Encoded": False,
    }


def first_request(handler: ModuleType | None = None) -> dict[str, Any]:
    """Time the first and the second one-tap request (score 9) in this process, through ``handler``
    (the respond function's module as already imported; by default ``functions.respond.handler``)."""
    if handler is None:
        from functions.respond import handler as imported

        handler = imported
    from nps.kernel import aws
    from nps.kernel.config import reset_settings
    from nps.links.tokens import Keyring, Purpose, sign

    os.environ.update(ENVIRONMENT)
    reset_settings()
    aws.client("dynamodb").meta.events.register("before-send", _answer_locally)
    botocore_handlers.BUILTIN_HANDLERS.append(("before-send", _answer_locally))
    keyring = Keyring(keys={"k1": SIGNING_KEY.encode()}, active_kid="k1")
    event = _tap_event(sign(keyring, Purpose.RESPOND, INVITE_ID, int(time.time()) + 86_400))
    context: Any = FakeLambdaContext()

    started = time.perf_counter()
    first = handler.lambda_handler(event, context)
    first_done = time.perf_counter()
    second = handler.lambda_handler(event, context)
    second_done = time.perf_counter()
    return {
        "first_request_ms": (first_done - started) * 1e3,
        "second_request_ms": (second_done - first_done) * 1e3,
        "first_request_status": first.get("statusCode"),
        "second_request_status": second.get("statusCode"),
    }
