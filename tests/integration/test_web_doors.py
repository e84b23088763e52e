"""The web API's two doors answer the same bytes: the direct door (documented routes, no Powertools
resolver on the cold start) and the Powertools resolver that routes every other request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.web import handler as web_function
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from tests.support.web import ORIGIN, SURVEY_ID, call, contact_token, put_web_survey

ADDRESS = iter(f"198.51.100.{n}" for n in range(1, 250))


@pytest.fixture
def web(platform: LocalStack) -> Iterator[LocalStack]:
    web_function.service.cache_clear()
    put_web_survey(platform)
    yield platform
    web_function.service.cache_clear()


def event(
    method: str,
    path: str,
    body: Any = None,
    *,
    origin: str | None = ORIGIN,
    raw: str | None = None,
    **headers: str,
) -> dict[str, Any]:
    """A request from its own client address (so the two doors never share a rate-limit budget)."""
    given = {"content-type": "application/json", **({"origin": origin} if origin else {}), **headers}
    text = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return http_event(method, path, body=text, headers=given, source_ip=next(ADDRESS))


def both_doors(request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The direct door's answer, then the resolver's, to the same request."""
    route = web_function.direct_route(request)
    assert route is not None, "a documented request is answered directly"
    direct = web_function.answer_directly(route, request)
    again = {**request, "requestContext": {**request["requestContext"], "http": {**request["requestContext"]["http"]}}}
    again["requestContext"]["http"]["sourceIp"] = next(ADDRESS)
    return direct, web_function.resolver().resolve(again, LambdaContext("web"))


def answered_token(stack: LocalStack, contact_id: str) -> str:
    """The ask token of a prompt shown to ``contact_id`` and answered 9."""
    shown = call(SURVEY_ID, "eligibility", {"contact_token": contact_token(stack, contact_id)})
    token: str = shown.body["ask_token"]
    assert call(SURVEY_ID, "responses", {"ask_token": token, "score": 9}).status == 200
    return token


SURVEY = f"/w/v1/surveys/{SURVEY_ID}"


def requests(stack: LocalStack) -> list[dict[str, Any]]:
    """Representative requests the widget and apps send, good and bad, whose answers do not depend on
    which of two identical requests came first."""
    token = answered_token(stack, "c-doors")
    contact = contact_token(stack, "c-doors")
    return [
        event("POST", f"{SURVEY}/eligibility", {"contact_token": contact, "url": "https://app.example.com/a"}),
        event("POST", f"{SURVEY}/responses", {"ask_token": token, "score": 9}),
        event("POST", f"{SURVEY}/comments", {"ask_token": token, "comment": "Fast <b>&</b> ünïcode", "score": 9}),
        event("OPTIONS", f"{SURVEY}/eligibility"),
        event("GET", "/w/v1/widget.js", origin=None),
        # bad input: the same status, headers and JSON error through both doors
        event("POST", f"{SURVEY}/responses", {"ask_token": token, "score": 11}),
        event("POST", f"{SURVEY}/responses", {"ask_token": "forged", "score": 9}),
        event("POST", f"{SURVEY}/comments", {"ask_token": token, "surprise": 1}),
        event("POST", f"{SURVEY}/eligibility", {"contact_token": contact, "url": 5}),
        event("POST", f"{SURVEY}/eligibility", raw="{not json"),
        event("POST", f"{SURVEY}/eligibility", raw='{"a": 1, "a": 2}'),
        event("POST", f"{SURVEY}/eligibility", raw="x" * (33 * 1024)),
        event("POST", f"{SURVEY}/eligibility", {"contact_token": contact}, **{"content-type": "text/plain"}),
        event("POST", f"{SURVEY}/eligibility", {"contact_token": contact}, origin="https://evil.example"),
        event("POST", f"{SURVEY}/eligibility", {"contact_token": contact}, origin=None),
        event("POST", "/w/v1/surveys/no-such-survey/eligibility", {"contact_token": contact}),
        event("OPTIONS", f"{SURVEY}/comments", origin="https://evil.example"),
    ]


def test_documented_requests_get_the_resolvers_exact_answer(web: LocalStack) -> None:
    for request in requests(web):
        # When the same request goes through the direct door and through the Powertools resolver
        direct, resolved = both_doors(request)
        # Then both answers are the same, byte for byte (status, headers incl. CORS and CSP, body)
        assert direct == resolved, (request["requestContext"]["http"]["method"], request["rawPath"])


def test_a_cached_widget_gets_the_same_not_modified_through_both_doors(web: LocalStack) -> None:
    first = web_function.lambda_handler(event("GET", "/w/v1/widget.js", origin=None), LambdaContext("web"))
    direct, resolved = both_doors(
        event("GET", "/w/v1/widget.js", origin=None, **{"if-none-match": first["headers"]["ETag"]})
    )
    assert direct["statusCode"] == 304
    assert direct == resolved


def test_an_unexpected_failure_is_the_same_500_through_both_doors(
    web: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(web_function.service(), "eligibility", broken)
    request = event("POST", f"{SURVEY}/eligibility", {"contact_token": contact_token(web, "c-x")})
    direct, resolved = both_doors(request)
    assert direct["statusCode"] == 500
    assert "secret detail" not in direct["body"]
    assert direct == resolved


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{SURVEY}/eligibility"),
        ("PUT", f"{SURVEY}/responses"),
        ("POST", f"{SURVEY}/unknown"),
        ("POST", f"{SURVEY}/eligibility/"),
        ("POST", "/w/v1/surveys/not%20an%20id/eligibility"),
        ("POST", "/w/v1/surveys/" + "x" * 65 + "/eligibility"),
        ("OPTIONS", "/w/v1/widget.js"),
        ("GET", "/w/v1/widget.js/"),
        ("GET", "/"),
    ],
)
def test_other_requests_go_to_the_resolver(web: LocalStack, method: str, path: str) -> None:
    # Given a request of no documented route, or spelled another way
    request = event(method, path, {"contact_token": "x"})
    # Then the direct door leaves it to the resolver, which answers it as before
    assert web_function.direct_route(request) is None
    answer = web_function.lambda_handler(request, LambdaContext("web"))
    assert answer["statusCode"] in (404, 405)
    assert json.loads(answer["body"])["error"]["code"] in ("not_found", "survey_not_found")
    assert answer["headers"]["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_request_to_another_stage_goes_to_the_resolver(web: LocalStack) -> None:
    # The resolver routes the path without the stage's prefix; the direct door knows only $default.
    request = event("POST", f"/prod{SURVEY}/eligibility", {"contact_token": "x"})
    request["requestContext"]["stage"] = "prod"
    assert web_function.direct_route(request) is None
    answer = web_function.lambda_handler(request, LambdaContext("web"))
    assert json.loads(answer["body"])["error"]["code"] == "token_invalid"  # routed without the prefix
