"""Paths that must not lose a person's feedback, in the synthesized template: SES bounces and complaints
(SNS → suppress), unsubscribes (suppressions stream → events) and detractor comments (follow-up events).

Each test names the resource, who may touch it, and the alarm that says when something landed in a
dead-letter queue.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template() -> Template:
    app, stack = build_app({})
    app.synth()
    return Template.from_stack(stack)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def one(template: Template, kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    """The only resource of ``kind`` whose logical id starts with ``prefix``."""
    (found,) = [(lid, r) for lid, r in resources(template, kind).items() if lid.startswith(prefix)]
    return found


def role_statements(template: Template, function_prefix: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to the role of the function ``function_prefix``."""
    _, function = one(template, "AWS::Lambda::Function", function_prefix)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return set(action) if isinstance(action, list) else {action}


def allowed(statements: list[dict[str, Any]], action: str, resource_id: str) -> bool:
    """Whether some statement allows ``action`` on (an ARN of) the resource ``resource_id``."""
    return any(
        statement["Effect"] == "Allow" and action in actions(statement) and resource_id in json.dumps(statement)
        for statement in statements
    )


def key_id(template: Template) -> str:
    (key,) = resources(template, "AWS::KMS::Key")
    return key


def depth_alarm_watches(template: Template, queue_id: str) -> bool:
    return any(
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}} in a["Properties"].get("Dimensions", [])
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    )


# -- SES bounces and complaints --------------------------------------------------------------------


def test_a_notification_the_suppress_function_fails_on_ends_in_an_alarmed_encrypted_queue(template: Template) -> None:
    # Given the suppress function, invoked asynchronously by the SES feedback topic
    suppress_id, _ = one(template, "AWS::Lambda::Function", "SendingSuppress")
    # When we read its asynchronous invocation settings
    (config,) = [
        c["Properties"]
        for c in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": suppress_id}
    ]
    # Then a notification is retried twice (within six hours), then sent to an on-failure queue
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 6 * 3600
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id = destination["Fn::GetAtt"][0]
    assert destination == {"Fn::GetAtt": [queue_id, "Arn"]}
    queue = resources(template, "AWS::SQS::Queue")[queue_id]["Properties"]
    # that is encrypted with the stack's key, keeps messages 14 days,
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id(template), "Arn"]}
    assert queue["MessageRetentionPeriod"] == 14 * 86400
    # that the function may send to (with the key's permission to encrypt),
    statements = role_statements(template, "SendingSuppress")
    assert allowed(statements, "sqs:SendMessage", queue_id)
    assert allowed(statements, "kms:GenerateDataKey*", key_id(template))
    # and whose depth raises an alarm
    assert depth_alarm_watches(template, queue_id)


