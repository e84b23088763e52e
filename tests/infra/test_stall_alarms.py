"""Alarms for what can stall without failing: queue age, the stream's iterator age, throttles."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template() -> Template:
    app, stack = build_app()
    app.synth()
    return Template.from_stack(stack)


def alarms(template: Template) -> list[dict[str, Any]]:
    return [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()]


def dimension(alarm: dict[str, Any], name: str) -> Any:
    return next((d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == name), None)


def test_every_work_queue_alarms_when_its_oldest_message_waits_too_long(template: Template) -> None:
    # Given every queue that is not a dead-letter queue (those alarm on depth)
    queues = template.find_resources("AWS::SQS::Queue")
    dead_letters = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    depth_alarmed = {
        dimension(a, "QueueName")["Fn::GetAtt"][0]
        for a in alarms(template)
        if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    work_queues = set(queues) - dead_letters - depth_alarmed
    aged = {
        dimension(a, "QueueName")["Fn::GetAtt"][0]: a["Threshold"]
        for a in alarms(template)
        if a.get("MetricName") == "ApproximateAgeOfOldestMessage"
    }
    # Then each has an age alarm: an hour for the platform's own consumers, a day for the CRM's task queue
    assert work_queues
    assert set(aged) == work_queues
    assert {lid: t for lid, t in aged.items() if lid.startswith("FollowUpsTasks")} == {
        next(q for q in work_queues if q.startswith("FollowUpsTasks")): 86400
    }
    assert {t for lid, t in aged.items() if not lid.startswith("FollowUpsTasks")} == {3600}


def test_every_function_table_and_workflow_alarms_on_throttles(template: Template) -> None:
    functions = {
        lid
        for lid, f in template.find_resources("AWS::Lambda::Function").items()
        if "POWERTOOLS_SERVICE_NAME" in f["Properties"].get("Environment", {}).get("Variables", {})
    }
    throttled_functions = {
        dimension(a, "FunctionName")["Ref"] for a in alarms(template) if a.get("MetricName") == "Throttles"
    }
    assert functions <= throttled_functions
    tables = set(template.find_resources("AWS::DynamoDB::Table"))
    table_alarms = [a for a in alarms(template) if "throttled (a hot partition key" in a.get("AlarmDescription", "")]
    assert len(table_alarms) == len(tables)
    machines = template.find_resources("AWS::StepFunctions::StateMachine")
    assert len([a for a in alarms(template) if a.get("MetricName") == "ExecutionThrottled"]) == len(machines)


def test_the_score_function_alarms_when_it_falls_behind_the_responses_stream(template: Template) -> None:
    (alarm,) = [a for a in alarms(template) if a.get("MetricName") == "IteratorAge"]
    assert dimension(alarm, "FunctionName")["Ref"].startswith("ScoringScore")
    assert alarm["Threshold"] == 900_000
    assert alarm["Statistic"] == "Maximum"
