"""Record every AWS call the platform's principals make while tests and the demo run, and judge each one
against that principal's role in the synthesized template, KMS included.

The recorder registers a ``provide-client-params`` hook (botocore's event system; it sees the API name
and parameters before the request is built) on every client created after :meth:`Recorder.install`.
Each call made while a principal is acting (``local.principals``: a handler on the stack, or an
``acting_as`` block) becomes a set of :class:`Use` — action, canonical resource, read/write — and is
checked at the end:

1. the principal's identity policies must allow the action on the resource (explicit denies win);
2. when the resource is encrypted with the customer-managed key, the call also needs ``kms:Decrypt`` to
   read and ``kms:Decrypt`` + ``kms:GenerateDataKey`` to write (the KMS guides of DynamoDB, SQS, SNS,
   Secrets Manager and EventBridge), allowed by the identity policy where the key policy delegates to
   the account (``arn:aws:iam::<account>:root``), or by the key policy itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from local.principals import current_principal, follow_threads, registered_resources
from tests.permissions.calls import ANY_STATE_MACHINE, ANY_STREAM, Access, needs
from tests.permissions.iam import Decision, Request, Statement, evaluate, matches
from tests.permissions.limits import exceeded
from tests.permissions.template import ACCOUNT, REGION, DeployedTemplate, Principal, identity

#: The KMS ``kms:ViaService`` name of each botocore service whose data a key encrypts.
_KMS_SERVICE = {"dynamodbstreams": "dynamodb", "sesv2": "ses", "stepfunctions": "states"}

READ_KEY_ACTIONS = ("kms:Decrypt",)
WRITE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class Use:
    """One permission a principal used: ``action`` on ``resource`` (canonical), as part of ``operation``."""

    principal: str
    operation: str
    action: str
    resource: str
    access: Access = None
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Violation:
    """A use its principal's role does not allow, with the permission that is missing."""

    use: Use
    missing: str
    reason: str
    where: str

    def __str__(self) -> str:
        return (
            f"{self.use.principal}: {self.use.operation} on {self.use.resource} needs {self.missing} "
            f"({self.reason}; first seen in {self.where})"
        )