def test_the_feedback_topic_may_invoke_the_suppress_function_and_park_what_it_cannot_deliver(
    template: Template,
) -> None:
    # Given the SES feedback topic and the suppress function's subscription
    topic_id, _ = one(template, "AWS::SNS::Topic", "SendingSesFeedback")
    suppress_id, _ = one(template, "AWS::Lambda::Function", "SendingSuppress")
    (subscription,) = [
        s["Properties"]
        for s in resources(template, "AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    # Then SNS may invoke the function, from that topic only
    assert any(
        p["Properties"]["Principal"] == "sns.amazonaws.com"
        and p["Properties"]["SourceArn"] == {"Ref": topic_id}
        and p["Properties"]["FunctionName"] == {"Fn::GetAtt": [suppress_id, "Arn"]}
        for p in resources(template, "AWS::Lambda::Permission").values()
    )
    # And what SNS cannot deliver (the function throttled or unavailable) goes to an alarmed DLQ
    dlq_id = subscription["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert depth_alarm_watches(template, dlq_id)
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::SQS::QueuePolicy").values()
        if {"Ref": dlq_id} in p["Properties"]["Queues"]
    ]
    assert any(
        s["Principal"] == {"Service": "sns.amazonaws.com"}
        and s["Action"] == "sqs:SendMessage"
        and s["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}}
        for statements in policies
        for s in statements
    )
    # And, the DLQ being encrypted with the stack's key, SNS may use the key, for this account's topics only
    (key,) = resources(template, "AWS::KMS::Key").values()
    sns_statements = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "sns.amazonaws.com"}
    ]
    assert any(
        {"kms:GenerateDataKey*", "kms:Decrypt"} <= actions(s)
        and s["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        and ":sns:" in json.dumps(s["Condition"]["ArnLike"]["aws:SourceArn"])
        for s in sns_statements
    )


# -- unsubscribes ---------------------------------------------------------------------------------


def test_unsubscribes_are_published_from_the_suppressions_stream_retried_then_parked_in_an_alarmed_queue(
    template: Template,
) -> None:
    # Given the suppressions table and the function that publishes opt-outs
    table_id, table = one(template, "AWS::DynamoDB::Table", "StorageSuppressions")
    function_id, function = one(template, "AWS::Lambda::Function", "OptOutsPublish")
    # Then the table has a stream, which the function reads
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    (mapping,) = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    ]
    assert mapping["FunctionName"] == {"Ref": function_id}
    # only for inserted suppressions that carry an opt-out,
    (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"reason": {"S": ["unsubscribed"]}, "method": {"S": [{"exists": True}]}}},
    }
    # retrying what fails (bisecting, per record) for a day, then parking it in an alarmed, encrypted queue
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["MaximumRetryAttempts"] == 10
    assert mapping["MaximumRecordAgeInSeconds"] == 24 * 3600
    queue_id = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    queue = resources(template, "AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id(template), "Arn"]}
    assert depth_alarm_watches(template, queue_id)
    # And its role may read that stream, decrypt with the key, publish to the bus and park in the queue
    statements = role_statements(template, "OptOutsPublish")
    assert allowed(statements, "dynamodb:GetRecords", table_id)
    assert allowed(statements, "kms:Decrypt", key_id(template))
    (bus_id, _) = one(template, "AWS::Events::EventBus", "RoutingBus")
    assert allowed(statements, "events:PutEvents", bus_id)
    assert allowed(statements, "sqs:SendMessage", queue_id)
    assert function["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": bus_id}


def test_the_unsubscribe_function_writes_suppressions_and_never_calls_the_bus(template: Template) -> None:
    statements = role_statements(template, "SendingUnsubscribe")
    (table_id, _) = one(template, "AWS::DynamoDB::Table", "StorageSuppressions")
    assert allowed(statements, "dynamodb:PutItem", table_id)
    assert not any(a.startswith("events:") for s in statements for a in actions(s))


# -- a detractor's comments -----------------------------------------------------------------------


def test_the_follow_up_events_function_may_schedule_comment_updates_on_its_own_queue(template: Template) -> None:
    # Given the follow-up events queue and the function that consumes it
    (queue_id,) = [
        lid
        for lid in resources(template, "AWS::SQS::Queue")
        if lid.startswith("RoutingFollowUpEvents") and "DeadLetters" not in lid
    ]
    function_id, function = one(template, "AWS::Lambda::Function", "FollowUpsEventsConsumer")
    # Then it knows the queue and may send to it (with the key's permission to encrypt)
    assert function["Properties"]["Environment"]["Variables"]["FOLLOW_UP_EVENTS_QUEUE_URL"] == {"Ref": queue_id}
    statements = role_statements(template, "FollowUpsEventsConsumer")
    assert allowed(statements, "sqs:SendMessage", queue_id)
    assert allowed(statements, "kms:GenerateDataKey*", key_id(template))
    # And it reads that queue with partial failures, so a failed update is retried, then dead-lettered
    (mapping,) = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources(template, "AWS::SQS::Queue")[queue_id]["Properties"]
    dlq_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert depth_alarm_watches(template, dlq_id)
    # And the follow-up steps function, which never schedules updates, may not send to it
    assert not allowed(role_statements(template, "FollowUpsSteps"), "sqs:SendMessage", queue_id)
