"""The one place AWS clients are created: lazily, once per process, so moto and tests can intercept them."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=5)


@cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service`` in the function's region.

    ``AWS_ENDPOINT_URL`` (honoured by botocore) points every client at a local moto server.
    """
    factory: Any = boto3.client  # typed per service by boto3-stubs; callers use the generic client
    return factory(service, region_name=os.environ.get("AWS_REGION"), config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests call this when they start or stop a mock)."""
    client.cache_clear()


def conditional_write(operation: str, **request: Any) -> bool:
    """A conditional DynamoDB write (``update_item``, ``put_item``...); False when its condition refused it."""
    try:
        getattr(client("dynamodb"), operation)(**request)
    except Exception as error:
        if conditional_check_failed(error):
            return False
        raise
    return True


def conditional_check_failed(error: Exception) -> bool:
    """Whether a DynamoDB write was refused by its condition (not a failure: the state was not as expected)."""
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
    return bool(code == "ConditionalCheckFailedException")
