"""A contact's records on the IAM-authorised API: the read-only timeline and the erasure, each its own role.

``GET /contacts/{contact_id}`` (contact_timeline) reads; ``POST /contacts/{contact_id}/erasure``
(erase_contact) is the only function that deletes contacts, responses and follow-ups (docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.aws_apigatewayv2_authorizers import HttpIamAuthorizer
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.constructs.functions import acknowledge
from infra.constructs.platform import Platform
from infra.constructs.storage import grant_index_query, grant_items
from nps.kernel.tables import CONTACTS_BY_ID, INVITES_BY_CONTACT

TIMELINE_ROUTE = "/contacts/{contact_id}"
ERASURE_ROUTE = "/contacts/{contact_id}/erasure"


class ContactRecords(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        api: apigw.HttpApi,
        tables: dict[str, dynamodb.ITable],
        id_key_secret: secretsmanager.ISecret,
        bus: events.IEventBus,
        import_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = {
            "CONTACTS_TABLE": tables["contacts"].table_name,
            "INVITES_TABLE": tables["invites"].table_name,
            "RESPONSES_TABLE": tables["responses"].table_name,
            "FOLLOW_UPS_TABLE": tables["followups"].table_name,
            "SUPPRESSIONS_TABLE": tables["suppressions"].table_name,
            "ACCOUNTS_TABLE": tables["accounts"].table_name,
            "SURVEYS_TABLE": tables["surveys"].table_name,
            "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
        }
        self.timeline = platform.function(
            self,
            "Timeline",
            name="contact_timeline",
            description="A contact's timeline: invites, answers, follow-ups, suppressions (read-only)",
            environment=environment,
        )
        read = self.timeline
        grant_index_query(tables["contacts"], read, CONTACTS_BY_ID.name)
        grant_items(tables["contacts"], read, "dynamodb:GetItem")
        grant_index_query(tables["invites"], read, INVITES_BY_CONTACT.name)
        grant_items(tables["invites"], read, "dynamodb:BatchGetItem")
        grant_items(tables["responses"], read, "dynamodb:BatchGetItem")
        grant_index_query(tables["followups"], read, None)
        grant_items(tables["suppressions"], read, "dynamodb:GetItem")
        grant_index_query(tables["accounts"], read, None)
        # GetItem: fatigue windows; Scan + Query: which surveys survey the contact's audiences, and their
        # recorded waves (the unsent invites, in no index, are read by their computed ids).
        grant_items(tables["surveys"], read, "dynamodb:GetItem", "dynamodb:Scan")
        grant_index_query(tables["surveys"], read, None)
        id_key_secret.grant_read(read)

        self.erasure = platform.function(
            self,
            "Erasure",
            name="erase_contact",
            # The respond fence (12 s) and a short wait for a send in flight, within the HTTP API's 29 s.
            timeout=Duration.seconds(29),
            description="Erases a contact from every store and publishes NPS Contact Erased",
            environment={
                **environment,
                "EVENT_BUS_NAME": bus.event_bus_name,
                "IMPORT_BUCKET": import_bucket.bucket_name,
            },
        )
        erase = self.erasure
        grant_index_query(tables["contacts"], erase, CONTACTS_BY_ID.name)
        grant_items(tables["contacts"], erase, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
        grant_index_query(tables["invites"], erase, INVITES_BY_CONTACT.name)
        grant_items(tables["invites"], erase, "dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
        grant_items(tables["responses"], erase, "dynamodb:DeleteItem")
        grant_index_query(tables["followups"], erase, None)
        grant_items(tables["followups"], erase, "dynamodb:DeleteItem")
        grant_items(
            tables["suppressions"],
            erase,
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        grant_index_query(tables["accounts"], erase, None)
        grant_items(tables["accounts"], erase, "dynamodb:DeleteItem")
        # The surveys' definitions (which survey surveys which audience) and their recorded waves (wave#...):
        # the contact's unsent invites, in no index, are found by their ids computed per wave.
        grant_items(tables["surveys"], erase, "dynamodb:Scan")
        grant_index_query(tables["surveys"], erase, None)
        id_key_secret.grant_read(erase)
        bus.grant_put_events_to(erase)
        # The contact-import error reports: listed, read and rewritten without the contact's rows.
        import_bucket.grant_read(erase, "reports/*")
        import_bucket.grant_put(erase, "reports/*")
        bucket_id = Stack.of(self).get_logical_id(import_bucket.node.default_child)  # type: ignore[arg-type]
        reports = "The bucket grants (read, put) limited to the reports/ prefix: the import error reports."
        acknowledge(
            erase,
            {
                "AwsSolutions-IAM5[Action::s3:GetBucket*]": reports,
                "AwsSolutions-IAM5[Action::s3:GetObject*]": reports,
                "AwsSolutions-IAM5[Action::s3:List*]": reports,
                "AwsSolutions-IAM5[Action::s3:Abort*]": reports,
                "AwsSolutions-IAM5[Action::s3:DeleteObject*]": reports,
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/reports/*]": "Only reports/.",
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
                    "The bucket's put grant on its key (reports are written encrypted), this key only."
                ),
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "The bucket's put grant on its key, this key only.",
            },
        )

        authorizer = HttpIamAuthorizer()
        self.routes = [
            *api.add_routes(
                path=TIMELINE_ROUTE,
                methods=[apigw.HttpMethod.GET],
                integration=HttpLambdaIntegration("ContactTimelineIntegration", read),
                authorizer=authorizer,
            ),
            *api.add_routes(
                path=ERASURE_ROUTE,
                methods=[apigw.HttpMethod.POST],
                integration=HttpLambdaIntegration("ContactErasureIntegration", erase),
                authorizer=authorizer,
            ),
        ]

    def may_stop_workflows(self, machines: Iterable[sfn.IStateMachine]) -> None:
        """Let the erasure stop the executions of ``machines`` (the follow-up workflows of an erased contact,
        by the execution ARN each follow-up keeps): ``states:StopExecution`` on their executions only."""
        for machine in machines:
            machine.grant_execution(self.erasure, "states:StopExecution")
            machine_id = Stack.of(self).get_logical_id(machine.node.default_child)  # type: ignore[arg-type]
            name = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine_id}"}}]}}]}}'
            reason = (
                "StopExecution on this follow-up workflow's executions only "
                "(an erased contact's open ones, by the ARN its follow-up keeps)."
            )
            # The ARN as cdk-nag prints it: with the stack's partition, region and account when its environment names
            # them (a deployment, `cdk synth`), as pseudo parameters when it does not (an environment-agnostic app).
            stack = Stack.of(self)
            partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
            region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
            account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
            acknowledge(
                self.erasure,
                {
                    f"AwsSolutions-IAM5[Resource::arn:{partition}:states:{region}:{account}:"
                    f"execution:{name}:*]": reason,
                },
            )
