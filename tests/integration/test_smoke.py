"""``nps smoke`` end to end against the local environment: a moto server, the real respond function behind a
local HTTP server, and the real deliver, score and suppress functions fed by ``local.smoke_env``'s triggers.

What is simulated (everything else is the platform's own code, called as AWS calls it):

* Lambda's event sources (send queue → deliver, responses stream → score) are a polling thread;
* the planner runs inside the CLI's process (the local environment has no functions to invoke);
* SES's mailbox simulator and configuration-set feedback: a message to ``bounce@simulator.amazonses.com``
  is answered with the SNS notification SES would publish, handed to the real suppress function;
* HTTPS: the pages are served over plain HTTP on 127.0.0.1 (the CLI speaks the same requests).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local import smoke_env
from local.smoke_env import SmokeEnvironment
from nps.cli.main import main as cli
from nps.kernel import aws
from nps.smoke.checks import AUDIENCE, BOUNCE_ADDRESS, SUCCESS_ADDRESS, SURVEY_ID

PREFIX = "smoke"
STEPS = ["prepare", "listen", "wave", "deliver", "page", "confirm", "aggregate", "event", "bounce", "cleanup"]


@pytest.fixture
def environment() -> Iterator[SmokeEnvironment]:
    saved = dict(os.environ)
    os.environ |= {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    started = smoke_env.start(PREFIX)
    try:
        yield started
    finally:
        started.stop()
        os.environ.clear()
        os.environ.update(saved)
        smoke_env.reset_function_state()


def run_smoke(
    environment: SmokeEnvironment, capsys: pytest.CaptureFixture[str], timeout: int = 20
) -> tuple[int, list[str], str]:
    argv = ["--local", "--prefix", PREFIX, "smoke", "--api-url", environment.api_url, "--timeout", str(timeout),
            "--poll-interval", "0.1"]  # fmt: skip
    status = cli(argv)
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.startswith(("PASS ", "FAIL "))]
    return status, lines, out + err


def step_lines(lines: list[str]) -> dict[str, str]:
    return {line.split()[1]: line for line in lines}


def leftovers(environment: SmokeEnvironment) -> dict[str, Any]:
    """Every item and resource of the smoke survey still in the local environment."""
    dynamodb, tables = aws.client("dynamodb"), environment.stack.tables

    def scan(table: str) -> list[dict[str, Any]]:
        return list(dynamodb.scan(TableName=tables[table])["Items"])

    return {
        "surveys": [i for i in scan("surveys") if i["survey_id"]["S"] == SURVEY_ID],
        "contacts": [i for i in scan("contacts") if i["audience"]["S"] == AUDIENCE],
        "invites": scan("invites"),
        "responses": scan("responses"),
        "aggregates": [i for i in scan("aggregates") if i["pk"]["S"].startswith(f"{SURVEY_ID}#")],
        "suppressions": scan("suppressions"),
        "rules": [
            r["Name"]
            for r in aws.client("events").list_rules(EventBusName=environment.stack.bus_name)["Rules"]
            if r["Name"].startswith("nps-smoke-")
        ],
        "queues": [u for u in aws.client("sqs").list_queues().get("QueueUrls", []) if "/nps-smoke-" in u],
    }


def nothing_left(environment: SmokeEnvironment) -> None:
    assert {name: items for name, items in leftovers(environment).items() if items} == {}


def sent_to() -> list[str]:
    from moto.ses.models import ses_backends

    # moto lists the To header beside the API's destinations: one address per message either way
    messages = ses_backends[smoke_env.ACCOUNT_ID]["us-east-1"].sent_messages
    return sorted(address for m in messages for address in {str(d) for d in m.destinations})


def test_smoke_passes_every_step_on_a_working_platform_and_leaves_nothing_behind(
    environment: SmokeEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the local platform with every connection working
    started = time.monotonic()
    # When an operator runs the smoke test
    status, lines, output = run_smoke(environment, capsys)
    # Then every step passes, one line each, in order, and the exit status is 0
    assert [line.split()[:2] for line in lines] == [["PASS", step] for step in STEPS], output
    assert status == 0
    by_step = step_lines(lines)
    assert "promoters 0 → 1" in by_step["aggregate"]
    assert "NPS Response Scored" in by_step["event"]
    assert "(promoter, score 10, schema 1.0)" in by_step["event"]
    assert BOUNCE_ADDRESS in by_step["bounce"]
    # And it went through SES to the two simulator addresses only, and the functions never failed
    assert sent_to() == [BOUNCE_ADDRESS, SUCCESS_ADDRESS]
    assert environment.triggers.errors == []
    # And nothing of it is left: survey, contacts, invites, responses, aggregates, suppression, rule, queue
    nothing_left(environment)
    assert "Traceback" not in output
    print("\n".join(lines), f"\n(smoke run took {time.monotonic() - started:.1f} s)")


def test_a_page_that_fails_is_a_fail_line_the_later_steps_do_not_run_and_cleanup_still_happens(
    environment: SmokeEnvironment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from functions.respond import handler as respond

    # Given a respond function whose role may not write the click log (the fault issue 11 found on AWS)
    def denied(*_: Any, **__: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "UpdateItem")

    monkeypatch.setattr(respond.service().invites, "log_click", denied)
    # When the smoke test runs
    status, lines, output = run_smoke(environment, capsys)
    # Then the page step fails with the status, what depends on it is not run, and the exit status is 1
    by_step = step_lines(lines)
    assert by_step["page"] == "FAIL page — GET score link → HTTP 500, expected 200 (the thank-you page)"
    for step in ("confirm", "aggregate", "event"):
        assert by_step[step].startswith(f"FAIL {step} — not run:"), by_step[step]
    assert [line.split()[:2] for line in lines if line.startswith("PASS")] == [
        ["PASS", s] for s in ("prepare", "listen", "wave", "deliver", "bounce", "cleanup")
    ]
    assert status == 1
    nothing_left(environment)
    assert "Traceback" not in output


def test_an_event_that_never_arrives_is_a_fail_line_after_the_timeout(
    environment: SmokeEnvironment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.score import handler as score

    # Given a score function whose events never reach the bus (aggregates still update)
    monkeypatch.setattr(score.service().publisher, "publish", lambda events: 0)
    # When the smoke test runs with a short timeout
    status, lines, output = run_smoke(environment, capsys, timeout=3)
    # Then only the event step fails, saying what it waited for, and the exit status is 1
    by_step = step_lines(lines)
    assert by_step["event"] == "FAIL event — no NPS Response Scored event after 3 s"
    assert [line.split()[1] for line in lines if line.startswith("FAIL")] == ["event"]
    assert status == 1
    nothing_left(environment)
    assert "Traceback" not in output


def test_a_missing_stack_is_one_line_and_exit_status_3(capsys: pytest.CaptureFixture[str]) -> None:
    from moto import mock_aws

    # Given an account without the stack
    with mock_aws():
        aws.reset_clients()
        # When the smoke test names it
        status = cli(["--stack", "Nps-missing", "smoke"])
    aws.reset_clients()
    # Then one line says so, with exit status 3, and no step runs
    out, err = capsys.readouterr()
    assert (status, out) == (3, "")
    assert err.splitlines() == ["nps: stack 'Nps-missing' does not exist in us-east-1: check --stack and --region"]


def test_missing_credentials_are_one_line_and_exit_status_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a shell without any AWS credentials
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a fresh process: no credentials cached by earlier tests
    aws.reset_clients()
    # When the smoke test runs
    status = cli(["--stack", "Nps-prod", "smoke"])
    aws.reset_clients()
    # Then one line says so, with exit status 3 (no traceback)
    out, err = capsys.readouterr()
    assert (status, out) == (3, "")
    assert err.splitlines() == [
        "nps: no AWS credentials were found: run `aws configure` (or `aws sso login`), or set AWS_PROFILE"
    ]
