"""Customer Churned reaches the churn function through an encrypted queue with retries, a dead-letter queue
and an alarm; the rule takes the event from any source but the platform's own."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from infra.constructs.churn import MAX_RECEIVES
from nps.events.patterns import CUSTOMER_CHURNED_EVENTS
from tests.permissions.template import DeployedTemplate, deployed_template

pytestmark = pytest.mark.infra

SERVICE = "churn"


@pytest.fixture(scope="module")
def template() -> DeployedTemplate:
    return deployed_template()


def event(source: str, detail_type: str = "Customer Churned") -> dict[str, object]:
    return {"source": source, "detail-type": detail_type, "detail": {"contact_id": "c-1", "churned_at": "2026-11-30"}}


def test_the_rule_takes_customer_churned_from_any_source_but_nps() -> None:
    pattern = EventPattern.load(json.dumps(CUSTOMER_CHURNED_EVENTS))

    def matches(evt: dict[str, object]) -> bool:
        return bool(pattern.matches_event(evt))  # type: ignore[arg-type]

    assert matches(event("billing"))
    assert matches(event("com.example.crm"))
    assert not matches(event("nps"))
    assert not matches(event("billing", "Customer Renewed"))


def test_churn_events_reach_an_encrypted_queue_with_retries_a_dead_letter_queue_and_an_alarm(
    template: DeployedTemplate,
) -> None:
    (rule,) = [
        r["Properties"]
        for _, r in template.of_type("AWS::Events::Rule")
        if r["Properties"]["EventPattern"] == CUSTOMER_CHURNED_EVENTS
    ]
    (target,) = rule["Targets"]
    assert "DeadLetterConfig" in target
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue_id = target["Arn"]["Fn::GetAtt"][0]
    queue = template.resources[queue_id]["Properties"]
    assert template.encryption_key(queue_id) is not None
    redrive = queue["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == MAX_RECEIVES
    dead_letters_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert template.encryption_key(dead_letters_id) is not None
    (mapping,) = [
        m["Properties"]
        for _, m in template.of_type("AWS::Lambda::EventSourceMapping")
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["FunctionName"]["Ref"] == template.function_id(SERVICE)
    alarmed = [
        a["Properties"]
        for _, a in template.of_type("AWS::CloudWatch::Alarm")
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters_id, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert len(alarmed) == 1
