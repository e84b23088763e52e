"""Every way a ``nps`` command can fail is one line on stderr with the fix, the documented exit status,
no traceback and no Python class name; argument errors are found before any call to AWS.

AWS's refusals come from real botocore clients with a ``Stubber`` (the error responses AWS sends), and
missing regions, credentials and servers from the SDK itself with the environment emptied.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from local import demo_sending as ds
from local.environment import LocalStack
from nps.cli.main import main as cli
from nps.kernel import aws

# Python class names (NoRegionError, ClientError, FileNotFoundError, SurveyNotFound...) mean nothing to
# an operator; AWS operation names (DescribeStacks) and error codes in parentheses are fine.
CLASS_NAME = re.compile(r"\b(?:[A-Z][a-z]+){1,5}(?:Error|Exception|NotFound)\b")


def failed(status: int, err: str, expected_status: int, *words: str) -> str:
    """Assert the failure's shape; returns its line."""
    assert status == expected_status, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nps: "), err
    assert not CLASS_NAME.search(err), err
    for word in words:
        assert word in err, (word, err)
    return lines[0]


@pytest.fixture
def bare_shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A shell with no AWS region, credentials, profile, config file or local endpoint."""
    for name in (
        *("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"),
        *("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"),
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    aws.reset_clients()
    yield
    aws.reset_clients()


@pytest.fixture
def refusing(bare_shell: None, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make AWS answer with errors: ``refusing(service, operation, code, status, [service, ...])``.

    Each named call of a real client answers with AWS's error response; a ``describe_stacks`` that is not
    refused returns an NPS stack's outputs. Any other call fails the test (no network is used).
    """
    clients: dict[str, Any] = {}
    stubbers: dict[str, Stubber] = {}

    def client(service: str) -> Any:
        if service not in clients:
            factory: Any = boto3.client  # typed per service by boto3-stubs; the service is a variable here
            created: Any = factory(
                service, region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"
            )
            clients[service], stubbers[service] = created, Stubber(created)
            stubbers[service].activate()
        return clients[service]

    client.cache_clear = clients.clear  # type: ignore[attr-defined]  # as aws.reset_clients expects
    monkeypatch.setattr(aws, "client", client)

    def refuse(service: str, operation: str, code: str, status: int, stack_ok: bool = False) -> None:
        if stack_ok:
            outputs = [{"OutputKey": "AggregatesTable", "OutputValue": "Nps-prod-Aggregates"}]
            response = {"Stacks": [{"StackName": "Nps-prod", "CreationTime": "2026-01-01T00:00:00Z",
                                    "StackStatus": "CREATE_COMPLETE", "Outputs": outputs}]}  # fmt: skip
            client("cloudformation")
            stubbers["cloudformation"].add_response("describe_stacks", response)
        client(service)
        stubbers[service].add_client_error(operation, service_error_code=code, http_status_code=status)

    return refuse


# ------------------------------------------------------------------------------------------------
# Arguments, checked before any call to AWS (the shell has no region or credentials: a call would fail)
# ------------------------------------------------------------------------------------------------


