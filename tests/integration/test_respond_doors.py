"""The respond function's two doors: a link's pages are answered directly, without the Powertools
resolver; both doors answer the same bytes (status, headers incl. CSP and cache-control, page) for the
same request, good or bad."""

from __future__ import annotations

from itertools import count
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.respond import handler as respond
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.responding.adapters.responses import MAX_COMMENTS_PER_RESPONSE
from tests.support.taps import BROWSER, FORM, PAGE_SCRIPT, IssuedInvite, issue_invite

#: What a mail security scanner's fetch looks like: no browser navigation headers, a service's agent.
SCANNER = {"user-agent": "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)", "accept": "*/*"}
INVITE_IDS = (f"inv-doors-{n}" for n in count())


def both_doors(request_event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The direct door's answer, then the resolver's, to the same request."""
    route = respond.direct_route(request_event)
    assert route is not None, "a link's request is answered directly"
    respond.begin(request_event)
    direct = respond.answer_directly(*route)
    return direct, respond.resolver().resolve(request_event, LambdaContext("respond"))


def forged(token: str) -> str:
    """``token`` with another signature (same length, URL-safe)."""
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


def query_event(method: str, path: str, raw_query: str, **headers: str) -> dict[str, Any]:
    """A request whose query string is ``raw_query`` as sent (API Gateway joins a repeated name with commas)."""
    request_event = http_event(method, path, headers=headers)
    parameters: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters.setdefault(name, []).append(value)
    request_event["rawQueryString"] = raw_query
    request_event["queryStringParameters"] = {name: ",".join(values) for name, values in parameters.items()} or None
    return request_event


def requests(live: IssuedInvite, expired: IssuedInvite, scanned: IssuedInvite) -> list[dict[str, Any]]:
    """Representative requests whose answers do not depend on which of two identical requests came first."""
    link, comment = f"/r/{live.token}", f"/r/{live.token}/comment"
    bad_link = f"/r/{forged(live.token)}"
    return [
        # a person's tap, the score picker, the page's confirmation and comment, in two languages
        http_event("GET", link, {"score": "9"}, headers=BROWSER),
        http_event("GET", link, {"score": "9"}, headers={**BROWSER, "accept-language": "fr-FR,fr;q=0.9"}),
        http_event("GET", link, headers=BROWSER),
        http_event("POST", link, body="score=9", headers={**PAGE_SCRIPT, **FORM}),
        http_event("POST", comment, body=urlencode({"comment": "Fast", "score": "9"}), headers={**BROWSER, **FORM}),
        http_event("POST", comment, body=urlencode({"comment": " ", "score": "9"}), headers={**BROWSER, **FORM}),
        # link checkers and mail scanners
        http_event("HEAD", link, headers=SCANNER),
        http_event("GET", f"/r/{scanned.token}", {"score": "0"}, headers=SCANNER),
        http_event("GET", f"/r/{scanned.token}/p", headers=SCANNER),
        # bad tokens: forged, not a token, expired
        http_event("GET", bad_link, {"score": "9"}, headers=BROWSER),
        http_event("HEAD", bad_link),
        http_event("POST", bad_link, body="score=9", headers=FORM),
        http_event("POST", f"{bad_link}/comment", body="comment=x", headers=FORM),
        http_event("GET", f"{bad_link}/p"),
        http_event("GET", "/r/not-a-token", {"score": "5"}),
        http_event("GET", f"/r/{expired.token}", {"score": "5"}, headers=BROWSER),
        http_event("HEAD", f"/r/{expired.token}"),
        # bad scores
        http_event("GET", link, {"score": "11"}, headers=BROWSER),
        http_event("GET", link, {"score": "ten"}, headers=BROWSER),
        http_event("GET", link, {"score": ""}, headers=BROWSER),
        query_event("GET", link, "score=3&score=4", **BROWSER),
        http_event("POST", link, body="score=-1", headers=FORM),
        http_event("POST", link, body="", headers=FORM),
        # bad bodies: another media type, too large, not base64, not UTF-8, unknown or repeated fields
        http_event("POST", link, body="score=9", headers={"content-type": "application/json"}),
        http_event("POST", comment, body="comment=x", headers={"content-type": "multipart/form-data; boundary=x"}),
        http_event("POST", link, body="score=9&pad=" + "x" * 70_000, headers=FORM),
        http_event("POST", comment, body="comment=" + "x" * 40_000, headers=FORM),
        {**http_event("POST", link, body="not base64!", headers=FORM), "isBase64Encoded": True},
        http_event("POST", link, body=b"score=\xff", headers=FORM),
        http_event("POST", link, body="score=9&score=8", headers=FORM),
        http_event("POST", comment, body="comment=x&name=y", headers=FORM),
        http_event("POST", comment, body="", headers=FORM),
        http_event("POST", comment, body=urlencode({"comment": "x" * 2001}), headers=FORM),
        # a method the link's path does not take: the 405 page with its Allow header
        http_event("PUT", link),
        http_event("OPTIONS", link),
        http_event("GET", comment),
        http_event("DELETE", comment),
        http_event("HEAD", f"/r/{live.token}/p"),
        http_event("POST", f"/r/{live.token}/p"),
    ]


@pytest.fixture
def invites(platform: LocalStack) -> tuple[IssuedInvite, IssuedInvite, IssuedInvite]:
    """A live invite, an expired one and one whose links a scanner fetches."""
    return (
        issue_invite(platform, "inv-live"),
        issue_invite(platform, "inv-expired", lifetime_seconds=-60),
        issue_invite(platform, "inv-scanned"),
    )


def test_a_links_requests_get_the_resolvers_exact_answer(invites: tuple[IssuedInvite, ...]) -> None:
    statuses = set()
    for request_event in requests(*invites):
        # When the same request goes through the direct door and through the Powertools resolver
        direct, resolved = both_doors(request_event)
        # Then both answers are the same, byte for byte (status, headers incl. CSP, body)
        assert direct == resolved, (request_event["requestContext"]["http"]["method"], request_event["rawPath"])
        statuses.add(direct["statusCode"])
    # (and the requests reach every kind of answer the routes give)
    assert statuses >= {200, 400, 403, 405, 410, 413, 415}


def test_the_comment_limit_is_the_same_429_page_through_both_doors(platform: LocalStack) -> None:
    # Given an answer that took every comment it may
    invite = issue_invite(platform, "inv-full")
    invite.tap(7)
    for n in range(MAX_COMMENTS_PER_RESPONSE):
        assert invite.comment(f"comment {n}")["statusCode"] == 200
    # When one more comes, through either door, Then both refuse it with the same page
    direct, resolved = both_doors(http_event("POST", f"/r/{invite.token}/comment", body="comment=more", headers=FORM))
    assert direct["statusCode"] == 429
    assert direct == resolved


def test_an_unexpected_failure_is_the_same_500_page_through_both_doors(
    invites: tuple[IssuedInvite, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(respond.service(), "open_link", broken)
    direct, resolved = both_doors(http_event("GET", f"/r/{invites[0].token}", {"score": "9"}, headers=BROWSER))
    assert direct["statusCode"] == 500
    assert "secret detail" not in direct["body"]
    assert direct == resolved


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/r/a%20b", 403),
        ("HEAD", "/r/a%2Fb", 403),
        ("GET", "/r/tok/", 404),
        ("GET", "/r/", 404),
        ("POST", "/r/tok/comment/more", 404),
        ("GET", "/", 404),
        ("GET", "/u/tok", 404),
        ("PATCH", "/r/a%20b/p", 405),
    ],
)
def test_other_requests_go_to_the_resolver(platform: LocalStack, method: str, path: str, status: int) -> None:
    # Given a request of no link's path, or spelled another way
    request_event = http_event(method, path, headers=BROWSER)
    # Then the direct door leaves it to the resolver, which answers it as before
    assert respond.direct_route(request_event) is None
    answer = respond.lambda_handler(request_event, LambdaContext("respond"))
    assert answer["statusCode"] == status
    assert answer["headers"]["Content-Type"].startswith("text/html")
    assert answer["headers"]["Cache-Control"] == "no-store"


def test_a_request_through_another_stage_goes_to_the_resolver(platform: LocalStack) -> None:
    # The resolver routes the path without the stage's prefix; the direct door leaves such requests to it.
    invite = issue_invite(platform, "inv-staged")
    request_event = http_event("GET", f"/live/r/{invite.token}", {"score": "8"}, headers=BROWSER)
    request_event["requestContext"]["stage"] = "live"
    assert respond.direct_route(request_event) is None
    assert respond.lambda_handler(request_event, LambdaContext("respond"))["statusCode"] == 200


TOKENS = st.sampled_from(["live", "forged", "expired", "junk"])
SUFFIXES = st.sampled_from(["", "/comment", "/p"])
METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS"])
CONTENT_TYPES = st.sampled_from(
    [None, "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "text/plain"]
)
FIELD_NAMES = st.sampled_from(["score", "comment", "driver", "csat", "ces", "other"])
FIELD_VALUES = st.one_of(st.sampled_from(["0", "9", "10", "11", "", " ", "-1", "x"]), st.text(max_size=12))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    token=TOKENS,
    suffix=SUFFIXES,
    method=METHODS,
    query=st.lists(st.tuples(st.sampled_from(["score", "s"]), FIELD_VALUES), max_size=2),
    fields=st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=3),
    content_type=CONTENT_TYPES,
    language=st.sampled_from([None, "de", "fr-FR,fr;q=0.9", "xx"]),
)
def test_any_request_to_a_links_path_gets_the_same_bytes_through_both_doors(
    platform: LocalStack,
    token: str,
    suffix: str,
    method: str,
    query: list[tuple[str, str]],
    fields: list[tuple[str, str]],
    content_type: str | None,
    language: str | None,
) -> None:
    # Given a fresh invite (so no earlier example's comments or answers count) and a request to its links
    invite = issue_invite(platform, next(INVITE_IDS), lifetime_seconds=-60 if token == "expired" else 3600)
    chosen = {"live": invite.token, "expired": invite.token, "forged": forged(invite.token), "junk": "x.y.z"}[token]
    headers = {
        **({"content-type": content_type} if content_type else {}),
        **({"accept-language": language} if language else {}),
    }
    request_event = query_event(method, f"/r/{chosen}{suffix}", urlencode(query), **headers)
    request_event["body"] = "&".join(f"{quote(name)}={quote(value)}" for name, value in fields) or None
    # When it goes through both doors, Then both answer the same bytes
    direct, resolved = both_doors(request_event)
    assert direct == resolved
    assert direct["statusCode"] < 500
