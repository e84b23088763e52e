"""Lambda inputs as AWS delivers them: API Gateway HTTP API (payload 2.0) events and a context object.

The demo, the local server and the tests call the real handlers with these.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.utilities.typing import LambdaContext as PowertoolsLambdaContext


class LambdaContext(PowertoolsLambdaContext):
    """A Lambda context for calling handlers in-process."""

    def __init__(self, function_name: str = "local-function", memory_limit_in_mb: int = 512) -> None:
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._memory_limit_in_mb = memory_limit_in_mb
        self._invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = "local"
        self._tenant_id = None

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def http_event(
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for ``method path?query``."""
    encoded_body: str | None
    if isinstance(body, bytes) or base64_body:
        raw = body if isinstance(body, bytes) else (body or "").encode()
        encoded_body = base64.b64encode(raw).decode()
        base64_body = True
    else:
        encoded_body = body
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": lowered,
        "queryStringParameters": query,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": "local",
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "body": encoded_body,
        "isBase64Encoded": base64_body,
    }


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS event record (what the Lambda event source delivers) from a ``ReceiveMessage`` message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }
