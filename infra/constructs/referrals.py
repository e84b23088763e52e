"""Referral KPIs: the signed referral/review redirect and the ``Referral Joined`` consumer (docs/referrals.md).

* ``referral`` (public, on the response API: ``GET``/``HEAD``/``POST /g/{token}``): reads the promoter's
  answer and the survey's target address, logs page fetches and records the first click per invite and
  target (accounts table marker + counters on the aggregates, one transaction), publishes
  ``NPS Referral Clicked``.
* ``referral_joins``: a rule puts every ``Referral Joined`` event (any source but ``nps``) on an encrypted
  queue; the function records each join once (partial batch failures; after :data:`MAX_RECEIVES` receives
  a message is parked in the DLQ, which the observability construct alarms on).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.platform import Platform
from infra.constructs.public_function import Route, TableUse, public_function
from infra.constructs.queues import consumer_queues, queue_target
from infra.constructs.routing import Routing
from infra.constructs.storage import grant_items
from nps.events.patterns import REFERRAL_JOINS

MAX_RECEIVES = 5
JOINS_TIMEOUT = Duration.seconds(30)


class Referrals(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        api: apigw.HttpApi,
        responses: dynamodb.ITable,
        surveys: dynamodb.ITable,
        aggregates: dynamodb.ITable,
        accounts: dynamodb.ITable,
        routing: Routing,
        signing_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.redirect = public_function(
            self,
            "Redirect",
            platform=platform,
            api=api,
            name="referral",
            description="Signed referral and review links of the promoter follow-up: record the click, redirect",
            tables=(
                TableUse("responses", responses, ("dynamodb:GetItem",)),
                TableUse("surveys", surveys, ("dynamodb:GetItem",)),
                # The invite's referral markers (Query), its page-fetch log (UpdateItem), the click's marker
                # (PutItem in the click's transaction).
                TableUse("accounts", accounts, ("dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem")),
                # referral_clicked on the aggregates of the promoter's answer (UpdateItem in the transaction).
                TableUse("aggregates", aggregates, ("dynamodb:UpdateItem",)),
            ),
            routes=(Route("/g/{token}", (apigw.HttpMethod.GET, apigw.HttpMethod.HEAD, apigw.HttpMethod.POST)),),
            environment={
                "SIGNING_SECRET_NAME": signing_secret.secret_arn,
                "EVENT_BUS_NAME": routing.bus.event_bus_name,
                "DEFAULT_LOCALE": platform.config.default_locale,
            },
        )
        signing_secret.grant_read(self.redirect)
        routing.bus.grant_put_events_to(self.redirect)

        self.joins_queue, self.dead_letters = consumer_queues(
            self, "Joins", "JoinsDeadLetters", platform.key, function_timeout=JOINS_TIMEOUT, max_receives=MAX_RECEIVES
        )
        # The pattern of nps.events.patterns.REFERRAL_JOINS ("anything-but" nps), written with CDK's matcher.
        events.Rule(
            self,
            "JoinsRule",
            event_bus=routing.bus,
            event_pattern=events.EventPattern(
                source=events.Match.anything_but(*REFERRAL_JOINS["source"][0]["anything-but"]),
                detail_type=REFERRAL_JOINS["detail-type"],
            ),
            description="Referral Joined (the team's referral program) → the referral joins queue",
            targets=[queue_target(self.joins_queue, routing.dead_letters)],
        )
        self.joins = platform.function(
            self,
            "RecordJoins",
            name="referral_joins",
            timeout=JOINS_TIMEOUT,
            description="Referral Joined → the promoter's join, recorded once on its latest ask",
            environment={"ACCOUNTS_TABLE": accounts.table_name, "AGGREGATES_TABLE": aggregates.table_name},
        )
        self.joins.add_event_source(
            sources.SqsEventSource(self.joins_queue, batch_size=10, report_batch_item_failures=True)
        )
        # The contact's latest ask (GetItem), the join's marker (PutItem) and the unasked-join count
        # (UpdateItem), in one transaction with referral_joined on the aggregates.
        grant_items(accounts, self.joins, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        grant_items(aggregates, self.joins, "dynamodb:UpdateItem")
