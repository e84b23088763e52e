"""The team's digest through the digest function on moto: a real wave, taps and comments scored by the
stream, then the hourly run: sent once per recipient and period, suppressed recipients skipped, surveys
without a digest untouched, the local hour and weekday honoured, account health changes published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions.digest import handler as digest
from local import demo
from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext
from nps.kernel import aws
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.suppression import SuppressionReason, address_hash
from nps.sending.surveys import Survey

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
ANSWERED = START + timedelta(hours=2)
#: 09:00 in Berlin (CET, UTC+1) the next day: the daily digest's hour; it covers 2026-11-23.
DUE = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
TEAM = ["team@example.com", "lead@example.com"]
CONTACTS = (
    "contact_id,email,account_id,role,revenue,plan\n"
    "c1,c1@example.com,acme,Decision Maker,120000,pro\n"
    "c2,c2@example.com,acme,user,,pro\n"
    "c3,c3@example.com,beta,user,30000,basic\n"
    "c4,c4@example.com,<b>evil</b>,user,,basic\n"
    "c5,c5@example.com,,,,basic\n"
)
SCORES = {"c1": 2, "c2": 10, "c3": 9, "c5": 8}
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
COMMENTS = {"c1": HOSTILE + " Support never answered.", "c3": "Fast & friendly."}
DIGEST = {"frequency": "daily", "hour": 9, "time_zone": "Europe/Berlin", "recipients": TEAM}


def digest_survey(**changes: Any) -> dict[str, Any]:
    return {**ds.DEMO_SURVEY, "reminder_days": None, "channels": ["email"], "digest": {**DIGEST, **changes}}


def answer_a_wave(platform: LocalStack) -> None:
    """A survey with a daily digest whose wave was answered on 2026-11-23 (one hostile comment); the mails
    of the wave are forgotten, so only digests are captured after it."""
    clock = ds.Clock(START)
    with ds.handlers(clock):
        ds.create_survey(platform, digest_survey())
        ds.import_csv(platform, CONTACTS)
        ds.fire_wave(ds.SURVEY_ID, clock.now)
        ds.drain_send_queue(platform, clock)
        links = {link.invite_id: link for link in ds.sent_links(platform)}
        contact_of = {item["invite_id"]["S"]: item["contact_id"]["S"] for item in ds.invite_items(platform)}
        for invite_id, link in links.items():
            contact = contact_of[invite_id]
            if contact in SCORES:
                demo.at(ANSWERED)
                path = urlsplit(link.score_page).path
                assert demo.Browser("en-US").tap(path, SCORES[contact]) == 200
                if contact in COMMENTS:
                    assert demo.Browser("en-US").comment(path, COMMENTS[contact], SCORES[contact]) == 200
        demo.score_stream(platform)
    from moto.ses.models import ses_backends

    ses_backends[ds.ACCOUNT_ID][aws.client("ses").meta.region_name].sent_messages.clear()
    digest.service.cache_clear()


@pytest.fixture
def answered(platform: LocalStack) -> Iterator[LocalStack]:
    answer_a_wave(platform)
    yield platform
    digest.service.cache_clear()


def run(at: datetime) -> list[dict[str, Any]]:
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": at.isoformat().replace("+00:00", "Z")}
    result: list[dict[str, Any]] = digest.lambda_handler(event, LambdaContext())["digests"]
    return result


def health_queue(platform: LocalStack) -> str:
    """A subscriber's queue for every ``NPS Account Health Changed`` on the bus."""
    url = aws.client("sqs").create_queue(QueueName="digest-health-subscriber")["QueueUrl"]
    arn = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws.client("events")
    pattern = {"source": ["nps"], "detail-type": ["NPS Account Health Changed"]}
    events.put_rule(Name="digest-health", EventBusName=platform.bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="digest-health", EventBusName=platform.bus_name, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def received(url: str) -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_the_digest_reaches_each_recipient_once_with_figures_comments_and_the_report(answered: LocalStack) -> None:
    # When the hourly run fires at 09:00 Berlin time, and again (a retried invocation, a repeated hour)
    first = run(DUE)
    again = run(DUE)
    # Then each recipient got one digest of 2026-11-23, with the report attached
    emails = ds.captured_emails()
    assert sorted(e.to for e in emails) == sorted(TEAM)
    assert first == [
        {
            "survey_id": ds.SURVEY_ID,
            "period": "daily:2026-11-23",
            "sent": 2,
            "already_sent": 0,
            "suppressed": 0,
            "failed": 0,
            "health_events": first[0]["health_events"],
            "attached": True,
            "error": "",
        }
    ]
    assert again[0]["sent"] == 0
    assert again[0]["already_sent"] == 2
    email = emails[0]
    assert email.subject == "Relationship NPS, Q4: NPS digest for 2026-11-23"
    assert "n = 4" in email.text
    assert "Responses: 4" in email.text
    # the hostile comment is escaped in the HTML and kept as text in the plain part
    assert "<script>" not in email.html
    assert "<img" not in email.html
    assert "&lt;script&gt;" in email.html
    assert HOSTILE in email.text
    attachments = list(email.message.iter_attachments())
    assert [part.get_filename() for part in attachments] == ["onboarding-q4-report-2026-11-23.html"]
    assert "<svg" in attachments[0].get_content()


def test_a_suppressed_recipient_is_skipped_and_counted(answered: LocalStack) -> None:
    # Given the lead's address bounced before (the suppress function wrote its keyed hash)
    DynamoSuppressionRepository(answered.tables["suppressions"]).suppress(
        address_hash("email", "Lead@Example.com", answered.id_key), SuppressionReason.BOUNCED, "2026-11-01T00:00:00Z"
    )
    # When the digest is due
    outcome = run(DUE)[0]
    # Then only the team address got it, and the outcome counts the suppressed one
    assert [e.to for e in ds.captured_emails()] == ["team@example.com"]
    assert (outcome["sent"], outcome["suppressed"]) == (1, 1)


def test_nothing_is_sent_outside_the_local_hour_or_for_a_survey_without_a_digest(answered: LocalStack) -> None:
    # Given a second survey without a digest
    plain = {**ds.DEMO_SURVEY, "survey_id": "no-digest", "channels": ["email"]}
    DynamoSurveyRepository(answered.tables["surveys"]).put(Survey.model_validate(plain))
    # When the run fires at 08:00 and 10:00 Berlin time (07:00Z, 09:00Z), and at 09:00 Berlin
    assert run(DUE - timedelta(hours=1)) == []
    assert run(DUE + timedelta(hours=1)) == []
    due = run(DUE)
    # Then only the digest survey's, only at its hour
    assert [o["survey_id"] for o in due] == [ds.SURVEY_ID]
    assert len(ds.captured_emails()) == 2


def test_a_weekly_digest_is_sent_on_its_weekday_only(answered: LocalStack) -> None:
    # Given the digest is weekly on Tuesdays at 09:00 Berlin time
    DynamoSurveyRepository(answered.tables["surveys"]).put(
        Survey.model_validate(digest_survey(frequency="weekly", weekday="tuesday"))
    )
    digest.service.cache_clear()
    # When the run fires at that hour on Wednesday, then on Tuesday
    assert run(DUE + timedelta(days=1)) == []
    outcome = run(DUE)[0]
    # Then Tuesday's digest covers the seven days before
    assert outcome["period"] == "weekly:2026-11-17"
    assert outcome["sent"] == 2


def test_account_health_changes_are_published_once(answered: LocalStack) -> None:
    # Given a subscriber to NPS Account Health Changed
    url = health_queue(answered)
    # When the digest runs twice
    run(DUE)
    run(DUE)
    # Then acme (its decision maker is a detractor) was published at risk, once, with the contract's shape
    events = received(url)
    details = {e["detail"]["account_id"]: e["detail"] for e in events}
    assert list(details) == ["acme"]
    assert len(events) == 1
    acme = details["acme"]
    assert set(acme) == {
        "schema_version", "survey_id", "account_id", "health", "reasons", "nps", "n", "period", "assessed_at",
    }  # fmt: skip
    assert acme["health"] == "at_risk"
    assert "decision_maker_detractor" in acme["reasons"]
    assert (acme["n"], acme["period"], acme["survey_id"]) == (2, "daily:2026-11-23", ds.SURVEY_ID)
    # and the digest lists it as newly at risk
    assert "acme: a decision maker is a detractor" in ds.captured_emails()[0].text


@pytest.mark.parametrize(("code", "retried"), [("MessageRejected", False), ("Throttling", True)])
def test_a_refused_send_leaves_no_marker_so_a_later_run_sends_it(
    answered: LocalStack, monkeypatch: pytest.MonkeyPatch, code: str, retried: bool
) -> None:
    # Given SES refuses every message before accepting it (a rejected message, or throttling)
    from nps.digests.service import DigestRunFailed
    from nps.sending.adapters.channels import SendError, SesMailer

    def refuse(self: SesMailer, **message: Any) -> str:
        raise SendError(f"ses: {code}", retryable=retried)

    with monkeypatch.context() as patched:
        patched.setattr(SesMailer, "send_email", refuse)
        # When the digest is due: a retryable refusal fails the invocation (Lambda retries it)
        if retried:
            with pytest.raises(DigestRunFailed):
                run(DUE)
        else:
            refused = run(DUE)[0]
            assert (refused["sent"], refused["failed"]) == (0, 2)
    # Then nothing was sent, and the claims were released: the run for the same hour sends both, once
    assert ds.captured_emails() == []
    again = run(DUE)[0]
    assert (again["sent"], again["already_sent"]) == (2, 0)
    assert sorted(e.to for e in ds.captured_emails()) == sorted(TEAM)


def test_a_send_of_unknown_outcome_is_never_repeated(answered: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given SES timed out after the request left (the message may have been sent)
    from nps.sending.adapters.channels import SendError, SesMailer

    def lost(self: SesMailer, **message: Any) -> str:
        raise SendError("ses: ReadTimeoutError", retryable=False, maybe_sent=True)

    with monkeypatch.context() as patched:
        patched.setattr(SesMailer, "send_email", lost)
        assert run(DUE)[0]["failed"] == 2
    # When the run is repeated / Then it sends nothing: the markers say "unknown", not "free"
    assert run(DUE)[0]["already_sent"] == 2
    assert ds.captured_emails() == []


def test_nps_digest_preview_renders_without_sending(
    answered: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nps.cli.main import main as cli

    local = ["--local", "--prefix", "test"]
    # When the team previews the digest due by the end of 2026-11-24 (Berlin), as HTML and as text
    out = tmp_path / "digest.html"
    assert (
        cli([*local, "digest", "preview", ds.SURVEY_ID, "--as-of", "2026-11-24", "--out", str(out)], in_process=True)
        == 0
    )
    assert cli([*local, "digest", "preview", ds.SURVEY_ID, "--as-of", "2026-11-24", "--text"], in_process=True) == 0
    printed = capsys.readouterr()
    # Then both show the period's digest; nothing was sent and no marker was written
    assert "NPS digest: Relationship NPS, Q4" in out.read_text(encoding="utf-8")
    assert "2026-11-23, compared with 2026-11-22" in printed.out
    assert "the HTML report would be attached" in printed.err
    assert ds.captured_emails() == []
    assert run(DUE)[0]["sent"] == 2


def test_nps_digest_preview_of_a_survey_without_a_digest_is_one_line_and_exit_1(
    answered: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    from nps.cli.main import main as cli

    plain = {**ds.DEMO_SURVEY, "survey_id": "no-digest", "channels": ["email"]}
    DynamoSurveyRepository(answered.tables["surveys"]).put(Survey.model_validate(plain))
    local = ["--local", "--prefix", "test"]
    assert cli([*local, "digest", "preview", "no-digest"], in_process=True) == 1
    assert cli([*local, "digest", "preview", "missing"], in_process=True) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        "nps: survey 'no-digest' has no digest: add a \"digest\" block with recipients (docs/digest.md)",
        "nps: no survey 'missing'",
    ]


def test_one_surveys_failure_does_not_keep_the_others_digest_from_going_out(
    answered: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a second survey with a digest whose figures cannot be read (a failing read, here)
    from nps.digests.service import DigestRunFailed, DigestService

    other = {**digest_survey(), "survey_id": "broken", "digest": {**DIGEST, "recipients": ["ops@example.com"]}}
    DynamoSurveyRepository(answered.tables["surveys"]).put(Survey.model_validate(other))
    real = DigestService.send

    def send(self: DigestService, survey: Survey, *args: Any) -> Any:
        if survey.survey_id == "broken":
            raise RuntimeError("read failed")
        return real(self, survey, *args)

    monkeypatch.setattr(DigestService, "send", send)
    # When the run is due / Then it fails (so Lambda retries it), after sending the other survey's digest
    with pytest.raises(DigestRunFailed) as failed:
        run(DUE)
    assert [(o.survey_id, o.error) for o in failed.value.outcomes] == [("broken", "RuntimeError"), (ds.SURVEY_ID, "")]
    assert sorted(e.to for e in ds.captured_emails()) == sorted(TEAM)


def test_survey_put_says_when_the_digest_goes_and_to_how_many_never_to_whom(
    platform: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nps.cli.main import main as cli

    path = tmp_path / "survey.json"
    path.write_text(json.dumps(digest_survey(frequency="weekly", weekday="friday")), encoding="utf-8")
    assert cli(["--local", "--prefix", "test", "survey", "put", str(path)], in_process=True) == 0
    printed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert printed["digest"] == "weekly friday 09:00 Europe/Berlin, 2 recipient(s)"
    assert "example.com" not in json.dumps(printed)


def test_nps_digest_send_sends_the_latest_digest_once_alongside_the_function(
    answered: LocalStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nps.cli.main import main as cli

    # Given it is 2026-11-24 10:00 UTC (the daily digest of 2026-11-23 is the latest due)
    monkeypatch.setattr("nps.cli.digests.datetime", _Frozen)
    local = ["--local", "--prefix", "test"]
    # When the team sends it from the CLI, then the hourly function runs for the same period
    assert cli([*local, "digest", "send", ds.SURVEY_ID], in_process=True) == 0
    printed = json.loads(capsys.readouterr().out.splitlines()[-1])
    # Then the CLI sent it to both, and the function sends nothing more
    assert (printed["period"], printed["sent"], printed["suppressed"]) == ("daily:2026-11-23", 2, 0)
    assert run(DUE)[0]["already_sent"] == 2
    assert len(ds.captured_emails()) == 2


class _Frozen(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:
        return cls(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_a_report_too_large_to_attach_is_left_out_and_the_digest_says_how_to_get_it(answered: LocalStack) -> None:
    # Given messages may hold less than the report (SES takes 10 MB; here 20 KB)
    digest.service().max_message_bytes = 20_000
    # When the digest is due
    outcome = run(DUE)[0]
    # Then it is sent without the attachment and names the command that writes the report
    assert (outcome["sent"], outcome["attached"]) == (2, False)
    email = ds.captured_emails()[0]
    assert list(email.message.iter_attachments()) == []
    assert "nps html onboarding-q4 --from 2026-11-23 --to 2026-11-23" in email.text


def test_a_recipient_mailed_on_a_retried_run_reads_the_same_accounts_newly_at_risk(
    answered: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SES throttles the lead's digest in the first run (the team's goes out, acme's health is published)
    from nps.digests.service import DigestRunFailed
    from nps.sending.adapters.channels import SendError, SesMailer

    url = health_queue(answered)
    real = SesMailer.send_email

    def throttle_the_lead(self: SesMailer, **message: Any) -> str:
        if message["destination"] == "lead@example.com":
            raise SendError("ses: Throttling", retryable=True)
        return real(self, **message)

    with monkeypatch.context() as patched:
        patched.setattr(SesMailer, "send_email", throttle_the_lead)
        with pytest.raises(DigestRunFailed):
            run(DUE)
    # When Lambda retries the invocation
    again = run(DUE)[0]
    # Then the lead's digest lists acme as newly at risk, as the team's did, and acme was published once
    assert (again["sent"], again["already_sent"], again["health_events"]) == (1, 1, 0)
    texts = {e.to: e.text for e in ds.captured_emails()}
    assert "acme: a decision maker is a detractor" in texts["team@example.com"]
    assert "acme: a decision maker is a detractor" in texts["lead@example.com"]
    assert len(received(url)) == 1


def test_the_preview_of_a_sent_digest_shows_what_it_said(
    answered: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    from nps.cli.main import main as cli

    # Given the digest of 2026-11-23 went out, listing acme as newly at risk
    run(DUE)
    assert "acme: a decision maker is a detractor" in ds.captured_emails()[0].text
    # When the team previews that digest afterwards
    local = ["--local", "--prefix", "test"]
    assert cli([*local, "digest", "preview", ds.SURVEY_ID, "--as-of", "2026-11-24", "--text"], in_process=True) == 0
    # Then it still lists acme
    assert "acme: a decision maker is a detractor" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2099-01-01", "nps: --as-of 2099-01-01 is in the future: no digest of it is due yet"),
        ("9999-12-31", "nps: --as-of 9999-12-31 is in the future: no digest of it is due yet"),
        ("0001-01-01", "nps: --as-of 0001-01-01 is before any digest could be due"),
    ],
)
def test_nps_digest_preview_as_of_a_day_no_digest_can_have_is_one_line_and_exit_1(
    platform: LocalStack, capsys: pytest.CaptureFixture[str], as_of: str, message: str
) -> None:
    from nps.cli.main import main as cli

    # Given a survey with a daily digest and no answers at all
    DynamoSurveyRepository(platform.tables["surveys"]).put(Survey.model_validate(digest_survey()))
    # When the team previews it as of a day in the future, or before the calendar allows a period
    code = cli(["--local", "--prefix", "test", "digest", "preview", ds.SURVEY_ID, "--as-of", as_of], in_process=True)
    # Then one line says why, with exit code 1, and nothing is written
    assert (code, capsys.readouterr().err.splitlines()) == (1, [message])
    assert not Path(f"{ds.SURVEY_ID}-digest.html").exists()


def test_nps_digest_preview_of_a_survey_without_answers_renders_an_empty_digest(
    platform: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nps.cli.main import main as cli

    # Given a survey with a daily digest and no answers at all
    DynamoSurveyRepository(platform.tables["surveys"]).put(Survey.model_validate(digest_survey()))
    # When the team previews its digest as text
    local = ["--local", "--prefix", "test"]
    assert cli([*local, "digest", "preview", ds.SURVEY_ID, "--as-of", "2026-11-24", "--text"], in_process=True) == 0
    # Then it says there were no responses and claims no change
    printed = capsys.readouterr()
    assert "2026-11-23, compared with 2026-11-22" in printed.out
    assert "the HTML report would not be attached" in printed.err


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"digest": {**DIGEST, "enabled": False}}, "nps: the digest of survey 'onboarding-q4' is switched off"),
        ({"active": False}, "nps: survey 'onboarding-q4' is not active"),
    ],
)
def test_nps_digest_send_sends_nothing_for_a_switched_off_digest_or_an_inactive_survey(
    answered: LocalStack,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, Any],
    message: str,
) -> None:
    from nps.cli.main import main as cli

    # Given the digest was switched off (enabled: false), or the survey paused
    DynamoSurveyRepository(answered.tables["surveys"]).put(Survey.model_validate({**digest_survey(), **changes}))
    monkeypatch.setattr("nps.cli.digests.datetime", _Frozen)
    # When the team runs nps digest send
    code = cli(["--local", "--prefix", "test", "digest", "send", ds.SURVEY_ID], in_process=True)
    # Then one line says why, exit 1, and nothing is sent (as the function would not send it)
    assert code == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(message)
    assert ds.captured_emails() == []
