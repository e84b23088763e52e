"""Faults around an invite's send: a claim is never left behind, and nothing is sent twice.

The deliver function claims an invite (``queued`` → ``sending``) right before the SES/SNS call. A fault
before that call leaves the invite unclaimed, so SQS retries it and, past the attempt limit, the DLQ holds
it with the reason. A fault in the call whose outcome cannot be known (the request went out, no answer
came back) marks the invite ``unknown``: counted, listed by the CLI, never sent again. A claim left behind
by a crash is found by the sweep. Faults are injected where they happen (the botocore call, the renderer).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.client
import jinja2
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from functions.deliver import handler as deliver
from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext, sqs_record
from nps.cli.main import main as cli
from nps.kernel import aws

pytestmark = pytest.mark.reliability

CSV_HEADER = "contact_id,email,phone,time_zone,locale,plan,region\n"
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    """The sending functions on a simulated clock, at midday UTC (outside every contact's quiet hours)."""
    clock = ds.Clock(NOON)
    with ds.handlers(clock):
        yield clock


def start_wave(stack: LocalStack, clock: ds.Clock, *, sms: bool = False, reminder_days: int | None = None) -> str:
    """A survey, one contact (email, or SMS only) and its wave planned; the contact's address."""
    ds.create_survey(stack, {**ds.DEMO_SURVEY, "reminder_days": reminder_days})
    row = "c1,,+14155550101,UTC,en,pro,emea\n" if sms else "c1,ana@example.com,,UTC,en,pro,emea\n"
    ds.import_csv(stack, CSV_HEADER + row)
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    return "+14155550101" if sms else "ana@example.com"


def sent_to() -> Counter[str]:
    """Every email and SMS that left, by recipient."""
    return Counter([e.to for e in ds.captured_emails()] + [s.to for s in ds.captured_sms()])


def the_invite(stack: LocalStack) -> dict[str, Any]:
    (item,) = ds.invite_items(stack)
    return item


def dead_letters(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.sending is not None
    from tests.support.reliability import drain

    return drain(stack.sending.dead_letter_queue_url)


class CallFault:
    """Fail chosen AWS calls of every boto3 client in the process (also those Powertools creates).

    ``matches(operation, params)`` picks the calls; call ``n`` (from 1) of them fails when ``fails(n)``.
    """

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        matches: Callable[[str, dict[str, Any]], bool],
        fails: Callable[[int], bool],
        error: Callable[[str], Exception],
    ) -> None:
        self.calls = 0
        real = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

        def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if matches(operation, params):
                self.calls += 1
                if fails(self.calls):
                    raise error(operation)
            return real(client, operation, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)


def throttled(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


def keyring_reads(stack: LocalStack) -> Callable[[str, dict[str, Any]], bool]:
    return lambda operation, params: operation == "GetSecretValue"


def contact_reads(stack: LocalStack) -> Callable[[str, dict[str, Any]], bool]:
    table = stack.tables["contacts"]
    return lambda operation, params: operation == "GetItem" and params.get("TableName") == table


def failing_render(monkeypatch: pytest.MonkeyPatch, fails: Callable[[int], bool]) -> None:
    """The email renderer raises a template error on the calls ``fails`` picks."""
    from nps.sending.messages import render_email as real

    calls: list[int] = []

    def render_email(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if fails(len(calls)):
            raise jinja2.TemplateError("unexpected end of template")
        return real(*args, **kwargs)

    monkeypatch.setattr("nps.sending.delivery.render_email", render_email)


FaultBeforeSend = Callable[[LocalStack, pytest.MonkeyPatch, Callable[[int], bool]], object]
FAULTS_BEFORE_SEND: dict[str, FaultBeforeSend] = {
    "keyring read throttled": lambda s, m, f: CallFault(m, keyring_reads(s), f, throttled),
    "contact read throttled": lambda s, m, f: CallFault(m, contact_reads(s), f, throttled),
    "template render error": lambda s, m, f: failing_render(m, f),
}


def timing_out(operation: str) -> Exception:
    return ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com/")


def connection_dropped(operation: str) -> Exception:
    return ConnectionClosedError(endpoint_url="https://email.us-east-1.amazonaws.com/")


SEND_OPERATIONS = {"SendRawEmail", "Publish"}


def sends(operation: str, params: dict[str, Any]) -> bool:
    return operation in SEND_OPERATIONS


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """``nps --local --prefix test ARGS`` in this process; its exit status and stdout lines."""
    capsys.readouterr()
    status = cli(["--local", "--prefix", "test", *args], in_process=True)
    return status, capsys.readouterr().out.splitlines()


def emitted_metrics(output: str) -> Counter[str]:
    """Metric values printed (CloudWatch EMF) by the functions, summed by name."""
    totals: Counter[str] = Counter()
    for line in output.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] += int(sum(value) if isinstance(value, list) else value)
    return totals


# --------------------------------------------------------------------------------------------------
# A fault before the send call: the claim is never taken (or released), so SQS retries
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", sorted(FAULTS_BEFORE_SEND))
def test_a_transient_fault_before_the_send_leaves_the_invite_unclaimed_and_the_retry_sends_it_once(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    # Given a wave to one contact, and a fault on the first attempt to deliver it
    address = start_wave(platform, clock)
    FAULTS_BEFORE_SEND[fault](platform, monkeypatch, lambda n: n == 1)
    # When the send queue is delivered (a failed message comes back after its visibility timeout)
    run = ds.drain_send_queue(platform, clock)
    # Then the first attempt failed without claiming the invite, and the retry sent exactly one email
    assert run.failures == 1
    assert sent_to() == Counter({address: 1})
    assert the_invite(platform)["status"]["S"] == "sent"
    assert dead_letters(platform) == []


def test_a_fault_before_the_send_that_outlasts_the_retries_parks_the_message_with_its_reason(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wave to one contact, and Secrets Manager throttling every keyring read
    start_wave(platform, clock)
    CallFault(monkeypatch, keyring_reads(platform), lambda n: True, throttled)
    # When the send queue is delivered
    ds.drain_send_queue(platform, clock)
    # Then after the attempt limit the message is in the DLQ with the reason (ids only), the invite is
    # failed with it, and nothing was sent
    (parked,) = dead_letters(platform)
    invite = the_invite(platform)
    assert parked["invite_id"] == invite["invite_id"]["S"]
    assert parked["reason"] == "prepare: ThrottlingException"
    assert "@" not in json.dumps(parked)
    assert invite["status"]["S"] == "failed"
    assert invite["failure_reason"]["S"] == "prepare: ThrottlingException"
    assert sent_to() == Counter()


def test_a_fault_before_a_reminder_leaves_it_unclaimed_and_the_retry_sends_it_once(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a sent invite whose reminder is due, and Secrets Manager throttling the first keyring read
    # of the reminder run
    address = start_wave(platform, clock, reminder_days=3)
    ds.drain_send_queue(platform, clock)
    clock.advance(timedelta(days=3, hours=1))
    assert ds.fire_reminders()["reminders"] == {ds.SURVEY_ID: 1}
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    CallFault(monkeypatch, keyring_reads(platform), lambda n: n == 1, throttled)
    # When the reminder is delivered
    run = ds.drain_send_queue(platform, clock)
    # Then the retry sent it: one invite and one reminder in all
    assert run.failures == 1
    assert sent_to() == Counter({address: 2})
    assert the_invite(platform)["reminder_status"]["S"] == "sent"


def test_a_send_is_not_started_without_the_time_left_to_finish_it(platform: LocalStack, clock: ds.Clock) -> None:
    # Given a wave to one contact, and an invocation with three seconds left before its timeout
    start_wave(platform, clock)

    class AlmostOutOfTime(LambdaContext):
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 3_000

    messages = ds._receive(platform.sending.send_queue_url if platform.sending else "")
    arn = "arn:aws:sqs:us-east-1:123456789012:test-send"
    event = {"Records": [sqs_record(m, arn) for m in messages]}
    # When the deliver function gets the message
    result = deliver.lambda_handler(event, AlmostOutOfTime("deliver"))
    # Then it hands the message back to SQS untouched: nothing sent, the invite still queued
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [messages[0]["MessageId"]]
    assert sent_to() == Counter()
    assert the_invite(platform)["status"]["S"] == "queued"


# --------------------------------------------------------------------------------------------------
# The send call's outcome unknown: marked, counted, listed, never sent again
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["email", "sms"])
@pytest.mark.parametrize("fault", [timing_out, connection_dropped], ids=["read timeout", "connection dropped"])
def test_a_send_whose_outcome_is_unknown_is_marked_so_counted_listed_and_never_sent_again(
    platform: LocalStack,
    clock: ds.Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    channel: str,
    fault: Callable[[str], Exception],
) -> None:
    # Given a wave to one contact, and the first SES/SNS send call ending without an answer
    start_wave(platform, clock, sms=channel == "sms")
    calls = CallFault(monkeypatch, sends, lambda n: n == 1, fault)
    # When the send queue is delivered, every message twice (as SQS may)
    run = ds.drain_send_queue(platform, clock, duplicate=True)
    # Then the send was tried once and never again: the message is done, not retried, not parked
    assert calls.calls == 1
    assert run.failures == 0
    assert dead_letters(platform) == []
    # And the invite is marked unknown with the reason, and counted
    invite = the_invite(platform)
    service = "ses" if channel == "email" else "sns"
    assert invite["status"]["S"] == "unknown"
    assert invite["unknown_reason"]["S"] == f"{service}: {fault('x').__class__.__name__}"
    assert emitted_metrics(capsys.readouterr().out)["MessagesUnknown"] == 1
    # And the CLI lists it, one line, ids only
    status, lines = run_cli(capsys, "invites", "unknown", ds.SURVEY_ID)
    assert status == 0
    (line,) = lines
    assert line.split()[0] == invite["invite_id"]["S"]
    assert "@" not in line
    assert "+1415555" not in line


def test_a_send_that_left_but_could_not_be_recorded_is_marked_unknown_and_not_sent_again(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wave to one contact, and DynamoDB refusing the transaction that records the send
    address = start_wave(platform, clock)
    # (the claim's transaction, with its contact check, goes through: only the recording one fails)
    CallFault(
        monkeypatch,
        lambda op, params: (
            op == "TransactWriteItems" and not any("ConditionCheck" in item for item in params["TransactItems"])
        ),
        lambda n: True,
        throttled,
    )
    # When the send queue is delivered, every message twice
    ds.drain_send_queue(platform, clock, duplicate=True)
    # Then one email left, and the invite is unknown (sent, not counted): the operator decides
    assert sent_to() == Counter({address: 1})
    invite = the_invite(platform)
    assert invite["status"]["S"] == "unknown"
    assert invite["unknown_reason"]["S"] == "not recorded: ThrottlingException"
    assert invite["message_id"]["S"]


def test_a_reminder_whose_outcome_is_unknown_is_marked_so_and_never_sent_again(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a sent invite whose reminder is due, and the reminder's send call timing out
    address = start_wave(platform, clock, reminder_days=3)
    ds.drain_send_queue(platform, clock)
    clock.advance(timedelta(days=3, hours=1))
    ds.fire_reminders()
    calls = CallFault(monkeypatch, sends, lambda n: n == 1, timing_out)
    # When the reminder is delivered twice, and the reminder run happens again
    ds.drain_send_queue(platform, clock, duplicate=True)
    assert ds.fire_reminders()["reminders"] == {}
    # Then it was tried once; the invite is still sent, its reminder unknown, and the CLI lists it
    assert calls.calls == 1
    assert sent_to() == Counter({address: 1})
    invite = the_invite(platform)
    assert (invite["status"]["S"], invite["reminder_status"]["S"]) == ("sent", "unknown")
    status, lines = run_cli(capsys, "invites", "unknown", ds.SURVEY_ID)
    assert status == 0
    (line,) = lines
    assert line.split()[:1] == [invite["invite_id"]["S"]]
    assert "reminder" in line


# --------------------------------------------------------------------------------------------------
# A claim left behind by a crash: the sweep finds it
# --------------------------------------------------------------------------------------------------


class FunctionTimedOut(BaseException):
    """Lambda ending the invocation mid-call: no handler code runs after it."""


def crash_mid_send(platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(operation: str) -> BaseException:
        return FunctionTimedOut(operation)

    CallFault(monkeypatch, sends, lambda n: True, killed)  # type: ignore[arg-type]
    with pytest.raises(FunctionTimedOut):
        ds.drain_send_queue(platform, clock)
    monkeypatch.undo()


def sweep(clock: ds.Clock) -> dict[str, Any]:
    from functions.sweep_invites import handler as sweeper

    sweeper.sweeper().clock = clock
    result: dict[str, Any] = sweeper.lambda_handler({"action": "sweep"}, LambdaContext("sweep_invites"))
    return result


def test_a_claim_left_behind_by_a_crash_is_marked_unknown_by_the_sweep_and_stays_alarmed_until_resolved(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a wave to one contact, and the deliver function killed during the send call
    start_wave(platform, clock)
    crash_mid_send(platform, clock, monkeypatch)
    assert the_invite(platform)["status"]["S"] == "sending"
    # When the sweep runs five minutes later: the claim may still be in flight, so it is left alone
    clock.advance(timedelta(minutes=5))
    assert sweep(clock) == {"stuck": 0, "marked_unknown": 0, "outstanding_unknown": 0}
    # When it runs after the threshold
    clock.advance(timedelta(minutes=20))
    capsys.readouterr()
    assert sweep(clock) == {"stuck": 1, "marked_unknown": 1, "outstanding_unknown": 1}
    # Then the invite is unknown, the sweep's metrics say so, and it is listed
    invite = the_invite(platform)
    assert invite["status"]["S"] == "unknown"
    assert invite["unknown_reason"]["S"] == "claim expired"
    metrics = emitted_metrics(capsys.readouterr().out)
    assert (metrics["StuckInvitesFound"], metrics["InvitesUnknownOutstanding"]) == (1, 1)
    assert len(run_cli(capsys, "invites", "unknown", ds.SURVEY_ID)[1]) == 1
    # And later sweeps keep counting it (the alarm stays on) without marking it again
    clock.advance(timedelta(minutes=10))
    assert sweep(clock) == {"stuck": 0, "marked_unknown": 0, "outstanding_unknown": 1}


def test_a_reminder_claim_left_behind_is_marked_unknown_by_the_sweep(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a sent invite whose reminder's delivery was killed during the send call
    start_wave(platform, clock, reminder_days=3)
    ds.drain_send_queue(platform, clock)
    clock.advance(timedelta(days=3, hours=1))
    ds.fire_reminders()
    crash_mid_send(platform, clock, monkeypatch)
    # When the sweep runs after the threshold
    clock.advance(timedelta(minutes=30))
    assert sweep(clock) == {"stuck": 1, "marked_unknown": 1, "outstanding_unknown": 1}
    # Then the reminder is unknown and the invite still sent
    invite = the_invite(platform)
    assert (invite["status"]["S"], invite["reminder_status"]["S"]) == ("sent", "unknown")


# --------------------------------------------------------------------------------------------------
# The operator resolves an unknown invite
# --------------------------------------------------------------------------------------------------


def unknown_invite(platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch) -> str:
    """A wave to one contact whose send timed out; the invite's id."""
    start_wave(platform, clock, reminder_days=3)
    CallFault(monkeypatch, sends, lambda n: n == 1, timing_out)
    ds.drain_send_queue(platform, clock)
    monkeypatch.undo()
    invite = the_invite(platform)
    assert invite["status"]["S"] == "unknown"
    return str(invite["invite_id"]["S"])


def test_an_unknown_invite_resolved_as_not_sent_is_sent_once_and_leaves_the_list(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    invite_id = unknown_invite(platform, clock, monkeypatch)
    # When the operator says it did not leave (e.g. SES shows no such message) and asks to send it
    assert run_cli(capsys, "invites", "resolve", invite_id, "--as", "resend")[0] == 0
    ds.drain_send_queue(platform, clock, duplicate=True)
    # Then it is sent once, and no longer listed or counted as unknown
    assert sent_to() == Counter({"ana@example.com": 1})
    assert the_invite(platform)["status"]["S"] == "sent"
    assert run_cli(capsys, "invites", "unknown", ds.SURVEY_ID) == (0, [])
    assert sweep(clock)["outstanding_unknown"] == 0
    # And resolving it again is refused (it is not unknown any more)
    assert run_cli(capsys, "invites", "resolve", invite_id, "--as", "resend")[0] == 1


def test_an_unknown_invite_resolved_as_sent_is_counted_once_and_gets_its_reminder(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    invite_id = unknown_invite(platform, clock, monkeypatch)
    # When the operator says it did leave
    assert run_cli(capsys, "invites", "resolve", invite_id, "--as", "sent")[0] == 0
    # Then the invite is sent, counted in invites_sent, and its reminder is due as for any sent invite
    invite = the_invite(platform)
    assert invite["status"]["S"] == "sent"
    counted = aws.client("dynamodb").get_item(
        TableName=platform.tables["aggregates"],
        Key={"pk": {"S": f"{ds.SURVEY_ID}#day#*#*"}, "period": {"S": "2026-11-24"}},
    )["Item"]
    assert counted["invites_sent"]["N"] == "1"
    clock.advance(timedelta(days=3, hours=1))
    assert ds.fire_reminders()["reminders"] == {ds.SURVEY_ID: 1}
    assert run_cli(capsys, "invites", "unknown", ds.SURVEY_ID) == (0, [])


def test_an_unknown_invite_resolved_as_failed_is_never_sent(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    invite_id = unknown_invite(platform, clock, monkeypatch)
    assert run_cli(capsys, "invites", "resolve", invite_id, "--as", "failed")[0] == 0
    ds.drain_send_queue(platform, clock)
    invite = the_invite(platform)
    assert invite["status"]["S"] == "failed"
    assert sent_to() == Counter()
    assert run_cli(capsys, "invites", "unknown", ds.SURVEY_ID) == (0, [])


# --------------------------------------------------------------------------------------------------
# The same rule for a follow-up's email: nothing that can fail between its claim and its send
# --------------------------------------------------------------------------------------------------


def test_a_fault_before_a_follow_up_email_leaves_it_unclaimed_and_the_retry_sends_it_once(
    platform: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local.workflows import receive_all
    from nps.follow_ups.wiring import follow_up_service
    from tests.integration.test_follow_ups import SURVEY, Loop, _step, contact, emails_to

    # Given a passive's follow-up opened, and Secrets Manager throttling the first keyring read of its email
    state = Loop(platform, SURVEY)
    with ds.handlers(state.clock):
        follow_up_service().clock = state.clock
        state.send_wave([contact("c-pas")])
        state.tap(state.link("c-pas"), 7)
        state.score()
        (message,) = receive_all(platform.workflow_queue_urls["passive"])
        opened = _step({"action": "open", "event": json.loads(message["Body"]), "execution": "exec-1"})
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        CallFault(monkeypatch, keyring_reads(platform), lambda n: n == 1, throttled)
        # When the email step fails and Step Functions retries it
        with pytest.raises(Exception, match="ThrottlingException"):
            _step({"action": "email", "follow_up_id": opened["follow_up_id"]})
        retried = _step({"action": "email", "follow_up_id": opened["follow_up_id"]})
    # Then the retry sent the email, once
    assert (retried["email_sent"], retried["reason"]) == (True, None)
    assert len([e for e in emails_to("c-pas@example.com") if not e.score_links]) == 1
