"""The one place AWS clients are created: lazily, once per process, so moto and tests can intercept them."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import boto3
from botocore import exceptions as sdk
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=5)

#: Seconds to open a connection to SES/SNS for a send. A send that cannot connect never left, so it is
#: safe to try again later (through the queue).
SEND_CONNECT_TIMEOUT = 2.0
#: Seconds to wait for SES/SNS to answer a send. A send that times out here may have left.
SEND_READ_TIMEOUT = 5.0


@cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service`` in the function's region, retrying transient errors.

    For reads and for writes that are safe to repeat (conditional or idempotent): up to 6 attempts in
    standard retry mode, 2 s to connect, 5 s to read. ``AWS_ENDPOINT_URL`` (honoured by botocore)
    points every client at a local moto server.
    """
    factory: Any = boto3.client  # typed per service by boto3-stubs; callers use the generic client
    return factory(service, region_name=os.environ.get("AWS_REGION"), config=_CONFIG)


@cache
def send_client(service: str) -> Any:
    """A cached client for the calls that send a message to a person (SES ``SendRawEmail``, SNS ``Publish``).

    It makes exactly one attempt: a retried send whose first request timed out after it went out would
    reach the person twice. The caller decides what a failure means (see :mod:`nps.sending.adapters.channels`).
    Timeouts are :data:`SEND_CONNECT_TIMEOUT` and :data:`SEND_READ_TIMEOUT` seconds.
    """
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=SEND_CONNECT_TIMEOUT,
        read_timeout=SEND_READ_TIMEOUT,
    )
    factory: Any = boto3.client
    return factory(service, region_name=os.environ.get("AWS_REGION"), config=config)


def send_budget_seconds() -> float:
    """The longest one send call can take (connect + read timeouts), plus a second for the bookkeeping."""
    return SEND_CONNECT_TIMEOUT + SEND_READ_TIMEOUT + 1.0


def use_region(region: str) -> None:
    """Create every later client in ``region``: ours, and those libraries make (Powertools parameters read
    ``AWS_DEFAULT_REGION`` through boto3's default session). Clients made before are forgotten."""
    os.environ["AWS_REGION"] = region
    os.environ["AWS_DEFAULT_REGION"] = region
    boto3.DEFAULT_SESSION = None
    reset_clients()


def reset_clients() -> None:
    """Forget cached clients (tests call this when they start or stop a mock)."""
    client.cache_clear()
    send_client.cache_clear()


def conditional_write(operation: str, **request: Any) -> bool:
    """A conditional DynamoDB write (``update_item``, ``put_item``...); False when its condition refused it."""
    try:
        getattr(client("dynamodb"), operation)(**request)
    except Exception as error:
        if conditional_check_failed(error):
            return False
        raise
    return True


def batch_get_items(request: dict[str, Any], attempts: int = 5) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """DynamoDB ``BatchGetItem`` of ``request`` (at most 100 keys) until no key is left unprocessed, backing
    off 20 ms, 40 ms, … between rounds: the items found by table name, and the round trips made. Raises
    ``RuntimeError`` when keys are still unprocessed after ``attempts`` rounds."""
    dynamodb = client("dynamodb")
    found: dict[str, list[dict[str, Any]]] = {}
    for attempt in range(attempts):
        result = dynamodb.batch_get_item(RequestItems=request)
        for table, items in result.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = result.get("UnprocessedKeys") or {}
        if not request:
            return found, attempt + 1
        time.sleep(0.02 * 2**attempt)
    raise RuntimeError("DynamoDB left keys unprocessed after retries")


def conditional_check_failed(error: Exception) -> bool:
    """Whether a DynamoDB write was refused by its condition (not a failure: the state was not as expected)."""
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
    return bool(code == "ConditionalCheckFailedException")


