"""The sending side in the synthesized template: queues, DLQs, schedules, SES, SNS and scoped roles."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.app import build_app

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template() -> Template:
    app, stack = build_app({"senderIdentity": "mail.acme.example"})
    app.synth()
    return Template.from_stack(stack)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def _policy_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for logical_id, policy in resources(template, "AWS::IAM::Policy").items():
        if logical_id.startswith(role_prefix):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def test_email_sending_is_scoped_to_the_sender_identity_and_the_configuration_set(template: Template) -> None:
    # Given the stack synthesized with a sender identity from context
    statements = _policy_statements(template, "SendingDeliverServiceRole")
    # When we look for the SES permission of the deliver function
    (ses,) = [s for s in statements if "ses:SendRawEmail" in json.dumps(s["Action"])]
    # Then it names exactly the identity and the configuration set, no wildcard
    text = json.dumps(ses["Resource"])
    assert "identity/mail.acme.example" in text
    assert "configuration-set/" in text
    assert '"*"' not in text
    assert len(ses["Resource"]) == 2


def test_the_deliver_function_reads_the_send_queue_with_partial_failures_and_capped_concurrency(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 2},
        },
    )


def test_the_send_queue_has_a_dead_letter_queue_and_a_visibility_timeout_above_the_function_timeout(
    template: Template,
) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    (send,) = [q for lid, q in queues.items() if lid.startswith("SendingSendQueue")]
    assert "deadLetterTargetArn" in send["Properties"]["RedrivePolicy"]
    assert send["Properties"]["VisibilityTimeout"] >= 6 * 60
    assert "KmsMasterKeyId" in send["Properties"]


def test_ses_bounces_and_complaints_reach_the_suppress_function_through_an_encrypted_topic(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "EventDestination": Match.object_like(
                {"MatchingEventTypes": Match.array_with(["bounce", "complaint"]), "Enabled": True}
            )
        },
    )
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "lambda", "RedrivePolicy": Match.any_value()}
    )


def test_reminders_run_hourly_and_business_events_start_the_planner(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "rate(1 hour)",
            "Target": Match.object_like({"DeadLetterConfig": Match.any_value()}),
        },
    )
    rules = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if "Ticket Closed" in json.dumps(r["Properties"].get("EventPattern", {}))
    ]
    (rule,) = rules
    assert rule["EventPattern"]["source"] == [{"anything-but": ["nps"]}]
    (target,) = rule["Targets"]
    assert "DeadLetterConfig" in target


def test_the_import_bucket_is_private_encrypted_and_tls_only(template: Template) -> None:
    (bucket,) = [b for lid, b in resources(template, "AWS::S3::Bucket").items() if "ContactImports" in lid]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    policies = resources(template, "AWS::S3::BucketPolicy")
    assert any("aws:SecureTransport" in json.dumps(p) for p in policies.values())


def test_unsubscribe_routes_are_on_the_response_api(template: Template) -> None:
    routes = {r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert {"GET /u/{token}", "POST /u/{token}"} <= routes
