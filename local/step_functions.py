"""Step Functions executions on moto: moto's ASL interpreter, adjusted narrowly for local runs.

moto ≥ 5 executes state machine definitions when mocked with :data:`MOTO_CONFIG`
(``execute_state_machine``): Choice, Pass, Wait, Task with ``Retry``/``Catch``, ``ResultPath``,
``Parameters``, ``.waitForTaskToken`` and the SDK integrations run as written. Out of the box its
interpreter would run Lambda tasks in Docker and sleep for real in Wait states and task timeouts (days,
for the follow-up workflows). Inside :func:`interpreter` it is adjusted as follows, and nothing else:

* **Lambda tasks run in this process.** The interpreter invokes Lambda through boto3 like any AWS call
  (the state machine's role calls ``lambda:InvokeFunction``); moto's Lambda backend answers for the
  functions :meth:`Interpreter.register` names by calling their handler with the payload. A handler's
  exception becomes Lambda's ``Unhandled`` function error carrying its ``errorType``, so the definitions'
  ``Retry``/``Catch`` match the error name exactly as in AWS. Other functions go to moto unchanged.
* **SDK tasks reach this process's moto.** Inside ``mock_aws`` the interpreter's boto3 clients are already
  intercepted (it addresses ``localhost:5000`` only when no mock is active): nothing to change.
* **Whose calls they are.** Each task state runs in a thread of its own, and a new thread does not inherit
  context variables; the task's evaluation is therefore wrapped, in that thread, in
  ``acting_as(<principal of the execution's state machine>)`` (found from ``$$.StateMachine.Id``), so the
  permission test checks SNS, EventBridge, SQS and Lambda calls against the state machine's role. A Lambda
  handler's own calls still belong to its function (the innermost principal wins).
* **Time is simulated.** Wait states, ``.waitForTaskToken`` timeouts and ``Retry`` back-off park on
  :class:`SimulatedTime`: a wait ends only when :meth:`SimulatedTime.advance` moves the shared clock past its
  deadline, one wait at a time in deadline order (so executions step deterministically). Why a clock rather
  than shorter waits: the seconds come from the survey's settings (whole days, computed by the ``open``
  step), and the steps stamp their records with the same simulated clock (resolution, re-survey, link
  expiry); waits on the real clock would disagree with those records, and shrinking the settings would
  change the product under test.

What moto's interpreter does differently from AWS (documented in docs/events.md, "Running the workflows
locally"), and what is kept as the narrowest fallback:

* A ``Parameters`` path that selects nothing fails the task with an error named ``Exception`` (retried by
  ``States.TaskFailed`` and caught by ``States.ALL``); AWS fails the execution at once with
  ``States.Runtime``, which no Retry or Catch sees. Either way the execution fails.
* A Choice rule whose ``Variable`` is missing does not match (the Default is taken); AWS fails the execution
  with ``States.Runtime``. Choice paths are proven by the states an execution enters, not by a failure.
* Heartbeats (``HeartbeatSeconds``) keep real time; no follow-up task uses one.
* EventBridge rules cannot target a state machine in moto: the caller starts executions from the events
  the rules delivered to stand-in queues (see ``local/workflows.py``).
* Logging, tracing and encryption settings of a state machine are not applied; IAM is not evaluated (the
  permission test does that from the recorded calls).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from unittest import mock

from local.lambda_events import LambdaContext
from local.principals import acting_as

#: ``mock_aws(config=MOTO_CONFIG)``: state machines execute (otherwise executions stay RUNNING).
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}}
#: How long :meth:`SimulatedTime.settle` lets executions run before it reports them as stuck (real seconds).
SETTLE_TIMEOUT_SECONDS = 120.0
#: A parked wait re-checks its condition at least this often (real seconds), should a wake-up be missed.
_RECHECK_SECONDS = 1.0
_POLL_SECONDS = 0.005

Handler = Callable[[dict[str, Any], LambdaContext], Any]


class Clock(Protocol):
    """The simulated "now" the handlers and the interpreter share (``local.demo_sending.Clock``)."""

    now: datetime


@dataclass
class _Parked:
    execution_arn: str
    deadline: datetime
    order: int
    #: Still waiting for something other than time (the task token's outcome, the execution's end).
    waiting: Callable[[], bool]
    released: bool = False

    def blocked(self) -> bool:
        return not self.released and self.waiting()


class ExecutionsStuck(RuntimeError):
    """Executions kept running without reaching a wait (a step that hangs, or the interpreter failed)."""


@dataclass
class SimulatedTime:
    """The interpreter's clock: Wait states, task-token timeouts and retry back-off end when the clock passes
    their deadline.

    Executions run in moto's threads; :meth:`settle` returns once every execution is either finished or
    parked (in a wait whose deadline has not been released, or a task-token wait nobody answered yet).
    """

    clock: Clock
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _parked: list[_Parked] = field(default_factory=list)
    _order: Iterator[int] = field(default_factory=itertools.count)

    def park(self, execution_arn: str, seconds: float, waiting: Callable[[], bool]) -> bool:
        """Block the calling interpreter thread for ``seconds`` of simulated time, or until ``waiting()``
        turns false. True when the time ran out."""
        if seconds <= 0:
            return True
        with self._changed:
            entry = _Parked(execution_arn, self.clock.now + timedelta(seconds=seconds), next(self._order), waiting)
            self._parked.append(entry)
            try:
                while entry.blocked():
                    self._changed.wait(_RECHECK_SECONDS)
            finally:
                self._parked.remove(entry)
            return entry.released

    def wake(self, timeout: float = 5.0) -> None:
        """Let parked waits re-check their condition (after stopping executions), and wait (real time) until
        those that no longer wait have left."""
        give_up = time.monotonic() + timeout
        with self._changed:
            self._changed.notify_all()
        while time.monotonic() < give_up:
            with self._changed:
                if all(p.blocked() for p in self._parked):
                    return
            time.sleep(_POLL_SECONDS)

    def settle(self, running: Callable[[], set[str]], timeout: float = SETTLE_TIMEOUT_SECONDS) -> None:
        """Wait (real time) until every execution ``running()`` returns is parked."""
        give_up = time.monotonic() + timeout
        while True:
            with self._changed:
                self._changed.notify_all()
                parked = {p.execution_arn for p in self._parked if p.blocked()}
            busy = running() - parked
            if not busy:
                return
            if time.monotonic() > give_up:
                raise ExecutionsStuck(f"{len(busy)} executions still running after {timeout:.0f} s: {sorted(busy)[:5]}")
            time.sleep(_POLL_SECONDS)

    def advance(self, delta: timedelta, running: Callable[[], set[str]]) -> None:
        """Move the clock ``delta`` on; every wait whose deadline falls inside ends at its deadline, in order."""
        target = self.clock.now + delta
        while True:
            self.settle(running)
            with self._changed:
                due = [p for p in self._parked if p.blocked() and p.deadline <= target]
                if not due:
                    break
                first = min(due, key=lambda p: (p.deadline, p.order))
                self.clock.now = max(self.clock.now, first.deadline)
                first.released = True
                self._changed.notify_all()
        self.clock.now = max(self.clock.now, target)


@dataclass
class Interpreter:
    """What the adjusted interpreter needs: in-process functions, principals by state machine, the clock."""

    time: SimulatedTime
    #: Function name → handler, for Lambda tasks answered in-process.
    functions: dict[str, Handler] = field(default_factory=dict)
    #: State machine ARN → the principal whose role signs its tasks' calls (``state-machine:<name>``).
    principals: dict[str, str] = field(default_factory=dict)

    def register(self, function_name: str, handler: Handler) -> None:
        self.functions[function_name] = handler

    # -- Lambda, in-process --------------------------------------------------------------------------
    def invoke(self, function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes | None:
        """Lambda's Invoke for a registered function (None for any other: moto answers)."""
        name = _function_name(function_name)
        handler = self.functions.get(name)
        if handler is None:
            return None
        event = json.loads(body) if body else {}
        try:
            result = handler(event, LambdaContext(name))
        except Exception as error:  # Lambda's runtime reports any exception as an Unhandled function error
            response_headers["x-amz-function-error"] = "Unhandled"
            result = {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "requestId": str(uuid.uuid4()),
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
        payload = json.dumps(result).encode()
        response_headers["Content-Length"] = str(len(payload))
        return payload


_ACTIVE: Interpreter | None = None


def _active() -> Interpreter:
    if _ACTIVE is None:
        raise RuntimeError("the Step Functions interpreter is used outside local.step_functions.interpreter()")
    return _ACTIVE


def _function_name(name_or_arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` or a name → the name."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    return name_or_arn


def _context(env: Any) -> dict[str, Any]:
    data: dict[str, Any] = env.states.context_object.context_object_data
    return data


@contextmanager
def interpreter(clock: Clock) -> Iterator[Interpreter]:
    """moto's interpreter with the local adjustments (module docstring) for the duration of the block."""
    from moto.awslambda.models import LambdaBackend
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeSuccess, CallbackOutcomeTimedOut

    global _ACTIVE
    if _ACTIVE is not None:
        raise RuntimeError("the Step Functions interpreter is already adjusted")
    moto_invoke = LambdaBackend.invoke

    def invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> Any:
        payload = _active().invoke(function_name, body, response_headers)
        if payload is None:
            return moto_invoke(backend, function_name, qualifier, body, headers, response_headers)
        return payload

    def wait_interval(wait: Any, env: Any, wait_seconds: int) -> None:
        # A Wait state: until the simulated clock passes its deadline (or the execution stops).
        _active().time.park(_context(env)["Execution"]["Id"], wait_seconds, env.is_running)

    moto_wait_for_token = StateTaskServiceCallback._eval_wait_for_task_token

    def wait_for_task_token(
        task: Any, env: Any, timeout_seconds: int, callback_endpoint: Any, heartbeat_endpoint: Any
    ) -> Any:
        if heartbeat_endpoint is not None:
            return moto_wait_for_token(task, env, timeout_seconds, callback_endpoint, heartbeat_endpoint)

        # The token's outcome (SendTaskSuccess/Failure), or the task's timeout on the simulated clock.
        def unanswered() -> bool:
            return bool(env.is_running()) and callback_endpoint.get_outcome() is None

        _active().time.park(_context(env)["Execution"]["Id"], timeout_seconds, unanswered)
        outcome = callback_endpoint.get_outcome()
        if outcome is None and not env.is_running():
            # Stopped (StopExecution) while waiting: AWS ends the execution ABORTED, running no Catch. A
            # timeout here would run the Catch path, whose error moto lets overwrite the stop (FAILED).
            return CallbackOutcomeSuccess(callback_id=callback_endpoint.callback_id, output="{}")
        return outcome if outcome is not None else CallbackOutcomeTimedOut(callback_id=callback_endpoint.callback_id)

    # Retry back-off: moto's retrier sleeps with ``time.sleep`` in the execution's thread; that module's
    # ``time`` is replaced by a sleep on the simulated clock, which finds the execution from the retrier.
    moto_retry = retrier_decl.RetrierDecl._eval_body
    retrying = threading.local()

    def retry(retrier: Any, env: Any) -> None:
        retrying.env = env
        try:
            moto_retry(retrier, env)
        finally:
            retrying.env = None

    class BackOff:
        @staticmethod
        def sleep(seconds: float) -> None:
            env = retrying.env
            _active().time.park(_context(env)["Execution"]["Id"], seconds, env.is_running)

    def as_state_machine(moto_eval: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        def eval_execution(task: Any, env: Any) -> None:
            principal = _active().principals.get(str(_context(env)["StateMachine"]["Id"]))
            if principal is None:
                return moto_eval(task, env)
            with acting_as(principal):
                return moto_eval(task, env)

        return eval_execution

    _ACTIVE = Interpreter(SimulatedTime(clock))
    try:
        with ExitStack() as patches:
            patches.enter_context(mock.patch.object(LambdaBackend, "invoke", invoke))
            patches.enter_context(mock.patch.object(WaitFunction, "_wait_interval", wait_interval))
            patches.enter_context(
                mock.patch.object(StateTaskServiceCallback, "_eval_wait_for_task_token", wait_for_task_token)
            )
            patches.enter_context(mock.patch.object(retrier_decl.RetrierDecl, "_eval_body", retry))
            patches.enter_context(mock.patch.object(retrier_decl, "time", BackOff))
            for task_class in (StateTaskService, StateTaskLambda):
                eval_execution = as_state_machine(task_class._eval_execution)
                patches.enter_context(mock.patch.object(task_class, "_eval_execution", eval_execution))
            yield _ACTIVE
    finally:
        _ACTIVE = None


def running_executions(arns: Iterable[str], account_id: str, region: str) -> set[str]:
    """Which of these executions are still RUNNING, read from moto's backend (no API call, no recording)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[account_id][region]
    wanted = set(arns)
    return {
        execution.execution_arn
        for machine in backend.state_machines
        for execution in machine.executions
        if execution.execution_arn in wanted and execution.status == "RUNNING"
    }
