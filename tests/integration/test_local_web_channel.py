"""``make serve`` and the web prompt: /w/v1 reaches the web function over real HTTP, and the seeded survey
allows the local server's own origins (the demo host page and the widget run on them)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from local import server as local_server
from local.environment import LocalStack
from nps.channels.site_tokens import mint
from tests.permissions.session import load_template_now


@pytest.fixture
def served(platform: LocalStack) -> Iterator[local_server.LocalServer]:
    load_template_now()  # before any request thread records a call
    server = local_server.start_on(platform, port=0, invites=2)
    yield server
    server.stop()


def post(url: str, body: dict[str, Any], origin: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - the local server's own http URL
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Origin": origin},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_the_seeded_survey_shows_the_prompt_on_both_local_origins(served: local_server.LocalServer) -> None:
    port = served.httpd.server_address[1]
    survey_id = local_server.LOCAL_SURVEY["survey_id"]
    url = f"{served.base_url}/w/v1/surveys/{survey_id}/eligibility"
    for index, origin in enumerate((f"http://127.0.0.1:{port}", f"http://localhost:{port}")):
        token = mint(served.stack.site_secret(survey_id), survey_id, f"visitor-{index}", int(time.time()) + 600)
        status, headers, body = post(url, {"contact_token": token, "url": f"{origin}/_local/app"}, origin)
        assert status == 200
        assert body["show"] is True
        assert headers["Access-Control-Allow-Origin"] == origin
    status, headers, body = post(url, {"contact_token": "x", "url": None}, "http://evil.example")
    assert (status, body["error"]["code"]) == (403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in headers


def test_a_request_read_after_the_server_began_to_stop_runs_no_function(
    platform: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    from urllib.parse import urlsplit

    from functions.respond import handler as respond

    load_template_now()
    server = local_server.start_on(platform, port=0, invites=1)
    tap = urlsplit(server.invites[0].score_url(server.base_url, 9))
    host, port = server.httpd.server_address[:2]
    calls: list[tuple[Any, ...]] = []
    answer = respond.lambda_handler

    def counted(*args: Any) -> Any:
        calls.append(args)
        return answer(*args)

    # Given a connection the server accepted before it was stopped, whose request is not sent yet
    with socket.create_connection((str(host), int(port)), timeout=10) as connection:
        time.sleep(0.2)  # the server's thread for this connection is waiting for the request line
        monkeypatch.setattr(respond, "lambda_handler", counted)
        server.stop(drain_seconds=1)
        # When the request arrives after the stop
        connection.sendall(f"GET {tap.path}?{tap.query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        reply = connection.makefile("rb").read().decode("latin-1")
    # Then it is refused and no function ran against a platform its owner may have torn down
    assert reply.startswith("HTTP/1.0 503"), reply[:200]
    assert calls == []
