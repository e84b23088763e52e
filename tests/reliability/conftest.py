"""Fixtures of the reliability suite (the oracles and helpers live in :mod:`tests.support.reliability`)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from local.environment import LocalStack
from tests.support.reliability import route_events_to_queue


class _SnapshotOncePerTransaction:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``.

    moto 5.2.5's ``transact_write_items`` snapshots a table for rollback once per *item* of the
    transaction, all before the first write, so every snapshot of one call is the same state. Taking
    it once per table and call gives the identical rollback at a fraction of the cost (a 60-item
    transaction on a table of a few hundred items otherwise spends seconds copying). Nothing else in
    moto changes: other ``deepcopy`` calls and calls outside a transaction go to :mod:`copy`.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        snapshots: dict[int, Any] | None = getattr(self._local, "snapshots", None)
        if snapshots is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in snapshots:
            snapshots[id(value)] = copy.deepcopy(value)
        return snapshots[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def transaction(self, original: Any) -> Any:
        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            self._local.snapshots = {}
            try:
                original(backend, transact_items)
            finally:
                self._local.snapshots = None

        return transact_write_items


@pytest.fixture(scope="package", autouse=True)
def _fast_moto_transactions() -> Iterator[None]:
    """moto's transactions, with one rollback snapshot per table instead of one per item (same result)."""
    import moto.dynamodb.models as models

    shim = _SnapshotOncePerTransaction()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "copy", shim)
        patch.setattr(
            models.DynamoDBBackend,
            "transact_write_items",
            shim.transaction(models.DynamoDBBackend.transact_write_items),
        )
        yield


@pytest.fixture
def scored_events(platform: LocalStack) -> str:
    """A queue that receives every ``NPS Response Scored`` event the bus routes."""
    return route_events_to_queue(platform, "scored-events", ["NPS Response Scored"])
