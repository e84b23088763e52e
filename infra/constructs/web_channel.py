"""Web channel: the in-app / website prompt's function, its routes on the response API and its site keys."""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.constructs.platform import Platform
from infra.constructs.storage import grant_items


class WebChannel(Construct):
    """``/w/v1/...`` on the response API (same origin as the one-tap links) to the web function.

    The site keys secret is a keyring (``{"active": "s1", "s1": "<64 random characters>"}``); each
    survey's site secret is derived from it (``nps survey site-secret``). Rotation adds a key id and flips
    ``active``; contact tokens minted under any key id still in the secret keep verifying. The prompt's
    ask tokens are signed with keys derived from the same secret (``nps.channels.site_tokens.ask_keyring``):
    the web function may not read the email/SMS link keyring, so it cannot forge one-tap links.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        api: apigw.HttpApi,
        invites: dynamodb.ITable,
        responses: dynamodb.ITable,
        aggregates: dynamodb.ITable,
        surveys: dynamodb.ITable,
        contacts: dynamodb.ITable,
        suppressions: dynamodb.ITable,
        id_key_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.site_keys = secretsmanager.Secret(
            self,
            "SiteKeys",
            description="Keys the per-survey site secrets of the web prompt derive from",
            encryption_key=platform.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"active": "s1"}),
                generate_string_key="s1",
                exclude_punctuation=True,
                password_length=64,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.function = platform.function(
            self,
            "Web",
            name="web",
            memory_size=1024,
            timeout=Duration.seconds(10),
            description="The in-app / website prompt: eligibility, answers, comments, dismissals, the widget",
            environment={
                "SURVEYS_TABLE": surveys.table_name,
                "CONTACTS_TABLE": contacts.table_name,
                "INVITES_TABLE": invites.table_name,
                "RESPONSES_TABLE": responses.table_name,
                "SUPPRESSIONS_TABLE": suppressions.table_name,
                "AGGREGATES_TABLE": aggregates.table_name,
                "SITE_KEYS_SECRET_NAME": self.site_keys.secret_arn,
                "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
            },
        )
        # Invites table: web invites, web state, daily-cap and rate-limit counters (Put/Update in the show
        # transaction, BatchGetItem in eligibility, GetItem for an ask token's invite).
        grant_items(
            invites,
            self.function,
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        )
        grant_items(contacts, self.function, "dynamodb:BatchGetItem", "dynamodb:UpdateItem")
        grant_items(suppressions, self.function, "dynamodb:BatchGetItem")
        grant_items(surveys, self.function, "dynamodb:GetItem")
        grant_items(responses, self.function, "dynamodb:GetItem", "dynamodb:UpdateItem")
        grant_items(aggregates, self.function, "dynamodb:UpdateItem")
        id_key_secret.grant_read(self.function)
        self.site_keys.grant_read(self.function)

        integration = HttpLambdaIntegration("WebIntegration", self.function)
        api.add_routes(path="/w/v1/widget.js", methods=[apigw.HttpMethod.GET], integration=integration)
        api.add_routes(
            path="/w/v1/surveys/{survey_id}/{action}",
            methods=[apigw.HttpMethod.POST, apigw.HttpMethod.OPTIONS],
            integration=integration,
        )
