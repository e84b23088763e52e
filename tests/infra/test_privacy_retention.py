"""What docs/privacy.md promises about the stack, read from the synthesized template: how long what cannot
be erased in place is kept, and that the erasure's respond fence outlasts every function that writes answers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nps.contacts.erasure import RESPOND_GRACE_SECONDS
from tests.infra.test_table_access import ACCESS
from tests.permissions.template import DeployedTemplate, deployed_template

pytestmark = pytest.mark.infra

PRIVACY = (Path(__file__).parents[2] / "docs" / "privacy.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def template() -> DeployedTemplate:
    return deployed_template()


def documented_days(where: str) -> int:
    """The days docs/privacy.md's retention table gives for the row starting with ``where``."""
    row = next(line for line in PRIVACY.splitlines() if line.startswith(f"| {where}"))
    return int(re.findall(r"(\d+) days", row)[0])


def test_the_event_archive_keeps_events_exactly_as_long_as_documented(template: DeployedTemplate) -> None:
    archives = [r["Properties"] for _, r in template.of_type("AWS::Events::Archive")]
    assert archives, "the bus has an archive"
    assert {a.get("RetentionDays") for a in archives} == {documented_days("EventBridge archive")} == {35}


def test_no_queue_keeps_a_message_longer_than_documented(template: DeployedTemplate) -> None:
    days = documented_days("SQS queues")
    for logical_id, queue in template.of_type("AWS::SQS::Queue"):
        # SQS's default (4 days) when unset; never above the documented bound
        kept = int(queue["Properties"].get("MessageRetentionPeriod", 4 * 86400))
        assert kept <= days * 86400, logical_id


def test_every_function_that_writes_answers_ends_before_the_erasures_fence_does(template: DeployedTemplate) -> None:
    # The erasure marks invites, then waits RESPOND_GRACE_SECONDS: a function that read an invite before
    # the mark and writes a response must have ended by then (its timeout is shorter).
    writers = [f for f, tables in ACCESS.items() if tables.get("Responses", set()) & {"PutItem", "UpdateItem"}]
    assert {"respond", "web", "share"} <= set(writers)
    for function in writers:
        if function == "comment_sentiment":
            continue  # writes beside an existing comment only (conditional on it): never creates an answer
        properties = template.resources[template.function_id(function)]["Properties"]
        assert int(properties.get("Timeout", 3)) < RESPOND_GRACE_SECONDS, function
