"""The only code that talks to SES, SNS and the send queue (behind the protocols in :mod:`nps.delivery`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nps import aws

# SES and SNS error codes after which sending the same message again cannot succeed.
_PERMANENT = {
    "MessageRejected",
    "InvalidParameterValue",
    "InvalidParameter",
    "MailFromDomainNotVerifiedException",
}
MAX_DELAY_SECONDS = 900  # SQS's longest message delay


class SendError(Exception):
    """A send failed; ``retryable`` says whether trying again later may succeed."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def _send_error(service: str, error: Exception) -> SendError:
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code") or type(error).__name__
    return SendError(f"{service}: {code}", retryable=code not in _PERMANENT)


class SesMailer:
    """Raw MIME through SES v1 ``SendRawEmail`` with the configuration set and invite tags."""

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
            result = aws.client("ses").send_raw_email(**kwargs)
        except Exception as error:
            raise _send_error("ses", error) from error
        return str(result["MessageId"])


class SnsTexter:
    """SMS through SNS ``Publish`` to a phone number, honouring the account's opt-out list."""

    def opted_out(self, phone: str) -> bool:
        try:
            result = aws.client("sns").check_if_phone_number_is_opted_out(phoneNumber=phone)
        except Exception as error:
            raise _send_error("sns", error) from error
        return bool(result.get("isOptedOut"))

    def send_sms(self, phone: str, text: str) -> str:
        try:
            result = aws.client("sns").publish(
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
        """Send ``(body, delay seconds)`` pairs in batches of 10; failed entries are retried, then raised."""
        client = aws.client("sqs")
        for start in range(0, len(messages), 10):
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

    def dead_letter(self, body: dict[str, str], reason: str, attempts: int) -> None:
        """Park a message that will not be retried in the DLQ, with the reason (ids only, no PII)."""
        aws.client("sqs").send_message(
            QueueUrl=self.dead_letter_url,
            MessageBody=json.dumps({**body, "reason": reason, "attempts": attempts}, separators=(",", ":")),
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256]}},
        )
