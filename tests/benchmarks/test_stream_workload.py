"""The scoring benchmark's stream images hold what the respond path stores for an answer, no less."""

from __future__ import annotations

from benchmarks.synthetic import WorkloadSpec, build_workload
from local.environment import LocalStack
from nps.kernel import aws
from nps.kernel.categories import categorize
from nps.responding.adapters.invites import Invite
from nps.responding.adapters.responses import DynamoResponseRepository


def test_a_synthetic_answer_has_the_attributes_of_an_answer_recorded_by_the_respond_path(platform: LocalStack) -> None:
    # Given an answer recorded as the respond function records one
    invite = Invite(
        invite_id="inv-0000001",
        survey_id="survey-1",
        wave_id="survey-1-w1",
        contact_id="contact-1",
        channel="email",
        locale="en",
        expires_at=2_000_000_000,
        sent_at="2026-03-09T09:00:00.000Z",
        segments={"plan": "pro", "region": "emea"},
    )
    DynamoResponseRepository(platform.tables["responses"]).record_score(
        invite, 9, categorize(9), "2026-03-10T09:00:17.000Z"
    )
    stored = aws.client("dynamodb").get_item(
        TableName=platform.tables["responses"], Key={"invite_id": {"S": invite.invite_id}}
    )["Item"]
    # When the benchmark builds its first answers
    workload = build_workload(WorkloadSpec(records=50))
    images = [record["dynamodb"]["NewImage"] for event in workload.events for record in event["Records"]]
    # Then each has every attribute the stored answer has (an account's answers add theirs), each of its type
    for image in images:
        assert set(stored) <= set(image)
        assert {name: next(iter(value)) for name, value in image.items() if name in stored} == {
            name: next(iter(value)) for name, value in stored.items()
        }