def missing_index(error: Exception, index_name: str) -> bool:
    """Whether a DynamoDB ``Query`` failed because the table has no index called ``index_name``.

    DynamoDB answers ``ValidationException`` ("The table does not have the specified index: <name>");
    moto 5 answers ``ResourceNotFoundException`` ("Invalid index: <name> for table: ..."). Both name the
    index, which tells them apart from a missing table (also ``ResourceNotFoundException``) and from
    other invalid requests.
    """
    error_info = (getattr(error, "response", None) or {}).get("Error", {})
    code, message = error_info.get("Code"), str(error_info.get("Message") or "")
    if code == "ValidationException":
        return "specified index" in message and message.rstrip().endswith(f": {index_name}")
    if code == "ResourceNotFoundException":
        return message.startswith(f"Invalid index: {index_name} ")
    return False


def error_code(error: BaseException) -> str:
    """The AWS error code of ``error`` or of the error it was raised from (``ThrottlingException``...),
    else its class name: safe to log and to park with a message (never the message text, which may
    name a resource or echo input)."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            break
        code = (getattr(seen, "response", None) or {}).get("Error", {}).get("Code")
        if code:
            return str(code)
        seen = seen.__cause__ or seen.__context__
    return type(error).__name__


FailureKind = Literal[
    "no_region", "no_credentials", "no_profile", "expired_credentials", "invalid_credentials", "unreachable",
    "access_denied", "not_found", "refused",
]  # fmt: skip
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_INVALID = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidSignatureException"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_NOT_FOUND = {
    "ResourceNotFoundException", "ResourceNotFound", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AwsFailure:
    """Why a call to AWS (or to the local moto server) failed, in terms a person can act on.

    ``kind`` is one of :data:`FailureKind`; ``operation`` the API call (``DescribeStacks``) when the
    service answered; ``endpoint`` the URL that could not be reached; ``code`` AWS's error code. No field
    holds the error's message, which may echo request values.
    """

    kind: FailureKind
    operation: str | None = None
    endpoint: str | None = None
    code: str | None = None
    #: The named profile that is not in the AWS config files (``no_profile``).
    profile: str | None = None


def classify_failure(error: BaseException) -> AwsFailure | None:
    """What went wrong when ``error`` (or an error it was raised from) is an SDK failure; None otherwise.

    Covers a missing region or credentials, expired or unknown credentials (SSO sessions included), an
    endpoint that cannot be reached or timed out, and a service's refusal (access denied, resource not
    found, any other error code). Errors wrapped by another library (Powertools' ``GetParameterError``)
    are found through ``__cause__``/``__context__``, up to five levels.
    """
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return None
        failure = _classify_one(seen)
        if failure is not None:
            return failure
        seen = seen.__cause__ or seen.__context__
    return None


def _classify_one(error: BaseException) -> AwsFailure | None:
    if isinstance(error, sdk.NoRegionError):
        return AwsFailure("no_region")
    if isinstance(error, sdk.ProfileNotFound):
        profile = getattr(error, "kwargs", {}).get("profile")
        return AwsFailure("no_profile", profile=str(profile) if profile else None)
    if isinstance(error, sdk.NoCredentialsError | sdk.PartialCredentialsError):
        return AwsFailure("no_credentials")
    if isinstance(error, sdk.SSOError | sdk.TokenRetrievalError):
        return AwsFailure("expired_credentials")
    if isinstance(error, sdk.ConnectionError | sdk.HTTPClientError):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url") or getattr(error, "kwargs", {}).get("proxy_url")
        return AwsFailure("unreachable", endpoint=str(endpoint) if endpoint else None)
    if isinstance(error, sdk.ClientError):
        code = str(error.response.get("Error", {}).get("Code") or "")
        operation = error.operation_name
        kind: FailureKind = (
            "expired_credentials" if code in _EXPIRED
            else "invalid_credentials" if code in _INVALID
            else "access_denied" if code in _DENIED
            else "not_found" if code in _NOT_FOUND
            else "refused"
        )  # fmt: skip
        return AwsFailure(kind, operation=operation, code=code or None)
    return None
