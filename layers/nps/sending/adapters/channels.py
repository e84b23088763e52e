"""The only code that talks to SES, SNS and the send queue (behind the protocols in :mod:`nps.sending.delivery`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ProxyConnectionError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from nps.kernel import aws

# SES and SNS error codes after which sending the same message again cannot succeed.
_PERMANENT = {
    "MessageRejected",
    "InvalidParameterValue",
    "InvalidParameter",
    "MailFromDomainNotVerifiedException",
}
# Server-side failures after which the message may have been accepted: an answer came, but not a verdict.
_MAYBE_ACCEPTED = {"InternalFailure", "InternalError", "InternalErrorException"}
# Failures to open the connection: the request never left.
_NOT_CONNECTED = (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)
MAX_DELAY_SECONDS = 900  # SQS's longest message delay
#: Send-message batches in flight at once when a wave queues a page (under botocore's 10 connections).
PARALLEL_BATCHES = 8


class SendError(Exception):
    """A send failed; ``retryable`` says whether trying again later may succeed.

    ``maybe_sent`` is True when the request went out and no verdict came back (a read timeout, a dropped
    connection, an internal error): the message may have reached the person, so it must not be sent
    again (``retryable`` is then False). ``reason`` is ``"<service>: <error code or class>"``, no PII.
    """

    def __init__(self, reason: str, retryable: bool, maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable and not maybe_sent
        self.maybe_sent = maybe_sent


def _send_error(service: str, error: Exception) -> SendError:
    """Classify a failed send call: refused (retryable or not), or of unknown outcome."""
    response = getattr(error, "response", None)
    if response:  # the service answered: it says what happened
        code = str(response.get("Error", {}).get("Code") or type(error).__name__)
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _MAYBE_ACCEPTED or status == 500:
            return SendError(f"{service}: {code}", retryable=False, maybe_sent=True)
        return SendError(f"{service}: {code}", retryable=code not in _PERMANENT)
    reason = f"{service}: {type(error).__name__}"
    if isinstance(error, _NOT_CONNECTED):
        return SendError(reason, retryable=True)
    if isinstance(error, BotoCoreError) and not isinstance(error, HTTPClientError | BotoConnectionError):
        # Raised before any request: credentials, region, parameter validation.
        return SendError(reason, retryable=True)
    # A read timeout, a connection closed or broken after the request went out, or anything unforeseen.
    return SendError(reason, retryable=False, maybe_sent=True)


class SesMailer:
    """Raw MIME through SES v1 ``SendRawEmail`` with the configuration set and invite tags.

    One request per message, never retried by the SDK (:func:`nps.kernel.aws.send_client`).
    """

    def send_email(
        self, *, source: str, destination: str, raw: bytes, configuration_set: str, tags: dict[str, str]
    ) -> str:
        kwargs: dict[str, Any] = {
            "Source": source,
            "Destinations": [destination],
            "RawMessage": {"Data": raw},
            "Tags": [{"Name": k, "Value": v} for k, v in tags.items()],
        }
        if configuration_set:
            kwargs["ConfigurationSetName"] = configuration_set
        try:
            result = aws.send_client("ses").send_raw_email(**kwargs)
        except Exception as error:
            raise _send_error("ses", error) from error
        return str(result["MessageId"])


class SnsTexter:
    """SMS through SNS ``Publish`` to a phone number, honouring the account's opt-out list.

    The opt-out check is a read, retried by the SDK; the publish is one request, never retried.
    """

    def opted_out(self, phone: str) -> bool:
        try:
            result = aws.client("sns").check_if_phone_number_is_opted_out(phoneNumber=phone)
        except Exception as error:
            raise _send_error("sns", error) from error
        return bool(result.get("isOptedOut"))

    def opt_in(self, phone: str) -> None:
        """Opt the number in again (SNS ``OptInPhoneNumber``); raises
        :class:`~nps.sending.lifting.OptInRefused` when SNS refuses (it allows this once per 30 days
        per number: SNS API reference, OptInPhoneNumber)."""
        from nps.sending.lifting import OptInRefused

        try:
            aws.client("sns").opt_in_phone_number(phoneNumber=phone)
        except Exception as error:
            response = getattr(error, "response", None)
            if not response:
                raise
            code = str(response.get("Error", {}).get("Code") or type(error).__name__)
            raise OptInRefused(
                f"SNS keeps the number opted out ({code}); SNS opts a number in at most once every 30 days"
            ) from None

    def send_sms(self, phone: str, text: str) -> str:
        try:
            result = aws.send_client("sns").publish(
                PhoneNumber=phone,
                Message=text,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        except Exception as error:
            raise _send_error("sns", error) from error
        return str(result["MessageId"])


class SqsSendQueue:
    """The send queue (invite and reminder messages) and its dead-letter queue."""

    def __init__(self, queue_url: str, dead_letter_url: str = "") -> None:
        self.queue_url = queue_url
        self.dead_letter_url = dead_letter_url

    def enqueue(self, messages: Sequence[tuple[dict[str, str], int]]) -> None:
        """Send ``(body, delay seconds)`` pairs in batches of 10, up to ``PARALLEL_BATCHES`` batches at once
        (a page of a wave is a hundred batches); failed entries are retried, then raised."""
        client = aws.client("sqs")

        def send(start: int) -> None:
            pending = {
                str(index): {
                    "Id": str(index),
                    "MessageBody": json.dumps(body, separators=(",", ":")),
                    "DelaySeconds": max(0, min(MAX_DELAY_SECONDS, int(delay))),
                }
                for index, (body, delay) in enumerate(messages[start : start + 10], start)
            }
            for _ in range(4):
                result = client.send_message_batch(QueueUrl=self.queue_url, Entries=list(pending.values()))
                failed = {entry["Id"] for entry in result.get("Failed", [])}
                pending = {k: v for k, v in pending.items() if k in failed}
                if not pending:
                    break
            if pending:
                raise RuntimeError(f"{len(pending)} send message(s) could not be queued")

        starts = range(0, len(messages), 10)
        if len(starts) <= 1:
            for start in starts:
                send(start)
            return
        with ThreadPoolExecutor(max_workers=PARALLEL_BATCHES) as pool:
            list(pool.map(send, starts))

    def waiting(self) -> int:
        """Messages ready to be sent now (SQS ``ApproximateNumberOfMessages``: not delayed, not in flight),
        from every wave and reminder run."""
        attributes = (
            aws.client("sqs")
            .get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
            .get("Attributes", {})
        )
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def dead_letter(self, body: dict[str, str], reason: str, attempts: int) -> None:
        """Park a message that will not be retried in the DLQ, with the reason (ids only, no PII)."""
        aws.client("sqs").send_message(
            QueueUrl=self.dead_letter_url,
            MessageBody=json.dumps({**body, "reason": reason, "attempts": attempts}, separators=(",", ":")),
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256]}},
        )


class SqsContinuationQueue:
    """The planner's own queue: a continuation message resumes a wave in a later invocation."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def continue_later(self, message: dict[str, Any], delay_seconds: int) -> None:
        aws.client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(message, separators=(",", ":")),
            DelaySeconds=max(0, min(MAX_DELAY_SECONDS, int(delay_seconds))),
        )
