"""Contact files through both entry points on moto: the S3-triggered import and ``nps contacts import``.

Both read the file's bytes through one code path, so one file gets one outcome and the same message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from local import demo_sending as ds
from local.environment import LocalStack
from nps.cli.main import main as cli
from nps.kernel import aws

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOWS_1252 = "contact_id,email,city\r\nc1,ana@example.com,Zürich\r\n".encode("cp1252")
EXCEL_SEMICOLONS = "\ufeffcontact_id;email;plan\r\nc1;ana@example.com;pro\r\nc2;ben@example.com;free\r\n".encode()


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(START)
    with ds.handlers(clock):
        yield clock


def stored_contacts(stack: LocalStack) -> list[str]:
    items = aws.client("dynamodb").scan(TableName=stack.tables["contacts"])["Items"]
    return sorted(item["contact_id"]["S"] for item in items)


def cli_import(path: Path, *extra: str) -> int:
    return cli(["--local", "--prefix", "test", "contacts", "import", str(path), *extra], in_process=True)


def test_a_windows_1252_file_gets_the_same_one_line_refusal_from_both_and_imports_nothing(
    platform: LocalStack, clock: ds.Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a Windows-1252 file ("Zürich" as byte 0xFC)
    path = tmp_path / "contacts.csv"
    path.write_bytes(WINDOWS_1252)
    # When the CLI imports it
    status = cli_import(path)
    captured = capsys.readouterr()
    # Then it exits 1 with one line and no traceback
    assert status == 1
    expected = (
        "the file is not UTF-8 text (byte 0xFC on line 2); nothing was imported: "
        'save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8) and import it again'
    )
    assert captured.err == f"nps: {path}: {expected}\n"
    assert "Traceback" not in captured.err + captured.out
    # And the S3-triggered import says the same, in its summary and its report
    summary = ds.import_csv(platform, WINDOWS_1252)
    assert (summary["imported"], summary["rejected"], summary["file_error"]) == (0, 0, expected)
    assert ds.import_report(platform, summary["report"]) == [{"line": "0", "contact_id": "", "errors": expected}]
    # And nothing was imported by either
    assert stored_contacts(platform) == []


def test_an_excel_semicolon_file_imports_the_same_through_both(
    platform: LocalStack, clock: ds.Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(EXCEL_SEMICOLONS)
    assert cli_import(path) == 0
    assert '"imported": 2' in capsys.readouterr().out
    summary = ds.import_csv(platform, EXCEL_SEMICOLONS)
    assert (summary["imported"], summary["rejected"], summary["file_error"]) == (2, 0, None)
    assert stored_contacts(platform) == ["c1", "c2"]


def test_one_mailbox_in_two_spellings_gets_one_invite_in_a_wave(platform: LocalStack, clock: ds.Clock) -> None:
    # Given one contact imported, and the same mailbox in another spelling imported by a later file
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(platform, "contact_id,email,time_zone\nc1,Ana.Example@Example.com,Europe/Berlin\n", name="a.csv")
    first = ds.import_csv(
        platform,
        "contact_id,email,time_zone\nc2,ana.example@example.com,Europe/Berlin\nc3,ANA.EXAMPLE@example.com,UTC\n",
        name="b.csv",
    )
    # Then the file's own duplicate is reported at import
    assert (first["imported"], first["rejected"]) == (1, 1)
    (row,) = ds.import_report(platform, first["report"])
    assert row["contact_id"] == "c3"
    assert "the same mailbox as line 2 (contact_id c2)" in row["errors"]
    # When a wave goes out over the audience (c1 and c2 share a mailbox)
    report = ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    # Then the mailbox gets one invite and one email
    assert report["invites"] == 1
    assert report["skipped"] == {"same_address": 1}
    assert len(ds.captured_emails()) == 1


def test_the_error_report_neutralises_formula_cells(platform: LocalStack, clock: ds.Clock) -> None:
    text = 'contact_id,email\n"=HYPERLINK(""https://evil.example"",""x"")",ana@example.com\n+1-2,ben@example.com\n'
    summary = ds.import_csv(platform, text)
    ids = [row["contact_id"] for row in ds.import_report(platform, summary["report"])]
    assert ids == ['\'=HYPERLINK("https://evil.example","x")', "'+1-2"]
