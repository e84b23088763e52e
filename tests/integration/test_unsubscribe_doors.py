"""The unsubscribe link's two doors: a link's GET or POST is answered directly, without the Powertools
resolver; both doors answer the same bytes (status, headers, page) for the same request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions.unsubscribe import handler as unsubscribe
from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from tests.integration.test_sending import CSV_HEADER, START, survey

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def links(platform: LocalStack) -> Iterator[dict[str, str]]:
    """The unsubscribe link paths of two sent invites, by contact id; ``left`` has unsubscribed already."""
    clock = ds.Clock(START)
    with ds.handlers(clock):
        ds.create_survey(platform, survey(reminder_days=None))
        ds.import_csv(
            platform, CSV_HEADER + "stays,s@example.com,,UTC,de,pro,emea\nleft,l@example.com,,UTC,en,pro,emea\n"
        )
        ds.fire_wave(ds.SURVEY_ID, clock.now)
        ds.drain_send_queue(platform, clock)
        paths = {
            {"s@example.com": "stays", "l@example.com": "left"}[email.to]: urlsplit(email.unsubscribe_link).path
            for email in ds.captured_emails()
        }
        assert unsubscribe.lambda_handler(http_event("POST", paths["left"]), LambdaContext())["statusCode"] == 200
        yield paths


def both_doors(request_event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The direct door's answer, then the resolver's, to the same request."""
    route = unsubscribe.direct_route(request_event)
    assert route is not None, "a link's request is answered directly"
    unsubscribe.begin(request_event)
    direct = unsubscribe.answer_directly(*route)
    return direct, unsubscribe.resolver().resolve(request_event, LambdaContext("unsubscribe"))


def requests(links: dict[str, str]) -> list[dict[str, Any]]:
    """Representative requests whose answers do not depend on which of two identical requests came first."""
    forged = links["stays"][:-4] + ("AAAA" if not links["stays"].endswith("AAAA") else "BBBB")
    return [
        http_event("GET", links["stays"]),
        http_event("GET", links["stays"], headers={"accept-language": "fr-FR,fr;q=0.9"}),
        http_event("GET", links["left"]),
        http_event("POST", links["left"]),
        http_event("POST", links["left"], body="List-Unsubscribe=One-Click", headers={"content-type": FORM}),
        # bad input: the same page and status through both doors
        http_event("GET", forged),
        http_event("POST", forged, body="List-Unsubscribe=One-Click", headers={"content-type": FORM}),
        http_event("GET", "/u/not-a-token"),
        http_event("POST", links["left"], body="%%%", headers={"content-type": "multipart/form-data"}),
        {**http_event("POST", links["left"], body="not base64!"), "isBase64Encoded": True},
        http_event("POST", links["left"], body="x" * 10_000, headers={"content-type": FORM}),
    ]


def test_the_links_requests_get_the_resolvers_exact_answer(links: dict[str, str]) -> None:
    for request_event in requests(links):
        # When the same request goes through the direct door and through the Powertools resolver
        direct, resolved = both_doors(request_event)
        # Then both answers are the same, byte for byte (status, headers incl. CSP, body)
        assert direct == resolved, (request_event["requestContext"]["http"]["method"], request_event["rawPath"])


def test_an_unexpected_failure_is_the_same_500_page_through_both_doors(
    links: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(unsubscribe.service(), "invite_for", broken)
    direct, resolved = both_doors(http_event("GET", links["stays"]))
    assert direct["statusCode"] == 500
    assert "secret detail" not in direct["body"]
    assert direct == resolved


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("HEAD", "/u/abc", 404),
        ("PUT", "/u/abc", 404),
        ("GET", "/u/abc/", 404),
        ("GET", "/u/a%20b", 403),
        ("GET", "/", 404),
    ],
)
def test_other_requests_go_to_the_resolver(links: dict[str, str], method: str, path: str, status: int) -> None:
    # Given a request of no route of the link, or spelled another way
    request_event = http_event(method, path)
    # Then the direct door leaves it to the resolver, which answers it as before
    assert unsubscribe.direct_route(request_event) is None
    answer = unsubscribe.lambda_handler(request_event, LambdaContext("unsubscribe"))
    assert answer["statusCode"] == status
    assert answer["headers"]["Content-Type"].startswith("text/html")
