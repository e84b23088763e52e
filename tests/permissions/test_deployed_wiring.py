"""What AWS services do on the platform's behalf, checked on the synthesized template alone.

Some calls never run in a local test: the Lambda service polls queues and streams with the function's
role and sends failed batches to their destinations; EventBridge starts workflows with a rule's role or
delivers to a queue under its resource policy; the scheduler invokes with its role; a state machine's
tasks run under its role; SNS redrives to a dead-letter queue. Each is checked here the way AWS
authorizes it (role statements, resource policies and the key policy), and every service principal a
resource policy or the key admits must be scoped to this account's own sources (``aws:SourceArn`` /
``aws:SourceAccount``): a rule, topic or account elsewhere is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.permissions.calls import bus_arn as events_bus_arn
from tests.permissions.iam import Decision, Request, evaluate
from tests.permissions.recorder import WRITE_KEY_ACTIONS, Use, check, key_denies
from tests.permissions.template import ACCOUNT, REGION, DeployedTemplate, Principal, deployed_template

pytestmark = pytest.mark.infra

FOREIGN_ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def template() -> DeployedTemplate:
    return deployed_template()


def role_principal(template: DeployedTemplate, role_reference: Any, name: str) -> Principal:
    role_id = role_reference["Fn::GetAtt"][0]
    statements, sources = template.role_statements(role_id)
    return Principal(name, role_id, template.attribute(role_id, "Arn"), statements, sources)


def function_principal(template: DeployedTemplate, function_reference: Any) -> Principal:
    logical_id = function_reference["Ref"] if "Ref" in function_reference else function_reference["Fn::GetAtt"][0]
    function = template.resources[logical_id]["Properties"]
    service = function.get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME", logical_id)
    return role_principal(template, function["Role"], f"function:{service}")


def problems(template: DeployedTemplate, principal: Principal, uses: list[Use]) -> list[str]:
    return [
        f"{principal.name}: {use.action} on {use.resource}: {missing} ({reason})"
        for use in uses
        for missing, reason in check(template, principal, use)
    ]


def lid(reference: Any) -> str:
    return str(reference["Ref"] if "Ref" in reference else reference["Fn::GetAtt"][0])


def service_may_use_key(
    template: DeployedTemplate, key: str, service: str, context: dict[str, str], foreign: dict[str, str]
) -> list[str]:
    """The key admits ``service`` for its own sources, and refuses it for a foreign source."""
    found = []
    arn = template.attribute(key, "Arn")
    for action in WRITE_KEY_ACTIONS:
        if evaluate(template.key_policy(key), Request(action, arn, context, service), resource_policy=True) is not (
            Decision.ALLOWED
        ):
            found.append(f"key {key} does not let {service} {action} for {context}")
        if evaluate(template.key_policy(key), Request(action, arn, foreign, service), resource_policy=True) is (
            Decision.ALLOWED
        ):
            found.append(f"key {key} lets {service} {action} for a foreign source {foreign}")
    return found


def queue_admits(template: DeployedTemplate, queue: str, service: str, source_arn: str, foreign_arn: str) -> list[str]:
    """The queue's policy admits ``service`` sending for ``source_arn`` and refuses a foreign source."""
    found = []
    arn = template.attribute(queue, "Arn")
    statements = template.resource_policy(queue)
    ours = {"aws:SecureTransport": "true", "aws:SourceArn": source_arn, "aws:SourceAccount": ACCOUNT}
    theirs = {"aws:SecureTransport": "true", "aws:SourceArn": foreign_arn, "aws:SourceAccount": FOREIGN_ACCOUNT}
    if evaluate(statements, Request("sqs:SendMessage", arn, ours, service), resource_policy=True) is not (
        Decision.ALLOWED
    ):
        found.append(f"queue {queue} does not let {service} send for {source_arn}")
    if evaluate(statements, Request("sqs:SendMessage", arn, theirs, service), resource_policy=True) is Decision.ALLOWED:
        found.append(f"queue {queue} lets {service} send for a foreign source {foreign_arn}")
    key = template.encryption_key(queue)
    if key is not None:
        found += service_may_use_key(
            template, key, service, {"aws:SourceArn": source_arn, "aws:SourceAccount": ACCOUNT}, theirs
        )
    return found


def foreign(arn: str) -> str:
    return arn.replace(ACCOUNT, FOREIGN_ACCOUNT)


def test_the_lambda_service_may_poll_each_event_source_and_reach_its_failure_destination(
    template: DeployedTemplate,
) -> None:
    found: list[str] = []
    for _, mapping in template.of_type("AWS::Lambda::EventSourceMapping"):
        props = mapping["Properties"]
        principal = function_principal(template, props["FunctionName"])
        source = template.resolve(props["EventSourceArn"])
        if ":sqs:" in source:
            actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
            uses = [
                Use(principal.name, "lambda:poll", a, source, "read" if a == "sqs:ReceiveMessage" else None)
                for a in actions
            ]
        else:
            actions = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
            uses = [Use(principal.name, "lambda:poll", a, source, "read") for a in actions]
            uses.append(Use(principal.name, "lambda:poll", "dynamodb:ListStreams", "*"))
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            uses.append(
                Use(principal.name, "lambda:on-failure", "sqs:SendMessage", template.resolve(destination), "write")
            )
        found += problems(template, principal, uses)
    assert found == []


