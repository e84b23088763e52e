"""Comment sentiment is off by default and, with ``-c commentSentiment=true``, a retried, dead-lettered and
alarmed consumer of ``NPS Comment Received`` whose role may call two Comprehend actions and read and
update responses, nothing more."""

from __future__ import annotations

from typing import Any

import pytest

from infra.app import build_app
from infra.config import context_flag
from infra.constructs.comment_sentiment import MAX_RECEIVES
from nps.events.patterns import COMMENT_SENTIMENT
from tests.permissions.iam import Decision, Request, evaluate
from tests.permissions.template import DeployedTemplate, deployed_template

pytestmark = pytest.mark.infra

SERVICE = "comment_sentiment"


@pytest.fixture(scope="module")
def default_template() -> dict[str, Any]:
    app, stack = build_app()
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


@pytest.fixture(scope="module")
def template() -> DeployedTemplate:
    return deployed_template()  # synthesized with commentSentiment on (local.workflows.OPTIONAL_FUNCTIONS)


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {lid: r for lid, r in resources.items() if r["Type"] == kind}


def test_without_the_flag_the_stack_has_no_sentiment_function_queue_or_rule(default_template: dict[str, Any]) -> None:
    resources = default_template["Resources"]
    assert not [lid for lid in resources if lid.startswith("CommentSentiment")]
    services = [
        f["Properties"].get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME")
        for f in of_type(resources, "AWS::Lambda::Function").values()
    ]
    assert SERVICE not in services
    patterns = [r["Properties"].get("EventPattern") for r in of_type(resources, "AWS::Events::Rule").values()]
    assert COMMENT_SENTIMENT not in patterns
    assert "comprehend:" not in str(default_template)
    # and the report function has no setting for it: it reads a label wherever one is stored
    assert "COMMENT_SENTIMENT" not in str(default_template)


def test_every_comment_event_reaches_an_encrypted_queue_with_retries_and_a_dead_letter_queue(
    template: DeployedTemplate,
) -> None:
    (rule,) = [
        r["Properties"]
        for _, r in template.of_type("AWS::Events::Rule")
        if r["Properties"]["EventPattern"] == COMMENT_SENTIMENT
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
    # The function reads the queue with partial batch failures
    (mapping,) = [
        m["Properties"]
        for _, m in template.of_type("AWS::Lambda::EventSourceMapping")
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["FunctionName"]["Ref"] == template.function_id(SERVICE)
    # and a message in the DLQ raises an alarm
    alarmed = [
        a["Properties"]
        for _, a in template.of_type("AWS::CloudWatch::Alarm")
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters_id, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert len(alarmed) == 1


def test_the_role_may_detect_sentiment_and_key_phrases_and_nothing_else_of_comprehend(
    template: DeployedTemplate,
) -> None:
    principal = template.principals()[f"function:{SERVICE}"]

    def may(action: str, resource: str = "*") -> bool:
        return evaluate(principal.statements, Request(action, resource)) is Decision.ALLOWED

    assert may("comprehend:DetectSentiment")
    assert may("comprehend:DetectKeyPhrases")
    for other in ("comprehend:DetectPiiEntities", "comprehend:DetectEntities", "comprehend:StartSentimentDetectionJob"):
        assert not may(other)
    granted = {a for s in principal.statements for a in s.actions if a.lower().startswith("comprehend:")}
    assert granted == {"comprehend:DetectSentiment", "comprehend:DetectKeyPhrases"}


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("true", True), (True, True), ("false", False)])
def test_the_flag_is_off_unless_set(value: object, expected: bool) -> None:
    assert context_flag("commentSentiment", value) is expected


def test_a_misspelt_flag_stops_the_synth() -> None:
    with pytest.raises(ValueError, match="commentSentiment must be true or false"):
        build_app({"commentSentiment": "yes please"})
