"""EventBridge Scheduler: one schedule per survey (from its cadence) that invokes the planner."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from nps.kernel import aws

if TYPE_CHECKING:
    from nps.sending.surveys import Survey


class SurveySchedules:
    """The survey schedules of one schedule group.

    ``role_arn`` is the role the scheduler assumes to invoke ``planner_arn``; ``dead_letter_arn`` (the
    planner's dead-letter queue) receives a wave the scheduler could not start after its retries, so a
    missed wave is visible (the queue's alarm) instead of dropped.
    """

    def __init__(self, group: str, planner_arn: str, role_arn: str, dead_letter_arn: str = "") -> None:
        self.group = group
        self.planner_arn = planner_arn
        self.role_arn = role_arn
        self.dead_letter_arn = dead_letter_arn

    @staticmethod
    def name(survey_id: str) -> str:
        return f"nps-wave-{survey_id}"[:64]

    def sync(self, survey: Survey) -> str | None:
        """Create, update or delete the survey's schedule to match its cadence; returns the expression."""
        client = aws.client("scheduler")
        expression = survey.schedule_expression if survey.active else None
        name = self.name(survey.survey_id)
        if expression is None:
            try:
                client.delete_schedule(Name=name, GroupName=self.group)
            except Exception as error:
                if (getattr(error, "response", None) or {}).get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
            return None
        payload = json.dumps(
            {
                "action": "wave",
                "survey_id": survey.survey_id,
                "scheduled_time": "<aws.scheduler.scheduled-time>",
            }
        )
        target: dict[str, object] = {
            "Arn": self.planner_arn,
            "RoleArn": self.role_arn,
            "Input": payload,
            "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
        }
        if self.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        arguments = {
            "Name": name,
            "GroupName": self.group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            "Target": target,
            "Description": f"Starts a wave of NPS survey {survey.survey_id}",
            "State": "ENABLED",
        }
        try:
            client.update_schedule(**arguments)
        except Exception as error:
            if (getattr(error, "response", None) or {}).get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            client.create_schedule(**arguments)
        return expression
