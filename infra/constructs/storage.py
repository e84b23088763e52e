"""Storage: the customer-managed KMS key and the DynamoDB tables (on-demand, encrypted, PITR).

Context:

* ``keepRetiringIndexes``: ``true`` keeps the previous release's indexes (those marked ``retiring`` in
  :mod:`nps.kernel.tables`) for the one deploy that upgrades an existing stack; unset (the default), the
  tables have only the indexes this release reads (docs/operations.md, "Upgrading the responses' index").
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import keep_retiring_indexes
from nps.kernel.tables import (
    ACCOUNTS,
    AGGREGATES,
    CONTACTS,
    FOLLOW_UPS,
    INVITES,
    RESPONSES,
    SUPPRESSIONS,
    SURVEYS,
    TableSpec,
)


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        #: Whether the tables keep their retiring indexes (the upgrade deploy from the previous release).
        self.keeps_retiring_indexes = keep_retiring_indexes(self.node.try_get_context("keepRetiringIndexes"))
        self.key = kms.Key(
            self,
            "DataKey",
            description="Encrypts NPS tables, queues, secrets and events",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.invites = self._table(INVITES)
        self.responses = self._table(RESPONSES)
        self.aggregates = self._table(AGGREGATES)
        self.surveys = self._table(SURVEYS)
        self.contacts = self._table(CONTACTS)
        self.suppressions = self._table(SUPPRESSIONS)
        self.follow_ups = self._table(FOLLOW_UPS)
        self.accounts = self._table(ACCOUNTS)
        # The id key: HMAC key of invite ids and suppression keys (nps.links.pseudonyms), JSON
        # {"key": "<64 random chars>"}. Kept for the stack's life like the tables whose keys it made:
        # changing it orphans every stored suppression key (docs/operations.md, "The id key").
        self.id_key = secretsmanager.Secret(
            self,
            "IdKey",
            description="HMAC key of invite ids and suppression keys (never rotate in place)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({}),
                generate_string_key="key",
                exclude_punctuation=True,
                password_length=64,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Table.grant(...) also grants on "<table>/index/*" once a table has an index. Those indexes are
        # the ones in nps.kernel.tables, holding (projections of) the same items the grantee may already read.
        stack = cdk.Stack.of(self)
        for table in (self.invites, self.responses, self.aggregates, self.contacts):
            logical_id = stack.get_logical_id(table.node.default_child)  # type: ignore[arg-type]
            cdk.Validations.of(stack).acknowledge(
                cdk.Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/index/*]",
                    reason="A table grant covers its own secondary indexes (see nps.kernel.tables), no other table.",
                )
            )

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        spec = spec.deployed(self.keeps_retiring_indexes)
        string = dynamodb.AttributeType.STRING
        table = dynamodb.Table(
            self,
            spec.logical_name.capitalize(),
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=string),
            sort_key=dynamodb.Attribute(name=spec.sort_key, type=string) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=string),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=string) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType(index.projection),
                non_key_attributes=list(index.include) or None,
            )
        return table


#: DynamoDB actions that only read items; any other item action writes.
_READ_ACTIONS = frozenset(
    {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheckItem"}
)


def grant_items(table: dynamodb.ITable, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
    """Grant item ``actions`` on ``table`` with the key permissions its encryption implies.

    ``Table.grant`` grants only the DynamoDB actions; on a table encrypted with a customer-managed key
    DynamoDB then answers ``AccessDeniedException`` (reads need ``kms:Decrypt``; writes also
    ``kms:Encrypt``/``kms:GenerateDataKey*`` — "Encryption at rest: how it works", DynamoDB developer
    guide). The key grant goes through the key's grant methods and names exact actions (no
    ``ReEncrypt*``/``GenerateDataKey*`` wildcards): decrypt for reads, decrypt + encrypt + data keys for
    writes, on this key only.
    """
    grant = table.grant(grantee, *actions)
    key = table.encryption_key
    if key is not None:
        if set(actions) <= _READ_ACTIONS:
            key.grant_decrypt(grantee)
        else:
            key.grant(grantee, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
    return grant


def grant_index_query(table: dynamodb.ITable, grantee: iam.IGrantable, index_name: str | None) -> iam.Grant:
    """Grant ``dynamodb:Query`` on one index of ``table`` (or, with ``index_name`` None, on the table alone,
    none of its indexes), with ``kms:Decrypt`` on its key: narrower than ``grant_items(table, grantee,
    "dynamodb:Query")``, which covers every index of the table (``Table.grant`` adds ``<table>/index/*``)."""
    arn = table.table_arn if index_name is None else f"{table.table_arn}/index/{index_name}"
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=["dynamodb:Query"], resource_arns=[arn])
    if table.encryption_key is not None:
        table.encryption_key.grant_decrypt(grantee)
    return grant
