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
    # Context as `cdk deploy -c key=value` passes it: text, JSON lists included
    context: dict[str, object] = {
        "senderIdentity": "mail.acme.example",
        "triggerDetailTypes": '["Ticket Closed", "Order Delivered"]',
        "deliverConcurrency": "2",
    }
    app, stack = build_app(context)
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
    # The JSON text given with -c is the list of detail types, not the characters of a string
    assert rule["EventPattern"]["detail-type"] == ["Ticket Closed", "Order Delivered"]
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


# --------------------------------------------------------------------------------------------------
# Per-table permissions: which function may do what on which table (and the key that encrypts them)
# --------------------------------------------------------------------------------------------------

TABLES = ("invites", "responses", "aggregates", "surveys", "contacts", "suppressions", "followups")


def _table_ids(template: Template) -> dict[str, str]:
    """Table logical name → CloudFormation logical id (``StorageInvites…``)."""
    ids = {}
    for logical_id in resources(template, "AWS::DynamoDB::Table"):
        for name in TABLES:
            if logical_id.lower().startswith(f"storage{name}"):
                ids[name] = logical_id
    return ids


def _key_id(template: Template) -> str:
    (key_id,) = [k for k in resources(template, "AWS::KMS::Key") if k.startswith("StorageDataKey")]
    return key_id


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def table_actions(template: Template, role_prefix: str) -> dict[str, set[str]]:
    """Table logical name → the DynamoDB actions the role's policies allow on it (or its indexes)."""
    out: dict[str, set[str]] = {}
    ids = _table_ids(template)
    for statement in _policy_statements(template, role_prefix):
        text = json.dumps(statement["Resource"])
        for name, logical_id in ids.items():
            if f'"{logical_id}"' in text:
                out.setdefault(name, set()).update(a for a in _actions(statement) if a.startswith("dynamodb:"))
    return out


def key_actions(template: Template, role_prefix: str) -> set[str]:
    """The ``kms:`` actions the role's policies allow on the data key."""
    key_id = _key_id(template)
    return {
        action
        for statement in _policy_statements(template, role_prefix)
        if f'"{key_id}"' in json.dumps(statement["Resource"])
        for action in _actions(statement)
        if action.startswith("kms:")
    }


