"""The referral redirect is a public route of the response API for GET, HEAD and POST /g/{token}, and
Referral Joined reaches a retried, dead-lettered, alarmed and encrypted queue read with partial failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from infra.constructs.referrals import MAX_RECEIVES
from tests.permissions.iam import Decision, Request, evaluate
from tests.permissions.template import DeployedTemplate, deployed_template

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template() -> DeployedTemplate:
    return deployed_template()


def test_the_redirect_answers_get_head_and_post_of_g_token_on_the_response_api(template: DeployedTemplate) -> None:
    keys = {r["Properties"]["RouteKey"] for _, r in template.of_type("AWS::ApiGatewayV2::Route")}
    assert {"GET /g/{token}", "HEAD /g/{token}", "POST /g/{token}"} <= keys
    function_id = template.function_id("referral")
    integrations = [
        i["Properties"]
        for _, i in template.of_type("AWS::ApiGatewayV2::Integration")
        if function_id in json.dumps(i["Properties"].get("IntegrationUri"))
    ]
    assert len(integrations) == 1


def joins_rule(template: DeployedTemplate) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        r["Properties"]
        for _, r in template.of_type("AWS::Events::Rule")
        if r["Properties"]["EventPattern"].get("detail-type") == ["Referral Joined"]
    ]
    (rule,) = rules
    return rule


def test_referral_joined_from_the_referral_program_matches_and_the_platforms_own_events_do_not(
    template: DeployedTemplate,
) -> None:
    pattern = EventPattern.load(json.dumps(joins_rule(template)["EventPattern"]))

    def event(source: str, detail_type: str = "Referral Joined") -> dict[str, Any]:
        return {"source": source, "detail-type": detail_type, "detail": {"contact_id": "c-1"}}

    assert pattern.matches_event(event("acme.referrals"))  # type: ignore[arg-type]
    assert not pattern.matches_event(event("nps"))  # type: ignore[arg-type]
    assert not pattern.matches_event(event("acme.referrals", "NPS Referral Clicked"))  # type: ignore[arg-type]


def test_joins_reach_an_encrypted_queue_with_retries_a_dead_letter_queue_and_its_alarm(
    template: DeployedTemplate,
) -> None:
    (target,) = joins_rule(template)["Targets"]
    assert "DeadLetterConfig" in target
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue_id = target["Arn"]["Fn::GetAtt"][0]
    queue = template.resources[queue_id]["Properties"]
    assert template.encryption_key(queue_id) is not None
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES
    dead_letters_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert template.encryption_key(dead_letters_id) is not None
    (mapping,) = [
        m["Properties"]
        for _, m in template.of_type("AWS::Lambda::EventSourceMapping")
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["FunctionName"]["Ref"] == template.function_id("referral_joins")
    alarmed = [
        a["Properties"]
        for _, a in template.of_type("AWS::CloudWatch::Alarm")
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters_id, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert len(alarmed) == 1


def test_the_redirect_may_read_its_secret_and_publish_and_the_joins_consumer_may_do_neither(
    template: DeployedTemplate,
) -> None:
    principals = template.principals()
    (secret,) = [lid for lid, _ in template.of_type("AWS::SecretsManager::Secret") if "LinkSigningKeys" in lid]
    (bus,) = [lid for lid, _ in template.of_type("AWS::Events::EventBus")]
    secret_arn, bus_arn = template.attribute(secret), template.attribute(bus, "Arn")

    def may(function: str, action: str, resource: str) -> bool:
        return evaluate(principals[f"function:{function}"].statements, Request(action, resource)) is Decision.ALLOWED

    assert may("referral", "secretsmanager:GetSecretValue", secret_arn)
    assert may("referral", "events:PutEvents", bus_arn)
    assert not may("referral_joins", "secretsmanager:GetSecretValue", secret_arn)
    assert not may("referral_joins", "events:PutEvents", bus_arn)