@dataclass
class Recorder:
    """Collects uses during a run; :meth:`violations` judges them against the template.

    ``load_template`` is called once, at the first recorded call (synthesis takes seconds).
    """

    load_template: Callable[[], DeployedTemplate]
    uses: dict[Use, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _template: DeployedTemplate | None = None
    _captures: list[set[Use]] = field(default_factory=list)
    _exempt: list[tuple[str, str]] = field(default_factory=list)
    #: Uses a test made on purpose against the role (see :meth:`denial_expected`), not judged.
    exempted: list[Use] = field(default_factory=list)
    #: Calls over a service limit moto does not enforce (``tests.permissions.limits``) → where first seen.
    over_limits: dict[str, str] = field(default_factory=dict)
    #: Failures of the recorder itself (never raised into the code under test; they fail the session).
    errors: list[str] = field(default_factory=list)

    @property
    def template(self) -> DeployedTemplate:
        if self._template is None:
            self._template = self.load_template()
        return self._template

    # --- recording ---------------------------------------------------------------------------------

    def install(self) -> None:
        """Hook every botocore client created from now on (idempotent)."""
        import botocore.session

        follow_threads()
        original = botocore.session.Session.create_client
        if getattr(original, "_nps_recorder", None) is not None:
            original.__dict__["_nps_recorder"].append(self)
            return
        recorders = [self]

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            for recorder in recorders:
                client.meta.events.register("provide-client-params.*.*", recorder._on_call)
            return client

        create_client._nps_recorder = recorders  # type: ignore[attr-defined]
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
        _follow_cached_secrets(recorders)

    def _on_call(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        principal = current_principal()
        if principal is None:
            return
        try:
            service, operation = model.service_model.service_name, model.name
            for limit in exceeded(service, operation, params):
                where = os.environ.get("PYTEST_CURRENT_TEST", "a local run").split(" ")[0]
                self.over_limits.setdefault(f"{principal}: {service}:{operation} sends {limit}", where)
            self.record(principal, service, operation, params)
        except Exception as error:  # the recorder must never change what the code under test sees
            self.errors.append(f"{principal} {model.service_model.service_name}:{model.name}: {error!r}"[:2000])

    def record(self, principal: str, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """Record one call (the hook's work; tests of the recorder call it directly)."""
        translate = self._runtime_to_canonical()
        where = os.environ.get("PYTEST_CURRENT_TEST", "a local run").split(" ")[0]
        for need in needs(service, operation, params):
            use = Use(
                principal,
                f"{service}:{operation}",
                need.action,
                _translate(need.resource, translate),
                need.access,
                tuple(_translate(a, translate) for a in need.alternatives),
            )
            with self._lock:
                if any(use.action == action and resource in use.resource for action, resource in self._exempt):
                    self.exempted.append(use)
                    continue
                self.uses.setdefault(use, where)
                for capture in self._captures:
                    capture.add(use)

    @contextmanager
    def denial_expected(self, action: str, resource: str) -> Iterator[list[Use]]:
        """A block whose ``action`` on resources containing ``resource`` is made on purpose against the role
        (a fault test). Yields those uses so the test can assert the deployment would refuse them."""
        entry = (action, resource)
        start = len(self.exempted)
        self._exempt.append(entry)
        found: list[Use] = []
        try:
            yield found
        finally:
            self._exempt.remove(entry)
            found.extend(self.exempted[start:])

    @contextmanager
    def capture(self) -> Iterator[set[Use]]:
        """Every use recorded inside the block (also those already seen earlier in the run)."""
        uses: set[Use] = set()
        self._captures.append(uses)
        try:
            yield uses
        finally:
            self._captures.remove(uses)

    def _runtime_to_canonical(self) -> dict[str, str]:
        """Runtime resource identities (from this moment's environment) → their canonical forms."""
        out: dict[str, str] = {}
        references = [
            (logical_id, os.environ.get(v, "")) for v, logical_id in self.template.environment_references().items()
        ]
        references += [(i, ref) for i, ref in registered_resources() if i in self.template.resources]
        for logical_id, value in references:
            if not value:
                continue
            kind = self.template.resources[logical_id]["Type"]
            runtime, canonical = identity(kind, value), self.template.identity_of(logical_id)
            for name, runtime_value in runtime.items():
                out.setdefault(runtime_value, canonical[name])
        return out

    # --- judging -------------------------------------------------------------------------------------

    def violations(self, uses: Iterable[Use] | None = None) -> list[Violation]:
        """Every recorded use (or those given) that its principal may not make, KMS included."""
        principals = self.template.principals()
        out: list[Violation] = []
        for use in sorted(uses if uses is not None else self.uses, key=_order):
            where = self.uses.get(use, "a direct check")
            principal = principals.get(use.principal)
            if principal is None:
                out.append(Violation(use, "a role", "no such function or state machine in the template", where))
                continue
            out.extend(
                Violation(use, missing, reason, where) for missing, reason in check(self.template, principal, use)
            )
        return out

    def unused_grants(self) -> list[str]:
        """Allowed (action, resource) pairs of exercised principals that no recorded use needed."""
        principals = self.template.principals()
        used_by: dict[str, list[tuple[str, str]]] = {}
        for use in self.uses:
            pairs = used_by.setdefault(use.principal, [])
            pairs.extend((use.action, r) for r in (use.resource, *use.alternatives))
            key = self._key_of(use)
            if key is not None:
                key_arn = self.template.attribute(key, "Arn")
                pairs.extend((a, key_arn) for a in WRITE_KEY_ACTIONS if use.access == "write")
                pairs.extend((a, key_arn) for a in READ_KEY_ACTIONS if use.access == "read")
        for name, pairs in lambda_service_uses(self.template).items():
            if name in used_by:
                used_by[name].extend(pairs)
        lines: list[str] = []
        for name in sorted(used_by):
            principal = principals.get(name)
            if principal is None:
                continue
            for statement, source in zip(principal.statements, principal.sources, strict=True):
                if statement.effect != "Allow":
                    continue
                for action in statement.actions:
                    for resource in statement.resources:
                        if action.startswith(("xray:", "logs:")):
                            continue  # tracing and logging: used by the runtime, not by our calls
                        if not any(
                            matches(action, a, ignore_case=True) and (resource == "*" or matches(resource, r))
                            for a, r in used_by[name]
                        ):
                            lines.append(f"{name}: {action} on {resource} ({source})")
        return lines

    def _key_of(self, use: Use) -> str | None:
        logical_id = self.template.logical_id_of(use.resource)
        return self.template.encryption_key(logical_id) if logical_id else None


def _follow_cached_secrets(recorders: list[Recorder]) -> None:
    """Count a secret served from Powertools' cache as the read it stands for.

    Locally every function shares one process and one parameters cache: a function that reads the
    signing keyring after another one did gets the cached value and makes no call, so its own
    ``GetSecretValue`` (which it makes in AWS, in its own process) would never be judged.
    """
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

    original = SecretsProvider.fetch_from_cache

    def fetch_from_cache(provider: Any, key: Any) -> Any:
        value = original(provider, key)
        principal = current_principal()
        if principal is not None:
            for recorder in recorders:
                try:
                    recorder.record(principal, "secretsmanager", "GetSecretValue", {"SecretId": str(key[0])})
                except Exception as error:  # never raised into the code under test
                    recorder.errors.append(f"{principal} cached secretsmanager:GetSecretValue: {error!r}"[:2000])
        return value

    SecretsProvider.fetch_from_cache = fetch_from_cache  # type: ignore[method-assign,assignment]


def lambda_service_uses(template: DeployedTemplate) -> dict[str, list[tuple[str, str]]]:
    """What the Lambda service does with each function's role: poll its event sources (reading through
    the source's key) and write failed batches to their on-failure destination."""
    out: dict[str, list[tuple[str, str]]] = {}
    services = {
        logical_id: f"function:{f['Properties']['Environment']['Variables']['POWERTOOLS_SERVICE_NAME']}"
        for logical_id, f in template.of_type("AWS::Lambda::Function")
        if "POWERTOOLS_SERVICE_NAME" in f["Properties"].get("Environment", {}).get("Variables", {})
    }
    for _, mapping in template.of_type("AWS::Lambda::EventSourceMapping"):
        props = mapping["Properties"]
        name = services.get(props["FunctionName"].get("Ref", ""))
        if name is None:
            continue
        pairs = out.setdefault(name, [])
        source = str(template.resolve(props["EventSourceArn"]))
        actions: tuple[str, ...]
        if ":sqs:" in source:
            actions = (
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            )
        else:
            actions = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
            pairs.append(("dynamodb:ListStreams", "*"))
        pairs.extend((action, source) for action in actions)
        keyed: list[tuple[str, tuple[str, ...]]] = [(source, READ_KEY_ACTIONS)]
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            target = str(template.resolve(destination))
            pairs.append(("sqs:SendMessage", target))
            keyed.append((target, WRITE_KEY_ACTIONS))
        for resource, key_actions in keyed:
            logical_id = template.logical_id_of(resource)
            key = template.encryption_key(logical_id) if logical_id else None
            if key is not None:
                pairs.extend((a, template.attribute(key, "Arn")) for a in key_actions)
    return out


def check(template: DeployedTemplate, principal: Principal, use: Use) -> list[tuple[str, str]]:
    """The permissions ``use`` lacks under ``principal``'s role: (missing permission, reason) pairs."""
    missing: list[tuple[str, str]] = []
    resources = (use.resource, *use.alternatives)
    if use.resource == ANY_STATE_MACHINE:  # a task token: any of the stack's state machines
        resources = tuple(template.attribute(i) for i, _ in template.of_type("AWS::StepFunctions::StateMachine"))
    elif use.resource == ANY_STREAM:  # a shard iterator: any stream of the stack's tables
        resources = tuple(
            template.attribute(i, "StreamArn").replace("*", "any")
            for i, table in template.of_type("AWS::DynamoDB::Table")
            if "StreamSpecification" in table["Properties"]
        )
    decisions = [evaluate(principal.statements, Request(use.action, r)) for r in resources]
    service = use.operation.split(":", 1)[0]
    context = {
        "kms:ViaService": f"{_KMS_SERVICE.get(service, service)}.{REGION}.amazonaws.com",
        "kms:CallerAccount": ACCOUNT,
    }
    if Decision.ALLOWED not in decisions:
        decision = Decision.EXPLICIT_DENY if Decision.EXPLICIT_DENY in decisions else Decision.IMPLICIT_DENY
        missing.append((f"{use.action} on {use.resource}", f"{decision.value} in role {principal.role_id}"))
    logical_id = template.logical_id_of(use.resource)
    key = template.encryption_key(logical_id) if logical_id else None
    if key is not None and use.access is not None:
        actions = WRITE_KEY_ACTIONS if use.access == "write" else READ_KEY_ACTIONS
        for action in actions:
            reason = key_denies(template, key, principal, action, context)
            if reason:
                missing.append((f"{action} on key {key} (it encrypts {logical_id})", reason))
    return missing


def key_denies(
    template: DeployedTemplate, key: str, principal: Principal, action: str, context: Mapping[str, str]
) -> str:
    """Why ``principal`` may not use ``action`` on ``key`` (empty when it may).

    KMS allows a request when the key policy allows the principal directly, or when it delegates to
    the account (a statement for ``arn:aws:iam::<account>:root``) and the identity policy allows it.
    """
    key_arn = template.attribute(key, "Arn")
    policy = template.key_policy(key)
    root = f"arn:aws:iam::{ACCOUNT}:root"
    identity_decision = evaluate(principal.statements, Request(action, key_arn, context))
    if identity_decision is Decision.EXPLICIT_DENY:
        return f"explicitly denied in role {principal.role_id}"
    direct = evaluate(policy, Request(action, key_arn, context, principal.role_arn), resource_policy=True)
    if direct is Decision.EXPLICIT_DENY:
        return f"explicitly denied by the policy of key {key}"
    if direct is Decision.ALLOWED:
        return ""
    delegated = evaluate(policy, Request(action, key_arn, context, root), resource_policy=True)
    if delegated is not Decision.ALLOWED:
        return f"the policy of key {key} neither names role {principal.role_id} nor delegates to the account"
    if identity_decision is not Decision.ALLOWED:
        return f"{identity_decision.value} in role {principal.role_id}"
    return ""


def resource_policy_denies(
    template: DeployedTemplate, logical_id: str, service: str, action: str, context: Mapping[str, str]
) -> str:
    """Why a service principal (e.g. ``events.amazonaws.com``) may not do ``action`` on a resource."""
    statements: tuple[Statement, ...] = template.resource_policy(logical_id)
    resource = (
        template.attribute(logical_id, "Arn")
        if "Arn" in identity(template.resources[logical_id]["Type"], logical_id)
        else template.attribute(logical_id)
    )
    request = Request(action, resource, {"aws:SecureTransport": "true", **context}, principal=service)
    decision = evaluate(statements, request, resource_policy=True)
    return "" if decision is Decision.ALLOWED else f"{decision.value} in the resource policy of {logical_id}"


def _translate(resource: str, translate: Mapping[str, str]) -> str:
    if resource in translate:
        return translate[resource]
    # An execution (``arn:...:execution:<state machine name>:<id>``) is named after its state machine.
    head, found, tail = resource.partition(":execution:")
    if found and head.startswith("arn:") and ":states:" in head:
        name, _, execution = tail.partition(":")
        machine = translate.get(f"{head}:stateMachine:{name}")
        if machine is not None:
            return machine.replace(":stateMachine:", ":execution:", 1) + f":{execution}"
    for runtime, canonical in translate.items():
        if runtime.startswith("arn:") and resource.startswith(runtime + "/"):
            return canonical + resource[len(runtime) :]
    return resource


def _order(use: Use) -> tuple[str, str, str, str]:
    return (use.principal, use.operation, use.action, use.resource)