def test_the_deliver_function_holds_exactly_its_table_actions_and_the_key_they_need(template: Template) -> None:
    # Given the deliver function's role
    actions = table_actions(template, "SendingDeliverServiceRole")
    # Then it may do exactly what delivering needs, table by table
    assert actions == {
        # DeleteItem: a queued invite of a contact erased meanwhile (docs/privacy.md)
        "invites": {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem"},
        "aggregates": {"dynamodb:UpdateItem"},
        # ConditionCheckItem: the claim of a send checks the contact was not erased
        "contacts": {"dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:UpdateItem"},
        "surveys": {"dynamodb:GetItem", "dynamodb:PutItem"},
        # DeleteItem: lifting a STOP-only suppression once SNS says the number is opted in again
        "suppressions": {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"},
        "responses": {"dynamodb:GetItem"},
    }
    # And it may use the key those tables are encrypted with, to read and to write
    assert {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} <= key_actions(template, "SendingDeliverServiceRole")


def test_the_invite_sweep_may_only_query_and_update_invites_and_use_their_key(template: Template) -> None:
    # Given the sweep function's role
    actions = table_actions(template, "SendingSweepInvitesServiceRole")
    # Then it may only query the invites (their in-flight index, no other) and update them
    assert actions == {"invites": {"dynamodb:Query", "dynamodb:UpdateItem"}}
    statements = _policy_statements(template, "SendingSweepInvitesServiceRole")
    resources_text = json.dumps([s["Resource"] for s in statements if "dynamodb:Query" in _actions(s)])
    assert "/index/in_flight" in resources_text
    assert "/index/*" not in resources_text
    # And it may use the invites table's key
    assert {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} <= key_actions(
        template, "SendingSweepInvitesServiceRole"
    )


def test_a_schedule_runs_the_invite_sweep_every_ten_minutes(template: Template) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    (sweep_id,) = [lid for lid in functions if lid.startswith("SendingSweepInvites")]
    schedules = [
        s["Properties"]
        for s in resources(template, "AWS::Scheduler::Schedule").values()
        if sweep_id in json.dumps(s["Properties"]["Target"]["Arn"])
    ]
    (schedule,) = schedules
    assert schedule["ScheduleExpression"] == "rate(10 minutes)"
    assert json.loads(schedule["Target"]["Input"]) == {"action": "sweep"}
    environment = functions[sweep_id]["Properties"]["Environment"]["Variables"]
    assert environment["STUCK_CLAIM_MINUTES"] == "15"


def test_an_alarm_stays_on_while_invites_are_in_an_unknown_state(template: Template) -> None:
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "InvitesUnknownOutstanding"
    ]
    (alarm,) = alarms
    assert alarm["Namespace"] == "NPS"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "sweep_invites"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    # (the sweep reports every ten minutes; between reports the alarm keeps its state)
    assert alarm["TreatMissingData"] == "ignore"
    assert alarm["AlarmActions"]


def test_the_planner_continues_large_waves_from_its_own_queue_one_message_at_a_time(template: Template) -> None:
    # Given the synthesized planner and its planning queue
    (planner_id,) = [k for k in resources(template, "AWS::Lambda::Function") if k.startswith("SendingPlanner")]
    (queue_id,) = [k for k in resources(template, "AWS::SQS::Queue") if k.startswith("SendingPlanningQueue")]
    planner = resources(template, "AWS::Lambda::Function")[planner_id]["Properties"]
    queue = resources(template, "AWS::SQS::Queue")[queue_id]["Properties"]
    # Then the planner knows its queue and plans a wave for a few minutes per invocation
    variables = planner["Environment"]["Variables"]
    assert variables["PLANNING_QUEUE_URL"] == {"Ref": queue_id}
    assert float(variables["PLANNING_BUDGET_SECONDS"]) <= 300
    # And the queue feeds the planner one continuation per invocation, hidden while one is planned
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 1, "FunctionName": {"Ref": planner_id}, "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]}},
    )
    assert queue["VisibilityTimeout"] >= planner["Timeout"]
    # And a continuation that keeps failing lands in the planner's dead-letter queue, encrypted
    assert queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0].startswith("SendingPlannerDeadLetters")
    assert "KmsMasterKeyId" in queue


def _throttle_and_concurrency(context: dict[str, Any]) -> tuple[dict[str, Any], int, str]:
    app, stack = build_app(context)
    app.synth()
    template = Template.from_stack(stack)
    (stage,) = resources(template, "AWS::ApiGatewayV2::Stage").values()
    mappings = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"].get("BatchSize") == 10 and "ScalingConfig" in m["Properties"]
    ]
    (deliver,) = [
        f["Properties"]
        for k, f in resources(template, "AWS::Lambda::Function").items()
        if k.startswith("SendingDeliver")
    ]
    return (
        stage["Properties"]["DefaultRouteSettings"],
        mappings[0]["ScalingConfig"]["MaximumConcurrency"],
        deliver["Environment"]["Variables"]["SEND_RATE_PER_SECOND"],
    )


def test_the_api_throttle_and_the_deliver_concurrency_follow_from_the_send_rate() -> None:
    # Given a stack that sends 200 invites a second
    throttle, concurrency, rate = _throttle_and_concurrency({"sendRatePerSecond": 200})
    # Then the response API takes 5 requests per send per second (scanners and people), with a 2x burst
    assert throttle["ThrottlingRateLimit"] == 1_000
    assert throttle["ThrottlingBurstLimit"] == 2_000
    # And deliver runs enough instances for the rate at 5 sends a second each
    assert concurrency == 40
    assert float(rate) == 200


def test_a_slow_sender_keeps_the_throttle_floor_and_an_explicit_throttle_wins() -> None:
    # Given the default send rate (10/s), and one stack with the throttle set by hand
    default, concurrency, _ = _throttle_and_concurrency({})
    explicit, _, _ = _throttle_and_concurrency({"sendRatePerSecond": 200, "apiRateLimit": 300})
    # Then the default keeps the floor of 50 requests/s (burst 100) and two deliver instances
    assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (50, 100)
    assert concurrency == 2
    # And a throttle given in context is used as given, its burst derived from it
    assert (explicit["ThrottlingRateLimit"], explicit["ThrottlingBurstLimit"]) == (300, 600)
