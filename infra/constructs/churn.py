"""Churn: every ``Customer Churned`` business event on the bus → churn records (docs/churn.md).

A rule (any source but ``nps``) puts each event on an encrypted queue; the ``churn`` function records it
against the contact's and the account's last NPS answers before the churn, exactly once. Failures (a
malformed detail, an unknown account, a throttled table) are retried per message (partial batch
failures) and, after :data:`MAX_RECEIVES` receives, parked in an alarmed DLQ (``Observability.watch``
alarms on every dead-letter queue of the stack).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.constructs.platform import Platform
from infra.constructs.queues import consumer_queues, queue_target
from infra.constructs.routing import Routing
from infra.constructs.storage import grant_index_query, grant_items
from nps.events.names import CUSTOMER_CHURNED, EVENT_SOURCE
from nps.kernel.tables import INVITES_BY_CONTACT

#: Receives of one message before it is parked in the DLQ (each receive is one Lambda invocation whose
#: DynamoDB client already retried throttling).
MAX_RECEIVES = 5
FUNCTION_TIMEOUT = Duration.seconds(60)
#: Churns are rare business events: two instances at once keep the reads of a burst (a CRM backfill) paced.
MAX_CONCURRENCY = 2


class Churn(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        invites: dynamodb.ITable,
        responses: dynamodb.ITable,
        aggregates: dynamodb.ITable,
        surveys: dynamodb.ITable,
        accounts: dynamodb.ITable,
        routing: Routing,
    ) -> None:
        super().__init__(scope, construct_id)
        self.queue, self.dead_letters = consumer_queues(
            self, "Churns", "DeadLetters", platform.key, function_timeout=FUNCTION_TIMEOUT, max_receives=MAX_RECEIVES
        )
        self.rule = events.Rule(
            self,
            "ChurnRule",
            event_bus=routing.bus,
            description="Customer Churned (any source but nps) → churn queue",
            # nps.events.patterns.CUSTOMER_CHURNED_EVENTS (the local rule; a test holds the two together).
            event_pattern=events.EventPattern(
                source=events.Match.anything_but(EVENT_SOURCE), detail_type=[CUSTOMER_CHURNED]
            ),
            targets=[queue_target(self.queue, routing.dead_letters)],
        )
        self.function = platform.function(
            self,
            "Record",
            name="churn",
            timeout=FUNCTION_TIMEOUT,
            description="Customer Churned → churn records against the last NPS answer before it",
            environment={
                "INVITES_TABLE": invites.table_name,
                "RESPONSES_TABLE": responses.table_name,
                "AGGREGATES_TABLE": aggregates.table_name,
                "SURVEYS_TABLE": surveys.table_name,
                "ACCOUNTS_TABLE": accounts.table_name,
            },
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue, batch_size=10, report_batch_item_failures=True, max_concurrency=MAX_CONCURRENCY
            )
        )
        # A contact's invites through their index only; its responses by key; an account's quarter slices
        # (the aggregates table itself, no index); the survey ids; the markers, profiles and records.
        grant_index_query(invites, self.function, INVITES_BY_CONTACT.name)
        grant_items(responses, self.function, "dynamodb:BatchGetItem")
        grant_index_query(aggregates, self.function, None)
        grant_items(surveys, self.function, "dynamodb:Scan")
        grant_items(accounts, self.function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