def test_asynchronous_invocations_reach_their_destinations(template: DeployedTemplate) -> None:
    found: list[str] = []
    for logical_id, function in template.of_type("AWS::Lambda::Function"):
        props = function["Properties"]
        if "Environment" not in props:
            continue
        principal = function_principal(template, {"Ref": logical_id})
        targets = []
        if "DeadLetterConfig" in props:
            targets.append(template.resolve(props["DeadLetterConfig"]["TargetArn"]))
        for _, config in template.of_type("AWS::Lambda::EventInvokeConfig"):
            if lid(config["Properties"]["FunctionName"]) == logical_id:
                for destination in config["Properties"].get("DestinationConfig", {}).values():
                    targets.append(template.resolve(destination["Destination"]))
        for target in targets:
            action = (
                "sqs:SendMessage"
                if ":sqs:" in target
                else "sns:Publish"
                if ":sns:" in target
                else "lambda:InvokeFunction"
            )
            found += problems(template, principal, [Use(principal.name, "lambda:destination", action, target, "write")])
    assert found == []


def targets(template: DeployedTemplate) -> Iterator[tuple[str, dict[str, Any]]]:
    for rule_id, rule in template.of_type("AWS::Events::Rule"):
        for target in rule["Properties"].get("Targets", []):
            yield rule_id, target


def test_each_rule_target_is_reachable_by_its_role_or_its_resource_policy_and_only_for_this_rule(
    template: DeployedTemplate,
) -> None:
    found: list[str] = []
    for rule_id, target in targets(template):
        rule_arn = template.attribute(rule_id, "Arn")
        target_id = lid(target["Arn"])
        kind = template.resources[target_id]["Type"]
        if "RoleArn" in target:
            principal = role_principal(template, target["RoleArn"], f"rule:{rule_id}")
            action = {
                "AWS::StepFunctions::StateMachine": "states:StartExecution",
                "AWS::Events::EventBus": "events:PutEvents",
                "AWS::Events::ApiDestination": "events:InvokeApiDestination",
                "AWS::Lambda::Function": "lambda:InvokeFunction",
            }[kind]
            resource = template.attribute(target_id, "Arn" if kind != "AWS::StepFunctions::StateMachine" else "Ref")
            found += problems(template, principal, [Use(principal.name, "events:target", action, resource, "write")])
        elif kind == "AWS::SQS::Queue":
            found += queue_admits(template, target_id, "events.amazonaws.com", rule_arn, foreign(rule_arn))
        elif kind == "AWS::Lambda::Function":
            permitted = [
                p
                for _, p in template.of_type("AWS::Lambda::Permission")
                if lid(p["Properties"]["FunctionName"]) == target_id
                and p["Properties"]["Principal"] == "events.amazonaws.com"
                and template.resolve(p["Properties"].get("SourceArn")) == rule_arn
            ]
            if not permitted:
                found.append(f"function {target_id} does not let rule {rule_id} invoke it")
        dead_letters = target.get("DeadLetterConfig", {}).get("Arn")
        if dead_letters:
            found += queue_admits(template, lid(dead_letters), "events.amazonaws.com", rule_arn, foreign(rule_arn))
    assert found == []


def test_schedules_may_invoke_their_targets_and_dead_letter_their_failures(template: DeployedTemplate) -> None:
    found: list[str] = []
    for schedule_id, schedule in template.of_type("AWS::Scheduler::Schedule"):
        target = schedule["Properties"]["Target"]
        principal = role_principal(template, target["RoleArn"], f"schedule:{schedule_id}")
        uses = [Use(principal.name, "scheduler:target", "lambda:InvokeFunction", template.resolve(target["Arn"]))]
        if "DeadLetterConfig" in target:
            uses.append(
                Use(
                    principal.name,
                    "scheduler:dlq",
                    "sqs:SendMessage",
                    template.resolve(target["DeadLetterConfig"]["Arn"]),
                    "write",
                )
            )
        found += problems(template, principal, uses)
    assert found == []


def test_the_role_survey_schedules_use_may_start_a_wave_and_dead_letter_a_missed_one(
    template: DeployedTemplate,
) -> None:
    # The CLI creates one schedule per survey from the stack's outputs (nps.sending.adapters.schedules).
    outputs = {name: output["Value"] for name, output in template.template["Outputs"].items()}
    principal = role_principal(template, outputs["SchedulerRoleArn"], "schedule:survey waves")
    uses = [
        Use(principal.name, "scheduler:target", "lambda:InvokeFunction", template.resolve(outputs["PlannerArn"])),
        Use(
            principal.name,
            "scheduler:dlq",
            "sqs:SendMessage",
            template.resolve(outputs["PlannerDeadLetterQueueArn"]),
            "write",
        ),
    ]
    assert problems(template, principal, uses) == []


