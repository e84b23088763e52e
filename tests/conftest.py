"""Shared fixtures: a moto-backed platform, Lambda contexts and API Gateway v2 events."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from local.environment import prepare_process_environment
from local.lambda_events import LambdaContext

prepare_process_environment()

# Property tests judge results, never speed: on a loaded machine (CI runs the suite in parallel) the time a
# case or its data generation takes says nothing about the code, so neither fails a test.
settings.register_profile("nps", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("nps")


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def platform() -> Iterator[Any]:
    """The whole foundation on moto: tables, stream, bus + detractor rule + queue, signing secret."""
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    from functions.respond import handler as respond
    from functions.score import handler as score
    from local.environment import create_stack
    from local.step_functions import MOTO_CONFIG
    from nps.kernel import aws

    saved = dict(os.environ)
    with mock_aws(config=MOTO_CONFIG):
        aws.reset_clients()
        parameters.clear_caches()
        respond.service.cache_clear()
        score.service.cache_clear()
        stack = create_stack("test")
        yield stack
    aws.reset_clients()
    parameters.clear_caches()
    respond.service.cache_clear()
    score.service.cache_clear()
    os.environ.clear()
    os.environ.update(saved)


# Every AWS call a function or state machine makes in any test is checked against its synthesized role.
from tests.permissions.session import RECORDER, WIRE_KEY, session_finished, summary, worker_finished  # noqa: E402

RECORDER.install()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session_finished(session)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, on the controller: a worker ended; take its permission findings."""
    worker_finished(getattr(node, "workeroutput", {}).get(WIRE_KEY))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    summary(terminalreporter)
