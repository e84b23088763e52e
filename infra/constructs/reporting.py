"""Reporting: the report function behind IAM-authorised ``GET /reports/{survey_id}/{report}`` routes."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk.aws_apigatewayv2_authorizers import HttpIamAuthorizer
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.constructs.platform import Platform
from infra.constructs.storage import grant_index_query
from nps.kernel.tables import AGGREGATES_BY_PERIOD, RESPONSES_BY_SURVEY, RESPONSES_BY_SURVEY_SHARD

REPORT_ROUTE = "/reports/{survey_id}/{report}"


class Reporting(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        api: apigw.HttpApi,
        aggregates: dynamodb.ITable,
        responses: dynamodb.ITable,
        accounts: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = platform.function(
            self,
            "Report",
            name="report",
            memory_size=1024,
            timeout=Duration.seconds(29),  # the HTTP API's integration limit
            description="Reporting API: NPS, trends, segments, comments and CSV from the aggregates",
            environment={
                "AGGREGATES_TABLE": aggregates.table_name,
                "RESPONSES_TABLE": responses.table_name,
                "ACCOUNTS_TABLE": accounts.table_name,
            },
        )
        # Queries only, on the table and the indexes reports read; an encrypted table needs kms:Decrypt.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[
                    aggregates.table_arn,
                    f"{aggregates.table_arn}/index/{AGGREGATES_BY_PERIOD.name}",
                    f"{responses.table_arn}/index/{RESPONSES_BY_SURVEY_SHARD.name}",
                    # Read for responses written before survey_shard existed, while a stack upgrading from
                    # the previous release still has the index; where it is gone, the query is refused
                    # with a ValidationException the reader takes as "no previous index" (an absent
                    # grant would be an AccessDeniedException instead).
                    f"{responses.table_arn}/index/{RESPONSES_BY_SURVEY.name}",
                ],
            )
        )
        # The follow-up answers (driver, CSAT, CES, themes) and, with comment sentiment on, the sentiment
        # label of the responses a page returns: the survey index does not project them, so they are read
        # by key (nps.reporting.adapters.reads).
        # Likewise by key: the account report's month or quarter items of each account (aggregates) and
        # the accounts' profiles and churn (nps.reporting.accounts).
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:BatchGetItem"],
                resources=[responses.table_arn, aggregates.table_arn, accounts.table_arn],
            )
        )
        platform.key.grant_decrypt(self.function)
        # The churn report: churn records by survey partition (docs/churn.md), the table itself, no index.
        grant_index_query(accounts, self.function, None)
        self.routes = api.add_routes(
            path=REPORT_ROUTE,
            methods=[apigw.HttpMethod.GET],
            integration=HttpLambdaIntegration("ReportIntegration", self.function),
            # SigV4-signed requests from principals allowed execute-api:Invoke on this route.
            authorizer=HttpIamAuthorizer(),
        )
