"""The follow-up workflows as synthesized: the state machines' graphs, retries and catches, the order of
their steps, the rules that start them, their alarms and the webhook. (The same definitions are executed
on moto by tests/integration/test_follow_ups.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from local.workflows import synthesized_template
from nps.events.patterns import FOLLOW_UP_ALERTED, FOLLOW_UP_CATEGORIES, FOLLOW_UP_STARTS

pytestmark = pytest.mark.infra

WEBHOOK_CONTEXT: dict[str, object] = {
    "alertWebhookUrl": "https://hooks.example.com/services/T/B/X",
    "alertWebhookSecretName": "nps/webhook",
}
PARK = "ParkInDeadLetterQueue"
PERMANENT_ERRORS = ["InvalidFollowUpEvent", "FollowUpNotFound", "FollowUpClosed"]
WAITS = {
    "detractor": {"WaitToEmail", "WaitToResurvey", "WaitForAnswer"},
    "passive": {"WaitToEmail"},
    "promoter": {"WaitToEmail"},
}
CATEGORIES = pytest.mark.parametrize("category", FOLLOW_UP_CATEGORIES)
#: The follow-up function's actions each workflow calls, in order (``close`` after the answer wait).
STEPS: dict[str, tuple[str, ...]] = {
    "detractor": ("open", "email", "open_task", "resurvey", "close"),
    "passive": ("open", "email"),
    "promoter": ("open", "email"),
}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.from_json(synthesized_template())  # synthesized once per test session


@pytest.fixture(scope="module")
def webhook_template() -> Template:
    app, stack = build_app(WEBHOOK_CONTEXT)
    app.synth()
    return Template.from_stack(stack)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def placeholder(part: object) -> str:
    """A CloudFormation reference inside the definition, as a string naming what it refers to."""
    if isinstance(part, dict) and "Ref" in part:
        return f"<Ref:{part['Ref']}>"
    if isinstance(part, dict) and "Fn::GetAtt" in part:
        logical_id, attribute = part["Fn::GetAtt"]
        return f"<GetAtt:{logical_id}.{attribute}>"
    return "<ref>"


def definition_of(machine: dict[str, Any]) -> dict[str, Any]:
    body = machine["Properties"]["DefinitionString"]
    if isinstance(body, str):
        text = body
    else:
        separator, parts = body["Fn::Join"]
        text = separator.join(p if isinstance(p, str) else placeholder(p) for p in parts)
    definition: dict[str, Any] = json.loads(text)
    return definition


def machine_id(template: Template, category: str) -> str:
    (logical_id,) = [
        lid
        for lid in resources(template, "AWS::StepFunctions::StateMachine")
        if f"FollowUps{category.capitalize()}" in lid
    ]
    return logical_id


def definition(template: Template, category: str) -> dict[str, Any]:
    return definition_of(resources(template, "AWS::StepFunctions::StateMachine")[machine_id(template, category)])


def states(template: Template, category: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = definition(template, category)["States"]
    return result


def successors(state: dict[str, Any], *, catches: bool = True) -> Iterator[str]:
    """Where a state can go next: its choices first, then its default, its next and (optionally) its catches."""
    for choice in state.get("Choices", []):
        yield choice["Next"]
    if "Default" in state:
        yield state["Default"]
    if "Next" in state:
        yield state["Next"]
    if catches:
        for catcher in state.get("Catch", []):
            yield catcher["Next"]


def steps_function_id(template: Template) -> str:
    (logical_id,) = [lid for lid in resources(template, "AWS::Lambda::Function") if lid.startswith("FollowUpsSteps")]
    return logical_id


def lambda_payload(state: dict[str, Any]) -> dict[str, Any] | None:
    """The payload a Lambda task sends (``Parameters.Payload`` for ``lambda:invoke*``, the parameters
    themselves for a function ARN resource), or None for any other state."""
    resource = state.get("Resource", "")
    if state["Type"] != "Task":
        return None
    if ":states:::lambda:invoke" in resource:
        payload: dict[str, Any] = state["Parameters"]["Payload"]
        return payload
    if resource.startswith("<GetAtt:") and resource.endswith(".Arn>"):
        parameters: dict[str, Any] = state["Parameters"]
        return parameters
    return None


def actions_in_order(graph: dict[str, dict[str, Any]], start: str) -> list[str]:
    """The follow-up function's actions by DFS from ``start`` (choices before default, catches ignored)."""
    visited: set[str] = set()
    actions: list[str] = []

    def visit(name: str) -> None:
        if name in visited:
            return
        visited.add(name)
        payload = lambda_payload(graph[name])
        if payload is not None and payload.get("action") not in actions:
            actions.append(payload["action"])
        for following in successors(graph[name], catches=False):
            visit(following)

    visit(start)
    return actions


