"""The example files a newcomer starts from are valid, and the command line's small promises hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nps import __version__
from nps.cli.main import build_parser
from nps.sending.contacts import parse_contacts_csv
from nps.sending.surveys import Survey

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_the_example_survey_is_a_valid_definition() -> None:
    survey = Survey.model_validate_json((EXAMPLES / "survey.json").read_text("utf-8"))
    assert survey.survey_id == json.loads((EXAMPLES / "survey.json").read_text("utf-8"))["survey_id"]


def test_the_example_contacts_import_without_a_rejected_row() -> None:
    report = parse_contacts_csv((EXAMPLES / "contacts.csv").read_text("utf-8"))
    assert (report.file_error, report.errors) == (None, [])
    assert len(report.contacts) == 4


# Numbers regulators reserve for fiction: North America's 555-0100–0199 and Australia's (ACMA) mobile
# 0491 570 006–159. (Ofcom's UK drama range 07700 900xxx is not a valid number to the importer.)
FICTIONAL = (re.compile(r"\+1\d{3}55501\d\d"), re.compile(r"\+61491570(0\d\d|1[0-5]\d)"))


def test_the_example_phone_numbers_are_reserved_for_fiction() -> None:
    # `contacts import examples/contacts.csv` then `wave start` must never text a real person
    report = parse_contacts_csv((EXAMPLES / "contacts.csv").read_text("utf-8"))
    phones = [contact.phone for contact in report.contacts if contact.phone]
    assert phones
    for phone in phones:
        assert any(pattern.fullmatch(phone) for pattern in FICTIONAL), phone


def test_nps_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"nps {__version__}"


@pytest.mark.parametrize(("written", "read"), [("all", "*"), ("*", "*"), ("email", "email"), ("sms", "sms")])
def test_the_channel_option_takes_all_which_no_shell_expands(written: str, read: str) -> None:
    args = build_parser().parse_args(["--local", "report", "s1", "--channel", written])
    assert args.channel == read


def test_an_unknown_channel_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--local", "report", "s1", "--channel", "fax"])
    assert exited.value.code == 2
    assert "choose all, email, sms, web, link or link_anonymous" in capsys.readouterr().err
