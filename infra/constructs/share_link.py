"""Share link: the pages of a survey's shareable link (``/s/{survey_id}``) on the response API, and their
function (HTML with Jinja2: its own function, so the web prompt's JSON endpoints keep their cold start)."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.platform import Platform
from infra.constructs.public_function import Route, TableUse, public_function


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
        self.function = public_function(
            self,
            "Share",
            platform=platform,
            api=api,
            name="share",
            description="A survey's shareable link: the question page, the answer, the comment",
            tables=(
                # The per-client rate-limit counters (UpdateItem ADD); for an identified answer, the contact's
                # web state and other invites of the survey (BatchGetItem), an open one marked out of the
                # headline and the web state's last_surveyed_at (UpdateItem).
                TableUse("invites", invites, ("dynamodb:BatchGetItem", "dynamodb:UpdateItem")),
                TableUse("surveys", surveys, ("dynamodb:GetItem",)),
                # The contact's last invite of the survey (BatchGetItem) and last_surveyed_at (UpdateItem).
                TableUse("contacts", contacts, ("dynamodb:BatchGetItem", "dynamodb:UpdateItem")),
                # GetItem: the previous dedupe period's answer, and whether an answer is on record for a
                # comment; BatchGetItem: the answers of the contact's other invites.
                TableUse("responses", responses, ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem")),
            ),
            environment={
                "SITE_KEYS_SECRET_NAME": site_keys.secret_arn,
                "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
                "DEFAULT_LOCALE": platform.config.default_locale,
            },
            routes=(
                Route("/s/{survey_id}", (apigw.HttpMethod.GET, apigw.HttpMethod.HEAD, apigw.HttpMethod.POST)),
                Route("/s/{survey_id}/comment", (apigw.HttpMethod.POST,)),
            ),
        )
        site_keys.grant_read(self.function)
        id_key_secret.grant_read(self.function)
