"""Response API: the HTTP API (throttled, access-logged without paths) and the respond function."""

from __future__ import annotations

import json

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.constructs.functions import acknowledge, retention
from infra.constructs.platform import Platform
from infra.constructs.storage import grant_items


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogs:
    """Stage access-log settings (the L2 takes an interface, not a struct)."""

    def __init__(self, destination: apigw.IAccessLogDestination, log_format: apigw_v1.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return self._format


class ResponseApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        invites: dynamodb.ITable,
        responses: dynamodb.ITable,
        surveys: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        # Keyring JSON {"active": "k1", "k1": "<64 random chars>"}; rotation adds k2 and flips "active".
        self.signing_secret = secretsmanager.Secret(
            self,
            "LinkSigningKeys",
            description="HMAC keys for one-tap and unsubscribe links",
            encryption_key=platform.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"active": "k1"}),
                generate_string_key="k1",
                exclude_punctuation=True,
                password_length=64,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.function = platform.function(
            self,
            "Respond",
            name="respond",
            memory_size=1024,
            timeout=Duration.seconds(10),
            description="One-tap score links and the comment form",
            environment={
                "INVITES_TABLE": invites.table_name,
                "RESPONSES_TABLE": responses.table_name,
                "SURVEYS_TABLE": surveys.table_name,
                "SIGNING_SECRET_NAME": self.signing_secret.secret_arn,
                "DEFAULT_LOCALE": platform.config.default_locale,
            },
        )
        # UpdateItem: every open, confirm and preview request writes the invite's click log.
        grant_items(invites, self.function, "dynamodb:GetItem", "dynamodb:UpdateItem")
        grant_items(responses, self.function, "dynamodb:GetItem", "dynamodb:UpdateItem")
        # GetItem of a survey's definition: a saved comment is tagged with the survey's themes (read once
        # per survey and locale every two minutes per warm instance; nps.responding.adapters.taxonomy).
        grant_items(surveys, self.function, "dynamodb:GetItem")
        self.signing_secret.grant_read(self.function)

        integration = HttpLambdaIntegration("RespondIntegration", self.function)
        self.api = apigw.HttpApi(
            self,
            "HttpApi",
            description="NPS one-tap responses",
            create_default_stage=False,
            default_integration=integration,
        )
        acknowledge(
            self.api,
            {
                "AwsSolutions-APIG4": (
                    "Public by design: a person taps a link in an email. Every request is authorised by "
                    "the HMAC-signed, expiring token in its path instead."
                )
            },
        )
        for path, methods in (
            ("/r/{token}", [apigw.HttpMethod.GET, apigw.HttpMethod.HEAD]),
            ("/r/{token}/comment", [apigw.HttpMethod.POST]),
        ):
            self.api.add_routes(path=path, methods=methods, integration=integration)

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(platform.config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.domain: apigw.DomainName | None = None
        self.link_domain = platform.config.link_domain
        if platform.config.link_domain and platform.config.link_certificate_arn:
            self.domain = apigw.DomainName(
                self,
                "LinkDomain",
                domain_name=platform.config.link_domain,
                certificate=acm.Certificate.from_certificate_arn(
                    self, "LinkCertificate", platform.config.link_certificate_arn
                ),
            )
        elif platform.config.link_domain or platform.config.link_certificate_arn:
            raise ValueError("linkDomain and linkCertificateArn must be given together")
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            domain_mapping=apigw.DomainMappingOptions(domain_name=self.domain) if self.domain else None,
            throttle=apigw.ThrottleSettings(
                rate_limit=platform.config.api_rate_limit, burst_limit=platform.config.api_burst_limit
            ),
            # Route keys, not paths: a path carries a link token, which must not land in logs.
            access_log_settings=_AccessLogs(
                apigw.LogGroupLogDestination(access_logs),
                apigw_v1.AccessLogFormat.custom(
                    json.dumps(
                        {
                            "requestId": "$context.requestId",
                            "routeKey": "$context.routeKey",
                            "status": "$context.status",
                            "latencyMs": "$context.responseLatency",
                            "integrationLatencyMs": "$context.integrationLatency",
                            "time": "$context.requestTime",
                        }
                    )
                ),
            ),
        )

    @property
    def url(self) -> str:
        """The base URL of the links in messages: the custom domain when there is one."""
        if self.domain is not None and self.link_domain:
            return f"https://{self.link_domain}/"
        return self.stage.url
