"""Reporting: the report function behind IAM-authorised ``GET /reports/{survey_id}/{report}`` routes."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.aws_apigatewayv2_authorizers import HttpIamAuthorizer
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.config import StackConfig
from infra.constructs.functions import SharedLayers, python_function
from nps.kernel.tables import AGGREGATES_BY_SURVEY, RESPONSES_BY_SURVEY

REPORT_ROUTE = "/reports/{survey_id}/{report}"


class Reporting(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        layers: SharedLayers,
        key: kms.IKey,
        api: apigw.HttpApi,
        aggregates: dynamodb.ITable,
        responses: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = python_function(
            self,
            "Report",
            name="report",
            layers=layers,
            log_retention_days=config.log_retention_days,
            memory_size=1024,
            timeout=Duration.seconds(29),  # the HTTP API's integration limit
            description="Reporting API: NPS, trends, segments, comments and CSV from the aggregates",
            environment={"AGGREGATES_TABLE": aggregates.table_name, "RESPONSES_TABLE": responses.table_name},
        )
        # Queries only, on the table and the indexes reports read; an encrypted table needs kms:Decrypt.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[
                    aggregates.table_arn,
                    f"{aggregates.table_arn}/index/{AGGREGATES_BY_SURVEY.name}",
                    f"{responses.table_arn}/index/{RESPONSES_BY_SURVEY.name}",
                ],
            )
        )
        key.grant_decrypt(self.function)
        self.routes = api.add_routes(
            path=REPORT_ROUTE,
            methods=[apigw.HttpMethod.GET],
            integration=HttpLambdaIntegration("ReportIntegration", self.function),
            # SigV4-signed requests from principals allowed execute-api:Invoke on this route.
            authorizer=HttpIamAuthorizer(),
        )