# -- the state machines ---------------------------------------------------------------------------------
def test_three_standard_traced_logged_workflows_encrypted_at_rest(template: Template) -> None:
    machines = resources(template, "AWS::StepFunctions::StateMachine")
    assert len(machines) == 3
    assert {machine_id(template, c) for c in FOLLOW_UP_CATEGORIES} == set(machines)
    for machine in machines.values():
        props = machine["Properties"]
        assert props["StateMachineType"] == "STANDARD"
        assert props["TracingConfiguration"] == {"Enabled": True}
        assert props["LoggingConfiguration"]["Level"] == "ALL"
        # Execution data holds ids and task tokens only; an AWS-owned key spares every caller (the rules'
        # roles, a CRM resolving a task) a grant on the customer-managed key.
        assert props["EncryptionConfiguration"] == {"Type": "AWS_OWNED_KEY"}


@CATEGORIES
def test_every_state_is_reachable_and_every_path_ends(template: Template, category: str) -> None:
    body = definition(template, category)
    graph = states(template, category)
    reachable: set[str] = set()
    pending = [body["StartAt"]]
    while pending:
        name = pending.pop()
        if name in reachable:
            continue
        assert name in graph, f"{category}: dangling transition to {name}"
        reachable.add(name)
        pending.extend(successors(graph[name]))
    assert reachable == set(graph), f"{category}: unreachable {set(graph) - reachable}"
    for name, state in graph.items():
        terminal = state["Type"] in ("Succeed", "Fail") or state.get("End") is True
        if state["Type"] == "Choice":
            assert state["Choices"], name
            assert all("Next" in choice for choice in state["Choices"]), name
        elif not terminal:
            assert "Next" in state, f"{category}: {name} leads nowhere"


@CATEGORIES
def test_every_task_retries_transient_failures_only_and_parks_what_still_fails(
    template: Template, category: str
) -> None:
    graph = states(template, category)
    tasks = {name: state for name, state in graph.items() if state["Type"] == "Task" and name != PARK}
    assert tasks
    for name, task in tasks.items():
        retriers = task["Retry"]
        assert retriers[0] == {"ErrorEquals": PERMANENT_ERRORS, "MaxAttempts": 0}, name
        (transient,) = [r for r in retriers if r["ErrorEquals"] == ["States.TaskFailed"]]
        assert transient["MaxAttempts"] >= 3, name
        assert transient["BackoffRate"] >= 2, name
        # A retried timeout would reopen the team's task; States.ALL would retry the permanent errors too.
        for retrier in retriers:
            assert not {"States.ALL", "States.Timeout"} & set(retrier["ErrorEquals"]), name
        last = task["Catch"][-1]
        assert last["ErrorEquals"] == ["States.ALL"], name
        assert last["Next"] == PARK, name
    park = graph[PARK]
    assert park["Type"] == "Task"
    assert [r["ErrorEquals"] for r in park["Retry"]] == [["States.ALL"]]
    assert "Catch" not in park
    assert graph[park["Next"]]["Type"] == "Fail"


@CATEGORIES
def test_the_workflow_calls_the_follow_up_steps_in_order(template: Template, category: str) -> None:
    body = definition(template, category)
    graph = states(template, category)
    assert actions_in_order(graph, body["StartAt"]) == list(STEPS[category])
    # Every Lambda task invokes the follow-up function.
    steps_arn = f"<GetAtt:{steps_function_id(template)}.Arn>"
    for state in graph.values():
        if lambda_payload(state) is not None:
            assert steps_arn in (state["Resource"], state["Parameters"].get("FunctionName"))


def test_the_detractor_task_waits_for_the_team_or_times_out(template: Template) -> None:
    graph = states(template, "detractor")
    task = graph["OpenTaskAndWait"]
    assert task["Resource"].endswith("lambda:invoke.waitForTaskToken")
    assert task["TimeoutSecondsPath"] == "$.follow_up.settings.resolve_timeout_seconds"
    payload = task["Parameters"]["Payload"]
    assert payload["action"] == "open_task"
    assert payload["task_token.$"] == "$$.Task.Token"
    assert task["Catch"][0]["ErrorEquals"] == ["States.Timeout"]
    # A retraction that lands between the email and the task ends the workflow (nothing to resolve).
    assert task["Catch"][1] == {"ErrorEquals": ["FollowUpClosed"], "ResultPath": "$.closed", "Next": "Done"}
    assert task["Catch"][0]["Next"] == "TimedOut"
    assert graph["TimedOut"]["Type"] == "Pass"


