"""Which deployed principal is making the AWS calls of this moment, when the platform runs locally.

In AWS every call is signed by a role: a function's execution role, a state machine's role, the
scheduler's role. Locally everything runs in one process with one set of fake credentials, so the
permission test (``tests/permissions``) needs to know on whose behalf each call is made:

- calls made while a handler in ``functions/<name>/`` is on the stack belong to ``function:<name>``
  (found from the call stack; nothing to do for the callers);
- calls made by something that stands in for another AWS principal (the Step Functions interpreter's
  SDK tasks, a rule target, the scheduler) are wrapped in :func:`acting_as`, e.g.
  ``with acting_as("state-machine:detractor"): ...``.

Calls outside both (test set-up, the operator's CLI) are made with the operator's own credentials and
are not checked against a role.

Work a principal hands to a thread pool (the planner's and the importer's parallel writes) runs on
threads whose stack holds no handler and whose context is fresh; :func:`follow_threads` makes such work
belong to the principal that submitted it, as it does in AWS (one process, one role).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from types import FrameType
from typing import Any, TypeVar

_T = TypeVar("_T")

_PRINCIPAL: ContextVar[str | None] = ContextVar("nps_local_principal", default=None)
_BOUNDARY: ContextVar[FrameType | None] = ContextVar("nps_local_boundary", default=None)
#: Logical id in the synthesized template → this environment's ``Ref`` values for it (register_resource).
_RESOURCES: dict[str, set[str]] = {}


def register_resource(logical_id: str, ref: str) -> None:
    """Say which local resource stands in for a template resource that no function's environment names
    (e.g. the alerts topic a state machine publishes to), so its calls are judged on the right resource."""
    _RESOURCES.setdefault(logical_id, set()).add(ref)


def registered_resources() -> list[tuple[str, str]]:
    """Every stand-in registered so far: (logical id, local ``Ref`` value) pairs."""
    return [(logical_id, ref) for logical_id, refs in _RESOURCES.items() for ref in sorted(refs)]


@contextmanager
def acting_as(principal: str) -> Iterator[None]:
    """Attribute the AWS calls made inside the block to ``principal`` (``kind:name``).

    A handler called inside the block still owns its own calls: the innermost principal wins.
    """
    token = _PRINCIPAL.set(principal)
    try:
        yield
    finally:
        _PRINCIPAL.reset(token)


@contextmanager
def as_outside_world() -> Iterator[None]:
    """Calls inside the block belong to someone outside the handler that is running: a test playing
    another person or service in the middle of a handler (a concurrent comment, a stream read). A handler
    called inside the block still owns its own calls."""
    token = _BOUNDARY.set(sys._getframe(2))  # the frame of the ``with`` statement
    try:
        yield
    finally:
        _BOUNDARY.reset(token)


def current_principal() -> str | None:
    """The principal whose role signs an AWS call made here and now, or None for the operator.

    The innermost ``functions.<name>.handler`` module on the call stack wins; otherwise the innermost
    :func:`acting_as` block.
    """
    frame = sys._getframe(1)
    boundary = _BOUNDARY.get()
    while frame is not None:
        if frame is boundary:
            return None
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("functions.") and module.endswith(".handler"):
            return "function:" + module.split(".")[1]
        frame = frame.f_back  # type: ignore[assignment]
    return _PRINCIPAL.get()


def follow_threads() -> None:
    """Attribute work submitted to a ``ThreadPoolExecutor`` to the principal that submitted it (idempotent).

    Without this, a call made on a pool thread has no handler on its stack and no ``acting_as`` block,
    so it would pass as the operator's and never be checked against the submitting function's role.
    """
    original = ThreadPoolExecutor.submit
    if getattr(original, "_nps_follows_principal", False):
        return

    def submit(self: ThreadPoolExecutor, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        principal = current_principal()
        if principal is None:
            return original(self, fn, *args, **kwargs)

        def as_submitter(*inner_args: Any, **inner_kwargs: Any) -> _T:
            with acting_as(principal):
                return fn(*inner_args, **inner_kwargs)

        return original(self, as_submitter, *args, **kwargs)

    submit._nps_follows_principal = True  # type: ignore[attr-defined]
    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign,assignment]
