"""The follow-up loop's rules in the synthesized template use exactly the shared patterns, with DLQs."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from nps.events.patterns import FOLLOW_UP_EVENTS, FOLLOW_UP_STARTS

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template() -> Template:
    app, stack = build_app()
    app.synth()
    return Template.from_stack(stack)


def rules_with(template: Template, pattern: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern") == pattern
    ]


def test_the_detractor_rule_uses_the_shared_pattern_with_a_dead_letter_queue(template: Template) -> None:
    (rule,) = rules_with(template, FOLLOW_UP_STARTS["detractor"])
    assert rule["State"] == "ENABLED"
    for target in rule["Targets"]:
        assert "DeadLetterConfig" in target
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


@pytest.mark.parametrize("name", list(FOLLOW_UP_EVENTS))
def test_follow_up_events_go_to_the_consumer_queue(template: Template, name: str) -> None:
    (rule,) = rules_with(template, FOLLOW_UP_EVENTS[name])
    (target,) = rule["Targets"]
    assert "FollowUpEvents" in target["Arn"]["Fn::GetAtt"][0]
    assert "DeadLetterConfig" in target


def test_the_archive_keeps_every_nps_event(template: Template) -> None:
    (archive,) = template.find_resources("AWS::Events::Archive").values()
    assert archive["Properties"]["EventPattern"] == {"source": ["nps"]}
