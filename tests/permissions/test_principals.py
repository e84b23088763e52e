"""Calls are attributed to the principal that makes them, also from the thread pools handlers use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.principals import acting_as, current_principal, follow_threads

HANDLER = """
def run(pool, probe):
    return pool.submit(probe).result(), list(pool.map(lambda _: probe(), range(3)))
"""


def fake_handler(name: str) -> dict[str, Any]:
    """A module that looks like ``functions/<name>/handler.py`` to the call-stack attribution."""
    namespace: dict[str, Any] = {"__name__": f"functions.{name}.handler"}
    exec(HANDLER, namespace)  # noqa: S102 - a fixed snippet, to own a frame named like a handler
    return namespace


def test_a_handler_owns_its_calls_and_an_acting_block_owns_the_rest() -> None:
    assert current_principal() is None
    with acting_as("state-machine:detractor"):
        assert current_principal() == "state-machine:detractor"
    assert current_principal() is None


def test_work_a_handler_hands_to_a_thread_pool_stays_the_handlers() -> None:
    # Given the recorder's thread following (installed with it) and a handler that writes in parallel
    follow_threads()
    handler = fake_handler("planner")
    # When its work runs on pool threads (submit and map)
    with ThreadPoolExecutor(max_workers=2) as pool:
        single, mapped = handler["run"](pool, current_principal)
    # Then those calls are still the planner's, not the operator's
    assert single == "function:planner"
    assert mapped == ["function:planner"] * 3


def test_work_submitted_by_the_operator_stays_the_operators() -> None:
    follow_threads()
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(current_principal).result() is None
        with acting_as("function:score"):
            assert pool.submit(current_principal).result() == "function:score"
        assert pool.submit(current_principal).result() is None