def _tasks(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        if "Iterator" in state:
            yield from _tasks(state["Iterator"]["States"])
        if "ItemProcessor" in state:
            yield from _tasks(state["ItemProcessor"]["States"])


def task_uses(template: DeployedTemplate, name: str, task: dict[str, Any]) -> list[Use]:
    if task["Resource"].startswith("arn:aws:lambda:"):  # a Lambda task named by the function's ARN
        return [Use(name, "states:task", "lambda:InvokeFunction", task["Resource"])]
    integration = task["Resource"].split(":::", 1)[-1].split(".waitForTaskToken")[0].split(".sync")[0]
    params = task.get("Parameters", task.get("Arguments", {}))
    if integration == "lambda:invoke":
        return [Use(name, "states:task", "lambda:InvokeFunction", params["FunctionName"])]
    if integration == "sns:publish":
        return [Use(name, "states:task", "sns:Publish", params["TopicArn"], "write")]
    if integration == "sqs:sendMessage":
        queue = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        return [Use(name, "states:task", "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}", "write")]
    if integration == "events:putEvents":
        return [
            Use(
                name,
                "states:task",
                "events:PutEvents",
                events_bus_arn(e.get("EventBusName")),
                "write",
            )
            for e in params["Entries"]
        ]
    service, _, operation = integration.removeprefix("aws-sdk:").partition(":")
    return [Use(name, "states:task", f"{service}:{operation[:1].upper()}{operation[1:]}", "*")]


def test_every_state_machine_task_is_allowed_by_its_role(template: DeployedTemplate) -> None:
    found: list[str] = []
    principals = template.principals()
    machines = 0
    for logical_id, machine in template.of_type("AWS::StepFunctions::StateMachine"):
        definition = json.loads(template.resolve(machine["Properties"]["DefinitionString"]))
        principal = next(p for p in principals.values() if p.role_id == lid(machine["Properties"]["RoleArn"]))
        uses = [use for task in _tasks(definition["States"]) for use in task_uses(template, principal.name, task)]
        assert uses, f"{logical_id} has no tasks"
        found += problems(template, principal, uses)
        machines += 1
    assert machines == 3
    assert found == []


def test_sns_may_redrive_failed_deliveries_to_their_dead_letter_queues(template: DeployedTemplate) -> None:
    found: list[str] = []
    for _, subscription in template.of_type("AWS::SNS::Subscription"):
        redrive = subscription["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn")
        if redrive:
            topic = template.resolve(subscription["Properties"]["TopicArn"])
            found += queue_admits(template, lid(redrive), "sns.amazonaws.com", topic, foreign(topic))
    assert found == []


def test_the_key_admits_services_only_for_this_accounts_sources(template: DeployedTemplate) -> None:
    # Given every statement of the key policy that names a service principal
    (key,) = [k for k, _ in template.of_type("AWS::KMS::Key")]
    arn = template.attribute(key, "Arn")
    foreign_context = {
        "aws:SourceArn": f"arn:aws:events:{REGION}:{FOREIGN_ACCOUNT}:rule/theirs",
        "aws:SourceAccount": FOREIGN_ACCOUNT,
        "kms:EncryptionContext:aws:events:event-bus:arn": f"arn:aws:events:{REGION}:{FOREIGN_ACCOUNT}:event-bus/x",
    }
    services = {p for s in template.key_policy(key) for p in s.principals if p.endswith(".amazonaws.com")}
    # Then none of them may use the key for another account's resources
    leaks = [
        f"{service} {action}"
        for service in sorted(services - {"cloudwatch.amazonaws.com"})
        for action in WRITE_KEY_ACTIONS
        if evaluate(template.key_policy(key), Request(action, arn, foreign_context, service), resource_policy=True)
        is Decision.ALLOWED
    ]
    assert leaks == []


def test_the_event_bus_may_use_its_key(template: DeployedTemplate) -> None:
    (bus,) = [b for b, _ in template.of_type("AWS::Events::EventBus")]
    key = template.encryption_key(bus)
    assert key is not None
    bus_arn = template.attribute(bus, "Arn")
    context = {
        "aws:SourceArn": bus_arn,
        "aws:SourceAccount": ACCOUNT,
        "kms:EncryptionContext:aws:events:event-bus:arn": bus_arn,
    }
    assert (
        service_may_use_key(template, key, "events.amazonaws.com", context, {"aws:SourceAccount": FOREIGN_ACCOUNT})
        == []
    )


def test_the_key_policy_check_sees_a_principal_it_does_not_name(template: DeployedTemplate) -> None:
    # A role the key policy does not name is still allowed through the account delegation when its own
    # policy grants the action, and refused when it does not.
    (key,) = [k for k, _ in template.of_type("AWS::KMS::Key")]
    empty = Principal("function:none", "NoRole", f"arn:aws:iam::{ACCOUNT}:role/none", (), ())
    assert "not allowed" in key_denies(template, key, empty, "kms:Decrypt", {})
