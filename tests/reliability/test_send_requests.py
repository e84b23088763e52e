"""How many requests one send makes against a slow or faulty SES/SNS endpoint.

A real HTTP server on 127.0.0.1 stands in for SES or SNS (``AWS_ENDPOINT_URL_SES`` / ``_SNS``; everything
else stays on moto) and counts the requests it receives. It either never answers (slow: the client's read
timeout ends the call) or reads the request and closes the connection (faulty). Either way the request
went out and the message may have been sent, so the client must not send it again, and the invite is
marked ``unknown``. Idempotent reads against the same faulty endpoint are still retried.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from local import demo_sending as ds
from local.environment import LocalStack
from nps.kernel import aws

pytestmark = pytest.mark.reliability

CSV_HEADER = "contact_id,email,phone,time_zone,locale,plan,region\n"
#: The send clients' read timeout in these tests (seconds), so a slow endpoint costs little test time.
TEST_READ_TIMEOUT = 0.5
#: What the endpoint answers to reads it serves well (only the sends are slow or dropped).
OPTED_OUT_CHECK = (
    b'<CheckIfPhoneNumberIsOptedOutResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    b"<CheckIfPhoneNumberIsOptedOutResult><isOptedOut>false</isOptedOut></CheckIfPhoneNumberIsOptedOutResult>"
    b"<ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></CheckIfPhoneNumberIsOptedOutResponse>"
)


@dataclass
class FakeEndpoint:
    """Counts the AWS requests it receives (by ``Action``), then stalls or drops the connection, except
    for the actions in ``answers``, which it answers at once."""

    mode: str  # "slow" or "drop"
    answers: dict[str, bytes] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def handle(self, connection: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        action = next((p.split(b"=", 1)[1].decode() for p in body.split(b"&") if p.startswith(b"Action=")), "?")
        self.requests[action] += 1
        self.times.append(time.monotonic())
        if action in self.answers:
            body = self.answers[action]
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        elif self.mode == "slow":
            self.release.wait(60)  # never answers while the test runs
        connection.close()


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[tuple[FakeEndpoint, str]]:
    fake = FakeEndpoint(mode=request.param)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            fake.handle(self.request)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    with ds.handlers(clock):
        yield clock


def point_at(monkeypatch: pytest.MonkeyPatch, service: str, url: str) -> None:
    """Send ``service``'s calls to ``url`` (the others stay on moto)."""
    monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", url)
    monkeypatch.setattr(aws, "SEND_READ_TIMEOUT", TEST_READ_TIMEOUT, raising=False)
    aws.reset_clients()


@pytest.mark.parametrize("endpoint", ["slow", "drop"], indirect=True)
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_one_invite_makes_one_send_request_against_a_slow_or_faulty_endpoint(
    platform: LocalStack,
    clock: ds.Clock,
    monkeypatch: pytest.MonkeyPatch,
    endpoint: tuple[FakeEndpoint, str],
    channel: str,
) -> None:
    fake, url = endpoint
    fake.answers["CheckIfPhoneNumberIsOptedOut"] = OPTED_OUT_CHECK
    # Given a wave to one contact, and SES (or SNS) behind an endpoint that never answers a send
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    row = "c1,,+14155550101,UTC,en,pro,emea\n" if channel == "sms" else "c1,ana@example.com,,UTC,en,pro,emea\n"
    ds.import_csv(platform, CSV_HEADER + row)
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    point_at(monkeypatch, "ses" if channel == "email" else "sns", url)
    # When the send queue is delivered, every message twice (as SQS may)
    started = time.monotonic()
    run = ds.drain_send_queue(platform, clock, duplicate=True)
    elapsed = time.monotonic() - started
    # Then the endpoint received exactly one send request (no SDK retry, no SQS retry)
    action = "SendRawEmail" if channel == "email" else "Publish"
    assert fake.requests[action] == 1, f"{fake.requests} in {elapsed:.1f} s"
    # And the invite's fate is unknown: marked so, not retried
    assert run.failures == 0
    (item,) = ds.invite_items(platform)
    assert item["status"]["S"] == "unknown"


@pytest.mark.parametrize("endpoint", ["drop"], indirect=True)
def test_idempotent_reads_against_a_faulty_endpoint_are_still_retried(
    platform: LocalStack, monkeypatch: pytest.MonkeyPatch, endpoint: tuple[FakeEndpoint, str]
) -> None:
    fake, url = endpoint
    # Given SNS behind an endpoint that drops every connection
    point_at(monkeypatch, "sns", url)
    # When the SMS opt-out check (a read) is made
    from nps.sending.adapters.channels import SendError, SnsTexter

    with pytest.raises(SendError):
        SnsTexter().opted_out("+14155550101")
    # Then the SDK tried it more than once
    assert fake.requests["CheckIfPhoneNumberIsOptedOut"] > 1