def test_a_missing_survey_file(bare_shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--stack", "Nps-prod", "survey", "put", str(tmp_path / "survey.json")])
    failed(status, capsys.readouterr().err, 1, "survey.json: cannot read the file (No such file")


def test_a_missing_contacts_file(bare_shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--stack", "Nps-prod", "contacts", "import", str(tmp_path / "contacts.csv")])
    failed(status, capsys.readouterr().err, 1, "contacts.csv", "cannot read the file")


def test_an_error_report_in_a_missing_folder(
    bare_shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,email\nc1,a@example.com\n")
    status = cli(["--stack", "Nps-prod", "contacts", "import", str(contacts), "--report", "nowhere/errors.csv"])
    failed(status, capsys.readouterr().err, 1, "nowhere: no such folder", "--report")


@pytest.mark.parametrize("command", ["html", "export"])
def test_a_report_file_in_a_missing_folder_is_refused_and_the_folder_not_created(
    command: str, bare_shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "reports" / "june" / "out.html"
    status = cli(["--stack", "Nps-prod", command, "onboarding-q4", "-o", str(target)])
    failed(status, capsys.readouterr().err, 1, "no such folder", "--out")
    assert not (tmp_path / "reports").exists()


def test_a_report_file_that_is_a_folder(bare_shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--stack", "Nps-prod", "html", "onboarding-q4", "-o", str(tmp_path)])
    failed(status, capsys.readouterr().err, 1, "is a folder")


def test_an_inverted_range(bare_shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--stack", "Nps-prod", "report", "onboarding-q4", "--from", "2026-06-30", "--to", "2026-01-01"])
    failed(status, capsys.readouterr().err, 1, "inverted")


def test_an_audit_reason_that_is_blank(bare_shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--stack", "Nps-prod", "contacts", "unsuppress", "c1", "--reason", "   "])
    failed(status, capsys.readouterr().err, 1, "a reason is required")


def test_an_api_url_that_is_not_http(bare_shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--stack", "Nps-prod", "smoke", "--api-url", "ftp://example.com"])
    failed(status, capsys.readouterr().err, 2, "--api-url must be an http(s) URL")


def test_no_target(capsys: pytest.CaptureFixture[str]) -> None:
    failed(cli(["report", "onboarding-q4"]), capsys.readouterr().err, 2, "--stack NAME", "--local")


def test_region_with_local(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--local", "--region", "eu-west-1", "report", "onboarding-q4"])
    failed(status, capsys.readouterr().err, 2, "--region is for --stack")


def test_a_region_name_with_a_typo_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["--stack", "Nps-prod", "--region", "eu-west", "report", "s1"])
    assert exited.value.code == 2
    assert "not an AWS region name (like eu-west-1): 'eu-west'" in capsys.readouterr().err


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> None:
    """``argv`` is refused by argparse: exit status 2, its usage and one ``error:`` line, no traceback."""
    with pytest.raises(SystemExit) as exited:
        cli(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "Traceback" not in err
    assert not CLASS_NAME.search(err), err
    error_lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(error_lines) == 1, err
    for word in words:
        assert word in error_lines[0], (word, err)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--local", "report", ""], ("argument SURVEY: a survey id is 1–64 of A-Z a-z 0-9 _ -", "''")),
        (["--local", "wave", "start", ""], ("argument SURVEY: a survey id",)),
        (["--stack", "Nps-prod", "report", ""], ("argument SURVEY: a survey id",)),
        (["--stack", "Nps-prod", "html", "ü🙂<b>"], ("a survey id", "'ü🙂<b>'")),
        (["--stack", "Nps-prod", "invites", "unknown", "a b"], ("a survey id",)),
        (["--stack", "Nps-prod", "contacts", "import", "examples/contacts.csv", "--audience", ""], ("an audience",)),
        (["--stack", "Nps prod/<x>", "--region", "eu-west-1", "survey", "list"], ("argument --stack", "Nps-prod")),
        (["--stack", "", "survey", "list"], ("argument --stack",)),
        (["--stack", "9nps", "survey", "list"], ("argument --stack",)),
        (["--stack", "N" * 129, "survey", "list"], ("argument --stack",)),
        (["--stack", "Nps-prod", "survey", "put", ""], ("argument FILE: an empty path",)),
        (["--stack", "Nps-prod", "html", "s1", "-o", ""], ("argument --out/-o: an empty path",)),
        (["--stack", "Nps-prod", "contacts", "import", " "], ("argument FILE: an empty path",)),
    ],
)
def test_invalid_ids_names_and_empty_paths_are_usage_errors_before_any_call(
    argv: list[str], words: tuple[str, ...], bare_shell: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shell has no region or credentials: a call to AWS would end in a different line (exit 3)
    usage_error(capsys, argv, *words)


def test_a_stack_arn_and_a_long_stack_name_are_accepted(bare_shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws:cloudformation:eu-west-1:123456789012:stack/Nps-prod/5f0c8e70-1a2b-11ef-9d2c-0a1b2c3d4e5f"
    for stack in (arn, "N" + "ps-" * 42):
        status = cli(["--stack", stack, "survey", "list"])
        failed(status, capsys.readouterr().err, 3, "no AWS region is set")


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("AWS_ENDPOINT_URL", "notaurl", "is not an http(s) URL"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:99999", "has a port outside 1–65535"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:0", "has a port outside 1–65535"),
        ("AWS_ENDPOINT_URL", "http://[::1", "is not a URL"),
        ("AWS_ENDPOINT_URL", "https://", "has no host"),
        ("AWS_ENDPOINT_URL", "ftp://127.0.0.1:5000", "is not an http(s) URL"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "localhost:8000", "is not an http(s) URL"),
    ],
)
@pytest.mark.parametrize("where", [["--local"], ["--stack", "Nps-prod", "--region", "eu-west-1"]])
def test_a_malformed_endpoint_url_is_named_before_any_call(
    variable: str,
    value: str,
    problem: str,
    where: list[str],
    bare_shell: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    # The shell has no credentials: a call would end in "no AWS credentials" or "cannot reach" instead
    status = cli([*where, "survey", "list"])
    line = failed(status, capsys.readouterr().err, 3, f"{variable} {value!r} {problem}", "fix or unset it")
    assert line.count(value) == 1


def test_a_profile_that_is_not_in_the_config(
    bare_shell: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    status = cli(["--region", "eu-west-1", "--stack", "Nps-prod", "survey", "list"])
    failed(status, capsys.readouterr().err, 3, "profile 'nosuch' is not in your AWS config", "AWS_PROFILE")


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (("survey", "put"), "(No such file or directory)"),
        (("contacts", "import"), "(No such file or directory)"),
    ],
)
def test_a_file_that_is_missing_is_worded_the_same_by_every_command(
    command: tuple[str, ...], reason: str, bare_shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.txt"
    status = cli(["--stack", "Nps-prod", *command, str(missing)])
    failed(status, capsys.readouterr().err, 1, f"nps: {missing}: cannot read the file {reason}", "check the path")


@pytest.mark.parametrize("command", [("survey", "put"), ("contacts", "import")])
def test_a_folder_given_as_a_file_is_worded_the_same_by_every_command(
    command: tuple[str, ...], bare_shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli(["--stack", "Nps-prod", *command, str(tmp_path)])
    failed(status, capsys.readouterr().err, 1, f"nps: {tmp_path}: cannot read the file (it is a folder)")


def test_a_survey_file_that_is_not_utf8_is_named(
    bare_shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe{}")
    status = cli(["--stack", "Nps-prod", "survey", "put", str(binary)])
    failed(status, capsys.readouterr().err, 1, f"nps: {binary}: cannot read the file (not UTF-8 text: byte 0xFF")


# ------------------------------------------------------------------------------------------------
# The target: region, credentials, endpoint, AWS's refusals
# ------------------------------------------------------------------------------------------------


def test_no_region(bare_shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--stack", "Nps-prod", "report", "onboarding-q4"])
    failed(status, capsys.readouterr().err, 3, "no AWS region is set", "--region")


def test_region_flag_sets_the_region_of_every_client(
    bare_shell: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        status = cli(["--region", "ap-southeast-2", "--stack", "Nps-missing", "report", "onboarding-q4"])
        # Powertools and other libraries build clients from boto3's default session: the same region
        assert boto3.client("secretsmanager").meta.region_name == "ap-southeast-2"
    failed(status, capsys.readouterr().err, 3, "stack 'Nps-missing' does not exist in ap-southeast-2")


def test_no_credentials(bare_shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--region", "eu-west-1", "--stack", "Nps-prod", "report", "onboarding-q4"])
    failed(status, capsys.readouterr().err, 3, "no AWS credentials were found", "aws configure")


def test_no_local_server(bare_shell: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    # One attempt: the SDK's retries of a refused connection only add waiting to the test.
    monkeypatch.setattr(aws, "_CONFIG", Config(retries={"total_max_attempts": 1}))
    status = cli(["--local", "report", "onboarding-q4"])
    failed(status, capsys.readouterr().err, 3, f"cannot reach {endpoint}", "make moto")


def test_no_local_endpoint_exported(bare_shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--local", "report", "onboarding-q4"])
    failed(status, capsys.readouterr().err, 3, "make moto", "AWS_ENDPOINT_URL")


@pytest.mark.parametrize(
    ("code", "http", "words"),
    [
        ("AccessDenied", 403, ("AWS denied DescribeStacks", "docs/deploy.md")),
        ("ExpiredToken", 403, ("credentials have expired", "aws sso login")),
        ("InvalidClientTokenId", 403, ("does not recognise your credentials",)),
        ("Throttling", 400, ("AWS refused DescribeStacks (Throttling)",)),
    ],
)
def test_aws_refuses_reading_the_stack(
    code: str, http: int, words: tuple[str, ...], refusing: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    refusing("cloudformation", "describe_stacks", code, http)
    status = cli(["--stack", "Nps-prod", "report", "onboarding-q4"])
    failed(status, capsys.readouterr().err, 3, *words)


def test_a_stack_that_does_not_exist(refusing: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    refusing("cloudformation", "describe_stacks", "ValidationError", 400)
    status = cli(["--stack", "Nps-prod", "report", "onboarding-q4"])
    failed(status, capsys.readouterr().err, 3, "stack 'Nps-prod' does not exist in eu-west-1")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("ResourceNotFoundException", ("a table or resource of the stack does not exist (Query)", "--region")),
        ("AccessDeniedException", ("AWS denied Query",)),
    ],
)
def test_aws_refuses_reading_a_table(
    code: str, words: tuple[str, ...], refusing: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    refusing("dynamodb", "query", code, 400, stack_ok=True)
    status = cli(["--stack", "Nps-prod", "report", "onboarding-q4"])
    failed(status, capsys.readouterr().err, 3, *words)


def test_a_local_environment_without_tables(capsys: pytest.CaptureFixture[str]) -> None:
    from moto import mock_aws

    with mock_aws():
        aws.reset_clients()
        status = cli(["--local", "--prefix", "absent", "report", "onboarding-q4"], in_process=True)
    aws.reset_clients()
    failed(status, capsys.readouterr().err, 3, "the local environment lacks a table", "make moto")


# ------------------------------------------------------------------------------------------------
# Requests the target cannot serve
# ------------------------------------------------------------------------------------------------


def test_a_wave_of_an_unknown_survey(platform: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--local", "--prefix", "test", "wave", "start", "no-such-survey"], in_process=True)
    failed(status, capsys.readouterr().err, 1, "no survey 'no-such-survey'", "nps survey list")


def test_a_wave_started_in_the_cli_is_recorded_so_wave_show_and_an_erasure_find_it(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    ds.create_survey(platform, ds.DEMO_SURVEY)
    ds.import_csv(platform, "contact_id,email\nc-1,ana@example.com\n")
    capsys.readouterr()
    assert cli(["--local", "--prefix", "test", "wave", "start", ds.SURVEY_ID], in_process=True) == 0
    wave_id = json.loads(capsys.readouterr().out)["wave_id"]
    # recorded like the planner's waves (wave#<id>): `nps wave show` follows it
    assert cli(["--local", "--prefix", "test", "wave", "show", ds.SURVEY_ID, wave_id], in_process=True) == 0
    assert json.loads(capsys.readouterr().out)["wave_id"] == wave_id


def test_survey_list_shows_ids_names_locales_channels_and_status(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    ds.create_survey(platform, ds.DEMO_SURVEY)
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "survey_id": "paused-one", "name": "Old", "active": False})
    status = cli(["--local", "--prefix", "test", "survey", "list"], in_process=True)
    out, err = capsys.readouterr()
    assert status == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    demo = ds.DEMO_SURVEY
    assert rows == [
        [demo["survey_id"], demo["name"], ",".join(demo["locales"]), ",".join(demo["channels"]), "active"],
        ["paused-one", "Old", ",".join(demo["locales"]), ",".join(demo["channels"]), "paused"],
    ]
    assert err == "2 survey(s)\n"


def test_survey_list_keeps_one_row_per_survey_whatever_the_stored_name_holds(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a definition stored before names were checked, with a tab, a line break and a bidi override
    ds.create_survey(platform, ds.DEMO_SURVEY)
    forged = json.dumps({**ds.DEMO_SURVEY, "name": "Evil\tname\nsecond line \u202egnp.exe"})
    aws.client("dynamodb").update_item(
        TableName=platform.tables["surveys"],
        Key={"survey_id": {"S": ds.DEMO_SURVEY["survey_id"]}, "sk": {"S": "definition"}},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "definition"},
        ExpressionAttributeValues={":d": {"S": forged}},
    )
    # When the surveys are listed
    status = cli(["--local", "--prefix", "test", "survey", "list"], in_process=True)
    out, err = capsys.readouterr()
    assert status == 0, err
    # Then there is one row of five columns, the name on one line, no bidi control
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == 1, out
    assert rows[0][:2] == [ds.DEMO_SURVEY["survey_id"], "Evil name second line gnp.exe"]
    assert len(rows[0]) == 5


def test_a_report_of_a_survey_with_no_answers_yet(platform: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    ds.create_survey(platform, ds.DEMO_SURVEY)
    status = cli(["--local", "--prefix", "test", "report", ds.DEMO_SURVEY["survey_id"]], in_process=True)
    failed(
        status, capsys.readouterr().err, 1, f"survey {ds.DEMO_SURVEY['survey_id']!r} has no invites or responses yet"
    )
