"""Which failed SES/SNS send calls may have reached the person (never send again) and which did not."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
    SSLError,
)

from nps.kernel.aws import error_code
from nps.sending.adapters.channels import SendError, _send_error

URL = "https://email.us-east-1.amazonaws.com/"


def service_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "SendRawEmail")


@pytest.mark.parametrize(
    ("error", "retryable", "maybe_sent"),
    [
        pytest.param(service_error("Throttling", 400), True, False, id="throttled: refused, try later"),
        pytest.param(service_error("ServiceUnavailable", 503), True, False, id="unavailable: refused, try later"),
        pytest.param(service_error("MessageRejected", 400), False, False, id="rejected: never"),
        pytest.param(service_error("InternalFailure", 500), False, True, id="internal failure: maybe accepted"),
        pytest.param(EndpointConnectionError(endpoint_url=URL), True, False, id="no connection: never left"),
        pytest.param(ConnectTimeoutError(endpoint_url=URL), True, False, id="connect timeout: never left"),
        pytest.param(NoCredentialsError(), True, False, id="no credentials: never left"),
        pytest.param(ParamValidationError(report="bad"), True, False, id="invalid parameters: never left"),
        pytest.param(ReadTimeoutError(endpoint_url=URL), False, True, id="read timeout: maybe sent"),
        pytest.param(ConnectionClosedError(endpoint_url=URL), False, True, id="connection dropped: maybe sent"),
        pytest.param(SSLError(endpoint_url=URL, error=OSError("eof")), False, True, id="TLS error: maybe sent"),
        pytest.param(RuntimeError("?"), False, True, id="anything unforeseen: maybe sent"),
    ],
)
def test_a_failed_send_is_classified_by_whether_it_may_have_left(
    error: Exception, retryable: bool, maybe_sent: bool
) -> None:
    classified = _send_error("ses", error)
    assert (classified.retryable, classified.maybe_sent) == (retryable, maybe_sent)
    assert classified.reason == f"ses: {error_code(error)}"


def test_a_send_that_may_have_left_is_never_retryable() -> None:
    assert not SendError("ses: ReadTimeoutError", retryable=True, maybe_sent=True).retryable


def test_the_error_code_comes_from_the_error_a_wrapper_was_raised_from() -> None:
    wrapped = ValueError("wrapped: the message may name a secret")
    wrapped.__cause__ = service_error("ThrottlingException", 400)
    assert error_code(wrapped) == "ThrottlingException"
    assert error_code(ValueError("plain")) == "ValueError"
