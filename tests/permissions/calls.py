"""What IAM authorizes for one AWS API call: its actions, the resources they name, and whether they read
or write data (which decides the KMS permissions an encrypted resource implies).

Mapping sources: the Service Authorization Reference of each service
(https://docs.aws.amazon.com/service-authorization/latest/reference/). Most operations are authorized by
the action of the same name on the resource the call names; the exceptions that this platform meets
are spelled out below (transactions authorize each item's own action, batch sends authorize the single
action, ``HeadObject`` is ``s3:GetObject``, a phone-number publish has no resource, ...). An operation
not modelled here is checked as ``<service>:<Operation>`` on ``*``, so a role granting anything narrower
fails it: the test then says which call needs modelling.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from tests.permissions.template import ACCOUNT, REGION, secret_arn

Access = Literal["read", "write"] | None

#: IAM service prefixes that differ from the botocore service name.
PREFIX = {"dynamodbstreams": "dynamodb", "sesv2": "ses", "stepfunctions": "states"}
#: Calls that need no permission (or only the caller's own identity).
UNCHECKED = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class Need:
    """One permission a call needs: ``action`` on ``resource`` (runtime form); ``access`` for KMS.

    ``alternatives`` are other resource forms any one of which suffices (an SES sender address is
    authorized by its own identity or by its domain's).
    """

    action: str
    resource: str
    access: Access = None
    alternatives: tuple[str, ...] = ()


def arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


def table_arn(name: str) -> str:
    return name if name.startswith("arn:") else arn("dynamodb", f"table/{name}")


def queue_arn(url: str) -> str:
    return arn("sqs", urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


def bus_arn(name: str | None) -> str:
    name = name or "default"
    return name if name.startswith("arn:") else arn("events", f"event-bus/{name}")


def needs(service: str, operation: str, params: Mapping[str, Any]) -> list[Need]:
    """The permissions one call needs. ``service`` is botocore's service name, ``params`` the API params."""
    if (service, operation) in UNCHECKED:
        return []
    handler = _SERVICES.get(service)
    if handler is not None:
        modelled = handler(operation, params)
        if modelled is not None:
            return modelled
    return [Need(f"{PREFIX.get(service, service)}:{operation}", "*")]


_DYNAMO_READS = {"GetItem", "Query", "Scan"}
_DYNAMO_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def _dynamodb(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if operation in _DYNAMO_READS | _DYNAMO_WRITES:
        resource = table_arn(params["TableName"])
        if params.get("IndexName"):
            resource += f"/index/{params['IndexName']}"
        return [Need(f"dynamodb:{operation}", resource, "read" if operation in _DYNAMO_READS else "write")]
    if operation == "BatchGetItem":
        return [Need("dynamodb:BatchGetItem", table_arn(t), "read") for t in params["RequestItems"]]
    if operation == "BatchWriteItem":
        return [Need("dynamodb:BatchWriteItem", table_arn(t), "write") for t in params["RequestItems"]]
    if operation == "TransactWriteItems":
        out = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            action = _TRANSACT[kind]
            out.append(
                Need(
                    f"dynamodb:{action}", table_arn(body["TableName"]), "read" if kind == "ConditionCheck" else "write"
                )
            )
        return out
    if operation == "TransactGetItems":
        return [Need("dynamodb:GetItem", table_arn(i["Get"]["TableName"]), "read") for i in params["TransactItems"]]
    if "TableName" in params:
        return [Need(f"dynamodb:{operation}", table_arn(params["TableName"]))]
    return None


#: Placeholders for calls whose request names no resource but IAM authorizes on one: the recorder
#: accepts any resource of that kind in the stack (``recorder.check``).
ANY_STREAM = "any:stream"
ANY_STATE_MACHINE = "any:state-machine"


def _dynamodbstreams(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if "StreamArn" in params:
        return [Need(f"dynamodb:{operation}", params["StreamArn"], "read")]
    if operation == "GetRecords":  # the shard iterator names the stream the records come from
        return [Need("dynamodb:GetRecords", ANY_STREAM, "read")]
    return None


_SQS_ACTION = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_SQS_ACCESS: dict[str, Access] = {"SendMessage": "write", "ReceiveMessage": "read"}


def _sqs(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    action = _SQS_ACTION.get(operation, operation)
    if "QueueUrl" in params:
        return [Need(f"sqs:{action}", queue_arn(params["QueueUrl"]), _SQS_ACCESS.get(action))]
    if operation == "GetQueueUrl":
        return [Need("sqs:GetQueueUrl", arn("sqs", params["QueueName"]))]
    return None


def _sns(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if operation == "Publish":
        target = params.get("TopicArn") or params.get("TargetArn")
        if target:
            return [Need("sns:Publish", target, "write")]
        return [Need("sns:Publish", "*")]  # a text message to a phone number names no resource
    if operation in ("CheckIfPhoneNumberIsOptedOut", "ListPhoneNumbersOptedOut", "OptInPhoneNumber"):
        return [Need(f"sns:{operation}", "*")]
    if "TopicArn" in params:
        return [Need(f"sns:{operation}", params["TopicArn"])]
    return None


def _events(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if operation == "PutEvents":
        buses = {bus_arn(entry.get("EventBusName")) for entry in params["Entries"]}
        return [Need("events:PutEvents", bus, "write") for bus in sorted(buses)]
    return None


def _secretsmanager(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if "SecretId" in params:
        access: Access = "read" if operation == "GetSecretValue" else None
        return [Need(f"secretsmanager:{operation}", secret_arn(params["SecretId"]), access)]
    return None


def _ses_identities(sender: str) -> tuple[str, tuple[str, ...]]:
    address = email.utils.parseaddr(sender)[1] or sender
    domain = address.rpartition("@")[2]
    first = arn("ses", f"identity/{address}")
    return first, (arn("ses", f"identity/{domain}"),) if domain and domain != address else ()


def _ses(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if operation not in ("SendRawEmail", "SendEmail", "SendTemplatedEmail", "SendBulkEmail"):
        return None
    sender = params.get("Source") or params.get("FromEmailAddress") or ""
    configuration_set = params.get("ConfigurationSetName")
    raw = params.get("RawMessage", {}).get("Data") or params.get("Content", {}).get("Raw", {}).get("Data")
    if raw is not None:
        message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default)
        sender = sender or str(message.get("From", ""))
        configuration_set = configuration_set or message.get("X-SES-CONFIGURATION-SET")
    action = "ses:SendRawEmail" if operation == "SendRawEmail" else "ses:SendEmail"
    identity, alternatives = _ses_identities(str(sender))
    out = [Need(action, identity, alternatives=alternatives)]
    if configuration_set:
        out.append(Need(action, arn("ses", f"configuration-set/{configuration_set}")))
    return out


_S3_ACTION = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket"}
_S3_ACCESS: dict[str, Access] = {"GetObject": "read", "PutObject": "write"}


def _s3(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    action = _S3_ACTION.get(operation, operation)
    bucket = params.get("Bucket")
    if not bucket:
        return None
    if operation in ("ListObjectsV2", "ListObjects"):
        return [Need("s3:ListBucket", f"arn:aws:s3:::{bucket}")]
    if operation == "DeleteObjects":
        return [Need("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{o['Key']}") for o in params["Delete"]["Objects"]]
    if "Key" in params:
        return [Need(f"s3:{action}", f"arn:aws:s3:::{bucket}/{params['Key']}", _S3_ACCESS.get(action))]
    return [Need(f"s3:{action}", f"arn:aws:s3:::{bucket}")]


def _scheduler(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if operation in ("CreateSchedule", "UpdateSchedule", "DeleteSchedule", "GetSchedule"):
        group = params.get("GroupName") or "default"
        out = [Need(f"scheduler:{operation}", arn("scheduler", f"schedule/{group}/{params['Name']}"))]
        role = params.get("Target", {}).get("RoleArn")
        if role and operation in ("CreateSchedule", "UpdateSchedule"):
            out.append(Need("iam:PassRole", role))
        return out
    return None


def _states(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if "stateMachineArn" in params:
        return [Need(f"states:{operation}", params["stateMachineArn"])]
    if "executionArn" in params:
        return [Need(f"states:{operation}", params["executionArn"])]
    if operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        # The token names no resource in the request; IAM authorizes these on the state machine whose
        # execution issued the token. Any of the stack's state machines is accepted (see recorder).
        return [Need(f"states:{operation}", ANY_STATE_MACHINE)]
    return None


def _lambda(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    if operation in ("Invoke", "InvokeAsync"):
        name = str(params["FunctionName"])
        resource = name if name.startswith("arn:") else arn("lambda", f"function:{name}")
        return [Need("lambda:InvokeFunction", resource)]
    return None


def _cloudwatch(operation: str, params: Mapping[str, Any]) -> list[Need] | None:
    return [Need(f"cloudwatch:{operation}", "*")]


_SERVICES = {
    "dynamodb": _dynamodb,
    "dynamodbstreams": _dynamodbstreams,
    "sqs": _sqs,
    "sns": _sns,
    "events": _events,
    "secretsmanager": _secretsmanager,
    "ses": _ses,
    "sesv2": _ses,
    "s3": _s3,
    "scheduler": _scheduler,
    "stepfunctions": _states,
    "lambda": _lambda,
    "cloudwatch": _cloudwatch,
}
