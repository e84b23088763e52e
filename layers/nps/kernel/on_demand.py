"""Adapters built (and their modules imported) on first use, so a function's cold start loads only what
its common path needs (tests/architecture/test_import_budget.py holds each function to its path)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class OnDemand(Generic[T]):
    """Stands in for the object ``build`` returns: built once, on the first attribute read of it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = cache(build)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build(), name)


def on_demand(build: Callable[[], T]) -> T:
    """An :class:`OnDemand` typed as what it stands in for."""
    return cast("T", OnDemand(build))
