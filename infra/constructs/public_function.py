"""A public function on the response API: the shape the share link's pages and the web prompt share.

Both are a function of the shared platform (layers, log retention) with 1 GB and 10 s, the tables they
use named in their environment (``SURVEYS_TABLE`` …), each table's item actions granted with its key
(:func:`infra.constructs.storage.grant_items`), and routes on the response API (the same domain as the
one-tap links) through one Lambda integration. :func:`public_function` builds that once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.constructs.platform import Platform
from infra.constructs.storage import grant_items


@dataclass(frozen=True)
class Route:
    """A path of the response API and the methods it sends to the function."""

    path: str
    methods: tuple[apigw.HttpMethod, ...]


@dataclass(frozen=True)
class TableUse:
    """A table the function uses: its environment variable (``<NAME>_TABLE``) and the item actions granted
    (``dynamodb:GetItem`` …; none: the name only)."""

    name: str
    table: dynamodb.ITable
    actions: tuple[str, ...] = ()


def public_function(
    scope: Construct,
    construct_id: str,
    *,
    platform: Platform,
    api: apigw.HttpApi,
    name: str,
    description: str,
    tables: Sequence[TableUse],
    routes: Sequence[Route],
    environment: Mapping[str, str] | None = None,
    memory_size: int = 1024,
    timeout: Duration | None = None,
) -> lambda_.Function:
    """The function ``functions/<name>/handler.py`` (construct id ``construct_id``, 1 GB and 10 s unless
    told), with ``<NAME>_TABLE`` for each of ``tables`` and ``environment`` in its environment, each table's
    actions granted (with the table key's), and ``routes`` on ``api`` through one integration
    (``<construct_id>Integration``). Secrets and other grants are the caller's."""
    function = platform.function(
        scope,
        construct_id,
        name=name,
        memory_size=memory_size,
        timeout=timeout or Duration.seconds(10),
        description=description,
        environment={f"{use.name.upper()}_TABLE": use.table.table_name for use in tables} | dict(environment or {}),
    )
    for use in tables:
        if use.actions:
            grant_items(use.table, function, *use.actions)
    integration = HttpLambdaIntegration(f"{construct_id}Integration", function)
    for route in routes:
        api.add_routes(path=route.path, methods=list(route.methods), integration=integration)
    return function
