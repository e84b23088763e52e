"""The synthesized CloudFormation template as the permission test reads it: roles, keys, names, ARNs.

Every resource gets a *canonical* physical identity built from its logical id (a table ``StorageInvites…``
is ``arn:aws:dynamodb:us-east-1:123456789012:table/StorageInvites…``), so policies resolved from the
template and calls recorded against moto (whose names differ) meet on the same strings: the recorder
maps a call's runtime resource to its logical id through the functions' environment variables, which
the template declares as ``{"Ref": <logical id>}``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from tests.permissions.iam import Statement

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT = "123456789012"
PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Nps-test",
    "AWS::NoValue": "",
}


def identity(kind: str, ref: str) -> dict[str, str]:
    """A resource's ``Ref`` and ``Fn::GetAtt`` values from its type and ``Ref`` value.

    ``ref`` is what CloudFormation's ``Ref`` returns for the type: a table, bus, bucket, function or
    role name, a queue URL, a topic / state machine / secret ARN, a key id. Unknown types get an
    ``Arn`` naming the logical id, so a policy on them still resolves to a unique string.
    """
    region, account = REGION, ACCOUNT
    if kind == "AWS::DynamoDB::Table":
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{ref}"
        # A stream's label is a timestamp known only once deployed: any label of this table's stream.
        return {"Ref": ref, "Arn": arn, "StreamArn": f"{arn}/stream/*"}
    if kind == "AWS::SQS::Queue":
        name = ref.rstrip("/").rsplit("/", 1)[-1]
        return {"Ref": ref, "Arn": f"arn:aws:sqs:{region}:{account}:{name}", "QueueName": name, "QueueUrl": ref}
    if kind == "AWS::SNS::Topic":
        arn = ref if ref.startswith("arn:") else f"arn:aws:sns:{region}:{account}:{ref}"
        return {"Ref": arn, "TopicArn": arn, "TopicName": arn.rsplit(":", 1)[-1]}
    if kind == "AWS::SecretsManager::Secret":
        arn = secret_arn(ref)
        return {"Ref": arn, "Id": arn}
    if kind == "AWS::Events::EventBus":
        name = ref.rsplit("/", 1)[-1]
        return {"Ref": name, "Name": name, "Arn": f"arn:aws:events:{region}:{account}:event-bus/{name}"}
    if kind == "AWS::S3::Bucket":
        return {"Ref": ref, "Arn": f"arn:aws:s3:::{ref}"}
    if kind == "AWS::SES::ConfigurationSet":
        return {"Ref": ref, "Arn": f"arn:aws:ses:{region}:{account}:configuration-set/{ref}"}
    if kind == "AWS::StepFunctions::StateMachine":
        arn = ref if ref.startswith("arn:") else f"arn:aws:states:{region}:{account}:stateMachine:{ref}"
        return {"Ref": arn, "Arn": arn, "Name": arn.rsplit(":", 1)[-1]}
    if kind == "AWS::Lambda::Function":
        name = ref.rsplit(":", 1)[-1] if ref.startswith("arn:") else ref
        return {"Ref": name, "Arn": f"arn:aws:lambda:{region}:{account}:function:{name}"}
    if kind == "AWS::KMS::Key":
        return {"Ref": ref, "Arn": f"arn:aws:kms:{region}:{account}:key/{ref}", "KeyId": ref}
    if kind == "AWS::IAM::Role":
        return {"Ref": ref, "Arn": f"arn:aws:iam::{account}:role/{ref}", "RoleId": ref}
    if kind == "AWS::Scheduler::ScheduleGroup":
        return {"Ref": ref, "Arn": f"arn:aws:scheduler:{region}:{account}:schedule-group/{ref}"}
    if kind == "AWS::Scheduler::Schedule":
        return {"Ref": ref, "Arn": f"arn:aws:scheduler:{region}:{account}:schedule/default/{ref}"}
    if kind == "AWS::Events::Rule":
        return {"Ref": ref, "Arn": f"arn:aws:events:{region}:{account}:rule/{ref}"}
    if kind == "AWS::Events::ApiDestination":
        return {"Ref": ref, "Arn": f"arn:aws:events:{region}:{account}:api-destination/{ref}"}
    if kind == "AWS::Events::Connection":
        return {"Ref": ref, "Arn": f"arn:aws:events:{region}:{account}:connection/{ref}"}
    if kind == "AWS::ApiGatewayV2::Api":
        return {"Ref": ref, "ApiEndpoint": f"https://{ref}.execute-api.{region}.amazonaws.com"}
    return {"Ref": ref, "Arn": f"arn:aws:cloudformation::{account}:logical/{ref}"}


_NAME_PROPERTY = {
    "AWS::Events::EventBus": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SES::ConfigurationSet": "Name",
    "AWS::IAM::Role": "RoleName",
}


def secret_arn(ref: str) -> str:
    """A secret's ARN without the six random characters Secrets Manager appends (name-based)."""
    if not ref.startswith("arn:"):
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{ref}"
    return re.sub(r"-[A-Za-z0-9]{6}$", "", ref)


