"""The team's digest: an hourly EventBridge Scheduler schedule → the digest function, which sends every survey's digest
due at that local hour through SES (docs/digest.md).

The function reads the surveys (definitions; its sent markers live beside them), the aggregates, the
responses' survey index (comments), the accounts table (profiles, and the health it last published) and
the suppressions; it writes the markers and the published health, sends through the survey's sender
identity and the stack's configuration set (bounces and complaints reach the suppress function), and
publishes ``NPS Account Health Changed`` on the bus. Least privilege: the actions it makes, on those
tables and indexes, with the key actions they need.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.functions import acknowledge
from infra.constructs.platform import Platform
from infra.constructs.queues import encrypted_queue
from infra.constructs.routing import Routing
from infra.constructs.sending import Sending
from infra.constructs.storage import grant_index_query, grant_items
from nps.kernel.tables import AGGREGATES_BY_PERIOD, RESPONSES_BY_SURVEY, RESPONSES_BY_SURVEY_SHARD

FUNCTION_TIMEOUT = Duration.minutes(5)


class Digest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        surveys: dynamodb.ITable,
        aggregates: dynamodb.ITable,
        responses: dynamodb.ITable,
        accounts: dynamodb.ITable,
        suppressions: dynamodb.ITable,
        routing: Routing,
        sending: Sending,
        id_key_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = platform.function(
            self,
            "Send",
            name="digest",
            memory_size=1024,
            timeout=FUNCTION_TIMEOUT,
            description="Hourly: every survey's team digest due at this local hour, sent once per period",
            environment={
                "SURVEYS_TABLE": surveys.table_name,
                "AGGREGATES_TABLE": aggregates.table_name,
                "RESPONSES_TABLE": responses.table_name,
                "ACCOUNTS_TABLE": accounts.table_name,
                "SUPPRESSIONS_TABLE": suppressions.table_name,
                "EVENT_BUS_NAME": routing.bus.event_bus_name,
                "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
                "SES_CONFIGURATION_SET": sending.configuration_set.configuration_set_name,
            },
        )
        function = self.function
        # Definitions (scan and by key) and the sent markers (conditional put, settle, release).
        grant_items(
            surveys,
            function,
            "dynamodb:Scan",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        # Figures: the aggregates table (periods of a slice) and its by-period index (the slices of a range);
        # the account report's items by key.
        grant_index_query(aggregates, function, None)
        grant_index_query(aggregates, function, AGGREGATES_BY_PERIOD.name)
        grant_items(aggregates, function, "dynamodb:BatchGetItem")
        # Comments: the responses' survey index (and the previous one while an upgrading stack has it),
        # then each listed response's answers by key.
        grant_index_query(responses, function, RESPONSES_BY_SURVEY_SHARD.name)
        grant_index_query(responses, function, RESPONSES_BY_SURVEY.name)
        grant_items(responses, function, "dynamodb:BatchGetItem")
        # Account profiles and churn, and the health each digest last published (read, then written).
        grant_items(accounts, function, "dynamodb:BatchGetItem", "dynamodb:PutItem")
        grant_items(suppressions, function, "dynamodb:BatchGetItem")
        id_key_secret.grant_read(function)
        routing.bus.grant_put_events_to(function)
        sending.grant_send_email(function)
        # EventBridge Scheduler, as the stack's other timed runs: every hour on the hour, with the
        # scheduled instant as input, so a retried invocation decides as the first one did.
        self.dead_letters = encrypted_queue(
            self, "DeadLetters", platform.key, dead_letter_role="hourly digest runs the scheduler could not deliver"
        )
        function.grant_invoke(sending.scheduler_role)
        self.dead_letters.grant_send_messages(sending.scheduler_role)
        self.schedule = scheduler.Schedule(
            self,
            "Hourly",
            schedule=scheduler.ScheduleExpression.cron(minute="0"),
            target=scheduler_targets.LambdaInvoke(
                function,
                input=scheduler.ScheduleTargetInput.from_object(
                    {"action": "digest", "time": scheduler.ContextAttribute.scheduled_time}
                ),
                role=sending.scheduler_role,
                dead_letter_queue=self.dead_letters,
                retry_attempts=2,
                # Within its hour: the next run decides for the next hour.
                max_event_age=Duration.hours(1),
            ),
            schedule_group=sending.schedule_group,
            description="Every hour on the hour: the team digests due at that local hour",
        )
        function_id = Stack.of(self).get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            sending.scheduler_role,
            {
                f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]": (
                    "Invoke permission on the digest function's versions and aliases (the grant's own ARN form)."
                )
            },
        )
        keyed = "Generated by grants on our one customer-managed key (scoped to that key)."
        acknowledge(
            function,
            {
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": keyed,
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": keyed,
            },
        )
