"""Survey schedules (EventBridge Scheduler) and the unsubscribe pages, on moto."""

from __future__ import annotations

import json
from typing import Any

from functions.unsubscribe import handler as unsubscribe
from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.kernel import aws
from nps.links.tokens import Purpose, sign
from nps.sending.adapters.schedules import SurveySchedules
from nps.sending.surveys import Survey

PLANNER = "arn:aws:lambda:us-east-1:123456789012:function:planner"
ROLE = "arn:aws:iam::123456789012:role/scheduler"
PLANNER_DLQ = "arn:aws:sqs:us-east-1:123456789012:planner-dead-letters"


def test_saving_a_survey_creates_then_updates_then_removes_its_wave_schedule(platform: LocalStack) -> None:
    # Given the stack's schedule group
    assert platform.sending is not None
    schedules = SurveySchedules(platform.sending.schedule_group, PLANNER, ROLE, PLANNER_DLQ)
    survey = Survey.model_validate(ds.DEMO_SURVEY)
    scheduler = aws.client("scheduler")
    name = SurveySchedules.name(survey.survey_id)
    # When a quarterly survey is saved
    assert schedules.sync(survey) == "cron(0 9 1 1,4,7,10 ? *)"
    # Then a schedule invokes the planner with the survey id and the scheduled time
    created = scheduler.get_schedule(Name=name, GroupName=platform.sending.schedule_group)
    assert created["ScheduleExpression"] == "cron(0 9 1 1,4,7,10 ? *)"
    assert created["Target"]["Arn"] == PLANNER
    # And a wave the scheduler cannot start after its retries lands in the planner's dead-letter queue
    assert created["Target"]["DeadLetterConfig"] == {"Arn": PLANNER_DLQ}
    assert json.loads(created["Target"]["Input"]) == {
        "action": "wave",
        "survey_id": survey.survey_id,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    # When it becomes monthly, then events-only
    assert schedules.sync(survey.model_copy(update={"cadence": "monthly"})) == "cron(0 9 1 * ? *)"
    assert scheduler.get_schedule(Name=name, GroupName=platform.sending.schedule_group)["ScheduleExpression"] == (
        "cron(0 9 1 * ? *)"
    )
    assert schedules.sync(survey.model_copy(update={"cadence": "none"})) is None
    # Then the schedule is gone
    listed = scheduler.list_schedules(GroupName=platform.sending.schedule_group)["Schedules"]
    assert [s["Name"] for s in listed] == []


def _call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = unsubscribe.lambda_handler(http_event(method, path, **kwargs), LambdaContext())
    return result


def test_the_confirm_page_changes_nothing_and_a_forged_link_is_refused(platform: LocalStack) -> None:
    unsubscribe.service.cache_clear()
    # Given a token for an invite that does not exist, and a tampered one
    unknown = sign(platform.keyring, Purpose.UNSUBSCRIBE, "inv-unknown", 2_000_000_000)
    respond_token = sign(platform.keyring, Purpose.RESPOND, "inv-unknown", 2_000_000_000)
    # When they are opened or posted
    # Then each gets the friendly "link invalid" page with 403, and nothing is suppressed
    for method, token in (("GET", unknown), ("POST", unknown[:-2] + "AA"), ("POST", respond_token)):
        result = _call(method, f"/u/{token}", headers={"accept-language": "es"})
        assert result["statusCode"] == 403
        assert "Este enlace no es válido" in result["body"]
        assert result["headers"]["Content-Security-Policy"].startswith("default-src 'none'")
    assert aws.client("dynamodb").scan(TableName=platform.tables["suppressions"])["Items"] == []
    assert _call("GET", "/u/a/b")["statusCode"] == 404