@dataclass(frozen=True)
class Principal:
    """A deployed identity whose calls are checked: its name (``function:respond``), role and statements."""

    name: str
    role_id: str
    role_arn: str
    statements: tuple[Statement, ...]
    #: Each statement's source: "policy logical id / statement index" (for the unused-grant report).
    sources: tuple[str, ...]


class DeployedTemplate:
    """The synthesized template, resolved to canonical identities."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.template = template
        self.resources: dict[str, dict[str, Any]] = dict(template["Resources"])

    # --- resolution of intrinsic functions --------------------------------------------------------

    def identity_of(self, logical_id: str) -> dict[str, str]:
        """A resource's canonical ``Ref`` and attributes: from its explicit physical name when the
        template gives one (an event bus ``Name``, a schedule group ``Name``...), else its logical id."""
        resource = self.resources[logical_id]
        kind = resource["Type"]
        explicit = resource.get("Properties", {}).get(_NAME_PROPERTY.get(kind, ""), None)
        ref = explicit if isinstance(explicit, str) else logical_id
        if kind == "AWS::SQS::Queue":
            ref = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{ref}"
        return identity(kind, ref)

    def attribute(self, logical_id: str, name: str = "Ref") -> str:
        """``Ref`` (``name="Ref"``) or ``Fn::GetAtt`` of a resource, canonical."""
        kind = self.resources[logical_id]["Type"]
        values = self.identity_of(logical_id)
        if name not in values:
            raise KeyError(f"{kind} {logical_id} has no attribute {name!r} known to the permission test")
        return values[name]

    def resolve(self, value: Any) -> Any:
        """Resolve Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split in ``value``."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return PSEUDO.get(argument) if argument in PSEUDO else self.attribute(argument)
        if function == "Fn::GetAtt":
            logical_id, name = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.attribute(logical_id, name)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if function == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            resolved = {k: str(self.resolve(v)) for k, v in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in resolved:
                    return resolved[name]
                if name in PSEUDO:
                    return PSEUDO[name]
                logical_id, _, attribute = name.partition(".")
                return self.attribute(logical_id, attribute or "Ref")

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        return {function: self.resolve(argument)}

    # --- principals --------------------------------------------------------------------------------

    def of_type(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource["Type"] == kind:
                yield logical_id, resource

    def role_statements(self, role_id: str) -> tuple[tuple[Statement, ...], tuple[str, ...]]:
        """Every identity-policy statement attached to a role (inline and ``AWS::IAM::Policy``)."""
        statements: list[Statement] = []
        sources: list[str] = []
        role = self.resources[role_id]["Properties"]
        for policy in role.get("Policies", []):
            for index, statement in enumerate(self.resolve(policy["PolicyDocument"])["Statement"]):
                statements.append(Statement.parse(statement))
                sources.append(f"{role_id}/{policy.get('PolicyName', 'inline')}[{index}]")
        for policy_id, policy in self.of_type("AWS::IAM::Policy"):
            if {"Ref": role_id} not in policy["Properties"].get("Roles", []):
                continue
            for index, statement in enumerate(self.resolve(policy["Properties"]["PolicyDocument"])["Statement"]):
                statements.append(Statement.parse(statement))
                sources.append(f"{policy_id}[{index}]")
        return tuple(statements), tuple(sources)

    def _principal(self, name: str, role_reference: Any) -> Principal:
        role_id = role_reference["Fn::GetAtt"][0]
        statements, sources = self.role_statements(role_id)
        return Principal(name, role_id, self.attribute(role_id, "Arn"), statements, sources)

    @cache  # noqa: B019 - one instance per template, kept for the session
    def principals(self) -> dict[str, Principal]:
        """Functions (by ``POWERTOOLS_SERVICE_NAME``), state machines and the rules that start them (by
        category: ``state-machine:detractor``, ``rule:detractor``), with their roles."""
        out: dict[str, Principal] = {}
        for _, function in self.of_type("AWS::Lambda::Function"):
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            service = variables.get("POWERTOOLS_SERVICE_NAME")
            if service:
                out[f"function:{service}"] = self._principal(f"function:{service}", function["Properties"]["Role"])
        for rule_id, rule in self.of_type("AWS::Events::Rule"):
            for target in rule["Properties"].get("Targets", []):
                target_id = _referenced_key(target["Arn"])
                if "RoleArn" in target and target_id and self.resources[target_id]["Type"].endswith("StateMachine"):
                    category = next(
                        (c for c in ("detractor", "promoter", "passive") if c in target_id.lower()), rule_id
                    )
                    out[f"rule:{category}"] = self._principal(f"rule:{category}", target["RoleArn"])
        for logical_id, machine in self.of_type("AWS::StepFunctions::StateMachine"):
            category = next(
                (c for c in ("detractor", "promoter", "passive") if c in logical_id.lower()), logical_id.lower()
            )
            name = f"state-machine:{category}"
            out[name] = self._principal(name, machine["Properties"]["RoleArn"])
        return out

    def function_id(self, service: str) -> str:
        """The logical id of the function whose ``POWERTOOLS_SERVICE_NAME`` is ``service``."""
        for logical_id, function in self.of_type("AWS::Lambda::Function"):
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            if variables.get("POWERTOOLS_SERVICE_NAME") == service:
                return logical_id
        raise KeyError(service)

    def environment_references(self) -> dict[str, str]:
        """Environment variable → the logical id it names (``{"Ref": id}``), over every function.

        Raises ValueError if two functions give one variable different resources (names must mean one
        thing everywhere, or the local environment could not serve every function at once).
        """
        out: dict[str, str] = {}
        for _, function in self.of_type("AWS::Lambda::Function"):
            for variable, value in function["Properties"].get("Environment", {}).get("Variables", {}).items():
                if isinstance(value, dict) and "Ref" in value and value["Ref"] in self.resources:
                    if out.get(variable, value["Ref"]) != value["Ref"]:
                        raise ValueError(f"{variable} names {out[variable]} and {value['Ref']} in different functions")
                    out[variable] = value["Ref"]
        return out

    # --- encryption --------------------------------------------------------------------------------

    def encryption_key(self, logical_id: str) -> str | None:
        """The logical id of the customer-managed KMS key encrypting a resource, if any."""
        resource = self.resources.get(logical_id)
        if resource is None:
            return None
        props = resource.get("Properties", {})
        kind = resource["Type"]
        reference: Any = None
        if kind == "AWS::DynamoDB::Table":
            reference = props.get("SSESpecification", {}).get("KMSMasterKeyId")
        elif kind in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
            reference = props.get("KmsMasterKeyId")
        elif kind == "AWS::SecretsManager::Secret":
            reference = props.get("KmsKeyId")
        elif kind == "AWS::Events::EventBus":
            reference = props.get("KmsKeyIdentifier")
        elif kind == "AWS::S3::Bucket":
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            for rule in rules:
                reference = rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID") or reference
        elif kind == "AWS::StepFunctions::StateMachine":
            reference = props.get("EncryptionConfiguration", {}).get("KmsKeyId")
        return _referenced_key(reference)

    def key_policy(self, key_id: str) -> tuple[Statement, ...]:
        document = self.resolve(self.resources[key_id]["Properties"]["KeyPolicy"])
        return tuple(Statement.parse(s) for s in document["Statement"])

    def resource_policy(self, logical_id: str) -> tuple[Statement, ...]:
        """Statements of the resource-based policies attached to a queue, topic or bucket."""
        kinds = {
            "AWS::SQS::QueuePolicy": "Queues",
            "AWS::SNS::TopicPolicy": "Topics",
            "AWS::S3::BucketPolicy": "Bucket",
        }
        out: list[Statement] = []
        for kind, field_name in kinds.items():
            for _, policy in self.of_type(kind):
                targets = policy["Properties"][field_name]
                targets = targets if isinstance(targets, list) else [targets]
                if {"Ref": logical_id} in targets:
                    out.extend(
                        Statement.parse(s) for s in self.resolve(policy["Properties"]["PolicyDocument"])["Statement"]
                    )
        return tuple(out)

    def logical_id_of(self, canonical: str) -> str | None:
        """The logical id whose canonical Ref or Arn is ``canonical`` or a prefix path of it."""
        for value, logical_id in self._canonical_values():
            if canonical == value or canonical.startswith(value + "/"):
                return logical_id
        return None

    @cache  # noqa: B019 - one instance per template, kept for the session
    def _canonical_values(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (value, logical_id) for logical_id in self.resources for value in self.identity_of(logical_id).values()
        )


def _referenced_key(reference: Any) -> str | None:
    if isinstance(reference, dict):
        if "Fn::GetAtt" in reference:
            return str(reference["Fn::GetAtt"][0])
        if "Ref" in reference:
            return str(reference["Ref"])
    return None


_TEMPLATE_LOCK = threading.Lock()


def deployed_template() -> DeployedTemplate:
    """The stack as it deploys (``cdk.json``'s context) with every optional function switched on
    (``local.workflows.OPTIONAL_FUNCTIONS``: each one's calls are judged against its own role),
    synthesized once per process and shared with the local workflows, which run its state machine
    definitions. Thread-safe: calls recorded in the local server's request threads may be the first."""
    with _TEMPLATE_LOCK:
        return _deployed_template()


@cache
def _deployed_template() -> DeployedTemplate:
    from local.workflows import synthesized_template

    return DeployedTemplate(json.loads(json.dumps(synthesized_template())))
