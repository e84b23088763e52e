"""The committed OpenAPI document is what the code generates, and the API keeps to it under fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from functions import openapi
from tests.permissions.session import load_template_now

SCHEMA = schemathesis.openapi.from_path(
    openapi.DOCUMENT, config=SchemathesisConfig.from_path(openapi.ROOT / "schemathesis.toml")
)


def test_the_committed_openapi_document_matches_the_code() -> None:
    # Run `make openapi` after changing a route, its documentation or a form model.
    assert openapi.DOCUMENT.read_text("utf-8") == openapi.render()


@pytest.fixture(scope="module")
def served() -> Any:
    """The local server on its own moto platform, for the whole module (fuzzing makes many calls)."""
    from moto import mock_aws

    from functions.respond import handler as respond
    from local import server as local_server
    from nps.kernel import aws

    with mock_aws():
        aws.reset_clients()
        respond.service.cache_clear()
        load_template_now()  # before any request thread records a call
        instance = local_server.start(port=0, invites=3)
        yield instance
        instance.stop()
    aws.reset_clients()
    respond.service.cache_clear()


@pytest.fixture
def base_url(served: Any) -> str:
    url: str = served.base_url
    return url


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_api_fail_or_break_its_schema(case: Any, base_url: str) -> None:
    # Random tokens, scores, bodies and headers: every answer is a documented status with a documented
    # body, and never a server error.
    response = case.call_and_validate(base_url=base_url)
    assert response.status_code < 500


def test_fuzzing_also_reaches_real_invites(served: Any) -> None:
    # The generated tokens are almost always invalid; make sure valid ones are exercised too.
    invite = served.invites[0]
    operation = SCHEMA["/r/{token}"]["POST"]
    for score in ("0", "10", "11", "", "ten"):
        case = operation.Case(
            path_parameters={"token": invite.token},
            body={"score": score},
            media_type="application/x-www-form-urlencoded",
        )
        response = case.call_and_validate(base_url=served.base_url)
        assert response.status_code in (200, 400)
