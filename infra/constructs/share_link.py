"""Share link: the pages of a survey's shareable link (``/s/{survey_id}``) on the response API, and their
function (HTML with Jinja2: its own function, so the web prompt's JSON endpoints keep their cold start)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.constructs.platform import Platform
from infra.constructs.storage import grant_items


class ShareLink(Construct):
    """``GET/HEAD/POST /s/{survey_id}`` and ``POST /s/{survey_id}/comment`` to the share function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        api: apigw.HttpApi,
        invites: dynamodb.ITable,
        responses: dynamodb.ITable,
        surveys: dynamodb.ITable,
        contacts: dynamodb.ITable,
        site_keys: secretsmanager.ISecret,
        id_key_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = platform.function(
            self,
            "Share",
            name="share",
            memory_size=1024,
            timeout=Duration.seconds(10),
            description="A survey's shareable link: the question page, the answer, the comment",
            environment={
                "SURVEYS_TABLE": surveys.table_name,
                "CONTACTS_TABLE": contacts.table_name,
                "INVITES_TABLE": invites.table_name,
                "RESPONSES_TABLE": responses.table_name,
                "SITE_KEYS_SECRET_NAME": site_keys.secret_arn,
                "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
                "DEFAULT_LOCALE": platform.config.default_locale,
            },
        )
        # Invites table: the per-client rate-limit counters (UpdateItem ADD); for an identified answer, the
        # contact's web state and its other invites of the survey (BatchGetItem), an open one marked out of
        # the headline and the web state's last_surveyed_at (UpdateItem).
        grant_items(invites, self.function, "dynamodb:BatchGetItem", "dynamodb:UpdateItem")
        grant_items(surveys, self.function, "dynamodb:GetItem")
        # Contacts table: the contact's last invite of the survey (BatchGetItem) and last_surveyed_at.
        grant_items(contacts, self.function, "dynamodb:BatchGetItem", "dynamodb:UpdateItem")
        # GetItem: the previous dedupe period's answer, and whether an answer is on record for a comment;
        # BatchGetItem: the answers of the contact's other invites.
        grant_items(responses, self.function, "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem")
        site_keys.grant_read(self.function)
        id_key_secret.grant_read(self.function)

        integration = HttpLambdaIntegration("ShareIntegration", self.function)
        api.add_routes(
            path="/s/{survey_id}",
            methods=[apigw.HttpMethod.GET, apigw.HttpMethod.HEAD, apigw.HttpMethod.POST],
            integration=integration,
        )
        api.add_routes(path="/s/{survey_id}/comment", methods=[apigw.HttpMethod.POST], integration=integration)
