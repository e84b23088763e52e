"""Where the CLI reads from: a deployed stack (outputs by CloudFormation stack name) or local moto.

``--stack Nps-prod`` reads the stack's outputs (table names) with the caller's AWS credentials.
``--local`` uses the tables the demo creates (``<prefix>-<table>``) on a moto server reached through
``AWS_ENDPOINT_URL`` (``make moto`` starts one and prints the line to export); the demo
itself calls the CLI in-process inside its mock, where no endpoint is needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from nps.kernel import aws
from nps.kernel.tables import ALL_TABLES

#: Stack output → table logical name.
_OUTPUTS = {
    "InvitesTable": "invites",
    "ResponsesTable": "responses",
    "AggregatesTable": "aggregates",
    "SurveysTable": "surveys",
    "ContactsTable": "contacts",
    "SuppressionsTable": "suppressions",
    "FollowUpsTable": "followups",
    "AccountsTable": "accounts",
}
LOCAL_PREFIX = "nps-demo"
LOCAL_REGION = "us-east-1"


class TargetError(RuntimeError):
    """The stack or the local environment cannot be reached or lacks what the command needs."""


@dataclass(frozen=True, slots=True)
class Target:
    description: str
    tables: dict[str, str]
    api_url: str | None = None
    #: Every stack output (queue URLs, schedule group...), or their local equivalents.
    outputs: dict[str, str] = field(default_factory=dict)
    #: The local moto environment (no functions run there: commands that need one run its code here).
    local: bool = False

    def table(self, logical_name: str) -> str:
        try:
            return self.tables[logical_name]
        except KeyError:
            raise TargetError(f"{self.description} has no {logical_name} table") from None


def from_stack(stack_name: str) -> Target:
    """Table names from a deployed stack's outputs.

    Raises :class:`TargetError` when the stack does not exist in the region or is not an NPS stack; an
    SDK failure (no region or credentials, endpoint unreachable, access denied) propagates for
    :func:`nps.kernel.aws.classify_failure` to word.
    """
    cloudformation = aws.client("cloudformation")
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:
        failure = aws.classify_failure(error)
        # CloudFormation answers a missing stack with a ValidationError, not a "not found" code.
        if failure is None or failure.code != "ValidationError":
            raise
        stacks = []
    if not stacks:
        region = cloudformation.meta.region_name
        raise TargetError(f"stack {stack_name!r} does not exist in {region}: check --stack and --region")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    tables = {logical: outputs[key] for key, logical in _OUTPUTS.items() if key in outputs}
    if "aggregates" not in tables:
        raise TargetError(f"stack {stack_name!r} has no AggregatesTable output: is it an NPS stack?")
    return Target(f"stack {stack_name}", tables, outputs.get("ResponseApiUrl"), outputs)


def local(prefix: str = LOCAL_PREFIX, in_process: bool = False) -> Target:
    """The local moto environment's tables; outside the demo's own process a moto server is required."""
    if not in_process and not os.environ.get("AWS_ENDPOINT_URL"):
        raise TargetError(
            "--local needs a running local environment: start `make moto` and export the AWS_ENDPOINT_URL it prints"
        )
    # moto accepts any credentials; set harmless ones so a real profile is never used by mistake.
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", LOCAL_REGION),
        ("AWS_DEFAULT_REGION", LOCAL_REGION),
    ):
        os.environ.setdefault(name, value)
    aws.reset_clients()
    tables = {s.logical_name: f"{prefix}-{s.logical_name}" for s in ALL_TABLES}
    return Target(f"local environment {prefix!r}", tables, outputs=_local_outputs(prefix), local=True)


def _local_outputs(prefix: str) -> dict[str, str]:
    """The local equivalents of the stack outputs the commands use (as ``local.environment`` names them):
    the event bus and signing secret, and, when the sending side exists, the send queue and SES identity."""
    outputs = {
        "EventBusName": f"{prefix}-bus",
        "SigningSecretArn": f"{prefix}/link-signing",
        "IdKeySecretArn": f"{prefix}/id-key",
        "SiteKeysSecretArn": f"{prefix}/site-keys",
    }
    try:
        outputs["SendQueueUrl"] = aws.client("sqs").get_queue_url(QueueName=f"{prefix}-send")["QueueUrl"]
        identities = aws.client("ses").list_identities()["Identities"]
    except Exception as error:  # no sending resources in this local environment: commands that need them say so
        failure = aws.classify_failure(error)
        if failure is not None and failure.kind == "unreachable":
            raise  # no server at AWS_ENDPOINT_URL: say so now, not after every command's retries
        return outputs
    if identities:
        outputs["SenderIdentity"] = sorted(identities)[0]
    outputs["SesConfigurationSet"] = f"{prefix}-sending"  # local.environment.create_sending's name
    return outputs
