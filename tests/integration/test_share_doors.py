"""The share link's two doors answer the same bytes: the direct door (the link's routes, no Powertools
resolver on the cold start) and the Powertools resolver that routes every other request."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from functions.share import handler as share
from local.lambda_events import LambdaContext, http_event
from nps.channels.service import LimiterUnavailable, RateLimited
from tests.integration.test_share_link import BROWSER, SURVEY_ID, put_survey, request

ADDRESS = iter(f"192.0.2.{n}" for n in range(1, 250))
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def stack(platform: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for cached in (share.settings, share.surveys, share.limiter, share.service, share.browser_script):
        cached.cache_clear()
    # the page and browser ids are random: fixed here so that two answers can be compared byte for byte
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _: "fixed-id-for-the-test")
    put_survey(platform)
    put_survey(platform, "identified-survey", mode="identified", identified_max_days=30)
    yield platform
    for cached in (share.settings, share.surveys, share.limiter, share.service, share.browser_script):
        cached.cache_clear()


def event(
    method: str,
    path: str,
    form: dict[str, str] | None = None,
    *,
    raw: str | None = None,
    query: dict[str, str] | None = None,
    content_type: str = FORM,
    **headers: str,
) -> dict[str, Any]:
    body = raw if raw is not None else (urlencode(form) if form is not None else None)
    given = {"content-type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return http_event(method, path, query=query, body=body, headers=given, source_ip=next(ADDRESS))


def both_doors(request_event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The direct door's answer, then the resolver's, to the same request (from another client address)."""
    route = share.direct_route(request_event)
    assert route is not None, "a request of the link's pages is answered directly"
    share.begin(request_event)
    direct = share.answer_directly(*route)
    context = request_event["requestContext"]
    again = {**request_event, "requestContext": {**context, "http": {**context["http"], "sourceIp": next(ADDRESS)}}}
    share.begin(again)
    return direct, share.resolver().resolve(again, LambdaContext("share"))


PAGE = f"/s/{SURVEY_ID}"
COMMENT = f"{PAGE}/comment"


def requests() -> list[dict[str, Any]]:
    """Representative requests of the link's pages, good and bad, whose answers do not depend on which of
    two identical requests came first (the answer is given once before)."""
    return [
        event("GET", PAGE),
        event("GET", PAGE, accept_language="de-DE,de;q=0.9"),
        event("HEAD", PAGE),
        event("POST", PAGE, {"score": "9", "b": BROWSER}),
        event("POST", COMMENT, {"comment": "Schnell & <gut>", "score": "9", "b": BROWSER}),
        event("POST", COMMENT, {"comment": "", "score": "9", "b": BROWSER}),
        # bad input: the same page and status through both doors
        event("GET", "/s/no-such-survey"),
        event("HEAD", "/s/no-such-survey"),
        event("POST", PAGE, {"score": "11", "b": BROWSER}),
        event("POST", PAGE, {"score": "9", "b": BROWSER, "x": "1"}),
        event("POST", PAGE, raw="score=9&score=8"),
        event("POST", PAGE, raw="score=%FF"),
        event("POST", PAGE, {"score": "9"}, content_type="application/json"),
        event("POST", PAGE, raw="a" * (33 * 1024)),
        event("POST", COMMENT, {"comment": "x" * 2001, "score": "9", "b": BROWSER}),
        event("GET", "/s/identified-survey", query={"t": "forged"}),
        event("GET", "/s/identified-survey"),
        event("HEAD", "/s/identified-survey", query={"t": "forged"}),
    ]


def test_the_link_pages_get_the_resolvers_exact_answer(stack: Any) -> None:
    assert request("POST", PAGE, {"score": "9", "b": BROWSER})["statusCode"] == 200
    for request_event in requests():
        # When the same request goes through the direct door and through the Powertools resolver
        direct, resolved = both_doors(request_event)
        # Then both answers are the same, byte for byte (status, headers incl. CSP, body)
        assert direct == resolved, (request_event["requestContext"]["http"]["method"], request_event["rawPath"])


@pytest.mark.parametrize("refusal", [RateLimited(17), LimiterUnavailable("Throttled", retry_after=3)])
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_a_limited_client_gets_the_same_refusal_through_both_doors(
    stack: Any, monkeypatch: pytest.MonkeyPatch, refusal: Exception, method: str
) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise refusal

    monkeypatch.setattr(share.limiter(), "check_rate", refuse)
    direct, resolved = both_doors(event(method, PAGE, {"score": "9"} if method == "POST" else None))
    assert direct["statusCode"] in (429, 503)
    assert direct == resolved


def test_an_unexpected_failure_is_the_same_500_page_through_both_doors(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(share.service(), "answer", broken)
    direct, resolved = both_doors(event("POST", PAGE, {"score": "9", "b": BROWSER}))
    assert direct["statusCode"] == 500
    assert "secret detail" not in direct["body"]
    assert direct == resolved


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", PAGE, 405),
        ("GET", COMMENT, 405),
        ("DELETE", COMMENT, 405),
        ("GET", f"{PAGE}/", 404),
        ("GET", "/s/not%20an%20id", 404),
        ("GET", "/s/" + "x" * 65, 404),
        ("GET", "/", 404),
    ],
)
def test_other_requests_go_to_the_resolver(stack: Any, method: str, path: str, status: int) -> None:
    # Given a request of no route of the link's pages, or spelled another way
    request_event = event(method, path)
    # Then the direct door leaves it to the resolver, which answers it as before
    assert share.direct_route(request_event) is None
    answer = share.lambda_handler(request_event, LambdaContext("share"))
    assert answer["statusCode"] == status
    assert answer["headers"]["Content-Type"].startswith("text/html")
