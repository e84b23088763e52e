"""Keep a long local run on moto from holding every DynamoDB transaction's table backups in memory.

moto registers every model object it creates (tables, items, stream records…) in a per-class list
(``instances_tracked``, see ``moto.core.model_instances``) for its server's dashboard; the list is emptied
only when the mock is reset. Its ``TransactWriteItems`` backs up, before applying anything, the whole table
of *each item* of the transaction with ``copy.deepcopy`` (items, indexes and the stream's records), to
restore it on a cancellation. Every backup is made of model objects, so every backup stays registered,
and referenced, until the mock ends: a transaction of 100 aggregate updates (the score function's chunks)
keeps 100 copies of the aggregates table. The memory a run holds therefore grows with transactions × items
per transaction × table size: at the demo's 400 contacts, 9–13 GB (more on a quarter's or year's last
evening, whose answers fall in two periods and so update more aggregates).

Inside :func:`transaction_backups_released` a transaction runs as moto runs it (the backups are still made,
and still restored on a cancellation); afterwards moto's DynamoDB registry is emptied, so what only the
registry held is freed: the backups, a table a cancellation replaced by its backup, and the items moto
copied or replaced before. What the tables hold stays. The registry serves only moto's dashboard
(``/moto-api/``) and S3's clean-up of orphaned keys; an in-process mock (the demo, the tests) uses
neither, so nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock


def registered_dynamodb_models() -> int:
    """How many DynamoDB model objects moto's registry holds (tables, items, stream records…)."""
    return sum(len(model.instances_tracked) for model in _dynamodb_models())


def registered_tables() -> int:
    """How many DynamoDB tables moto's registry holds: at most the live ones, unless backups are kept."""
    from moto.dynamodb.models.table import Table

    return len(Table.instances_tracked)  # type: ignore[attr-defined]


def live_tables() -> int:
    """How many DynamoDB tables moto serves, in every account and region."""
    from moto.dynamodb.models import dynamodb_backends

    backends: list[Any] = [backend for _, _, backend in dynamodb_backends.iter_backends()]
    return sum(len(backend.tables) for backend in backends)


def _dynamodb_models() -> list[Any]:
    """moto's DynamoDB model classes (those imported so far), each with its ``instances_tracked`` list."""
    from moto.core.model_instances import model_data

    return list(model_data["dynamodb"].values())


@contextmanager
def transaction_backups_released() -> Iterator[None]:
    """For the duration of the block (inside ``mock_aws``), moto's DynamoDB registry is emptied after every
    ``TransactWriteItems``, so it keeps none of the transaction's table backups (the module docstring says why)."""
    from moto.dynamodb.models import DynamoDBBackend

    moto_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            moto_transact(backend, transact_items)
        finally:
            for model in _dynamodb_models():
                model.instances_tracked.clear()

    with mock.patch.object(DynamoDBBackend, "transact_write_items", transact_write_items):
        yield
