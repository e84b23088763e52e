"""Whose role a call made locally is judged against (local.principals)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local.principals import acting_as, as_outside_world, current_principal


def handler_module(name: str) -> dict[str, Any]:
    """A function defined in a module named like a handler (``functions.<name>.handler``)."""
    namespace: dict[str, Any] = {"__name__": f"functions.{name}.handler"}
    exec("def lambda_handler(work):\n    return work()\n", namespace)  # noqa: S102 - a fixed, local snippet
    return namespace


def test_the_innermost_handler_on_the_stack_owns_the_call() -> None:
    outer, inner = handler_module("follow_up_events"), handler_module("respond")
    assert outer["lambda_handler"](current_principal) == "function:follow_up_events"
    nested: Callable[[], Any] = lambda: inner["lambda_handler"](current_principal)  # noqa: E731
    assert outer["lambda_handler"](nested) == "function:respond"


def test_an_acting_principal_owns_calls_outside_any_handler_and_none_means_the_operator() -> None:
    assert current_principal() is None
    with acting_as("state-machine:detractor"):
        assert current_principal() == "state-machine:detractor"
        assert handler_module("follow_up")["lambda_handler"](current_principal) == "function:follow_up"


def test_the_outside_world_inside_a_handler_is_not_the_handler() -> None:
    outer, inner = handler_module("follow_up_events"), handler_module("respond")

    def a_person_meanwhile() -> list[Any]:
        with as_outside_world():
            return [current_principal(), inner["lambda_handler"](current_principal)]

    assert outer["lambda_handler"](a_person_meanwhile) == [None, "function:respond"]