@CATEGORIES
def test_waits_come_from_the_steps_never_fixed_durations(template: Template, category: str) -> None:
    waits = {name: state for name, state in states(template, category).items() if state["Type"] == "Wait"}
    assert set(waits) == WAITS[category]
    for name, wait in waits.items():
        assert wait["SecondsPath"].startswith("$."), name
        assert not {"Seconds", "Timestamp", "TimestampPath"} & set(wait), name


@CATEGORIES
def test_the_team_is_alerted_and_the_opened_event_published_by_sdk_tasks(template: Template, category: str) -> None:
    graph = states(template, category)
    sns_tasks = [name for name, s in graph.items() if s["Type"] == "Task" and s["Resource"].endswith("sns:publish")]
    assert sns_tasks == (["AlertTeam"] if category == "detractor" else [])
    if category == "detractor":
        # The alert also goes on the bus (the webhook's trigger), straight after the SNS alert.
        assert graph["AlertTeam"]["Next"] == "PublishAlert"
        (alert,) = graph["PublishAlert"]["Parameters"]["Entries"]
        assert (alert["DetailType"], alert["Source"]) == ("NPS Follow-up Alert", "nps")
    else:
        assert "PublishAlert" not in graph
    publish = graph["PublishOpened"]
    assert publish["Resource"].endswith("events:putEvents")
    (entry,) = publish["Parameters"]["Entries"]
    assert entry["DetailType"] == "NPS Follow-up Opened"
    assert entry["Source"] == "nps"
    assert entry["EventBusName"].startswith("<GetAtt:RoutingBus")


# -- what starts and watches them ----------------------------------------------------------------------
@CATEGORIES
def test_the_category_rule_starts_its_workflow_with_retries_and_a_dlq(template: Template, category: str) -> None:
    (rule,) = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern") == FOLLOW_UP_STARTS[category]
    ]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": machine_id(template, category)}
    assert "RoleArn" in target
    assert "DeadLetterConfig" in target
    assert "RetryPolicy" in target


@CATEGORIES
def test_failed_executions_raise_an_alarm(template: Template, category: str) -> None:
    dimension = {"Name": "StateMachineArn", "Value": {"Ref": machine_id(template, category)}}
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ExecutionsFailed"
        and a["Properties"].get("Namespace") == "AWS/States"
        and dimension in a["Properties"].get("Dimensions", [])
    ]
    assert len(alarms) == 1


def test_the_follow_up_events_queue_feeds_the_consumer_with_partial_batch_failures(template: Template) -> None:
    (queue_id,) = [
        lid
        for lid in resources(template, "AWS::SQS::Queue")
        if "RoutingFollowUpEvents" in lid and "DeadLetters" not in lid
    ]
    (mapping,) = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"].get("EventSourceArn") == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    function_id = mapping["FunctionName"]["Ref"]
    assert "FollowUpsEventsConsumer" in function_id
    assert function_id in resources(template, "AWS::Lambda::Function")


# -- the optional webhook --------------------------------------------------------------------------------
def test_the_webhook_posts_each_detractor_alert(webhook_template: Template) -> None:
    (connection,) = resources(webhook_template, "AWS::Events::Connection").values()
    assert "nps/webhook" in json.dumps(connection["Properties"]["AuthParameters"])
    (destination_id,) = resources(webhook_template, "AWS::Events::ApiDestination")
    (rule,) = [
        r["Properties"]
        for r in resources(webhook_template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern") == FOLLOW_UP_ALERTED
    ]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [destination_id, "Arn"]}
    assert "DeadLetterConfig" in target


def test_no_webhook_without_its_context(template: Template) -> None:
    template.resource_count_is("AWS::Events::Connection", 0)
    template.resource_count_is("AWS::Events::ApiDestination", 0)
    assert not [
        r
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern") == FOLLOW_UP_ALERTED
    ]


def test_a_webhook_url_without_its_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="alertWebhookSecretName"):
        build_app({"alertWebhookUrl": WEBHOOK_CONTEXT["alertWebhookUrl"]})
