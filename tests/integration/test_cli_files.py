"""Files named on the ``nps`` command line that cannot be read or written: one line, exit 1, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import demo_sending as ds
from local.environment import LocalStack
from nps.cli.main import main as cli


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = cli(["--local", "--prefix", "test", *args], in_process=True)
    return status, capsys.readouterr().err


def test_files_that_cannot_be_read_or_written_get_one_line_and_exit_1(
    platform: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a survey to report on, a missing file, a folder and a file that is not UTF-8
    latin1 = tmp_path / "survey-latin1.json"
    latin1.write_bytes(json.dumps({**ds.DEMO_SURVEY, "brand_name": "Zürich AG"}, ensure_ascii=False).encode("latin-1"))
    cases = [
        ("survey", "put", str(tmp_path / "missing.json")),
        ("survey", "put", str(tmp_path)),
        ("survey", "put", str(latin1)),
        ("export", ds.SURVEY_ID, "-o", str(tmp_path / "no-such-folder" / "x.csv")),
        ("export", ds.SURVEY_ID, "-o", str(tmp_path)),
        ("html", ds.SURVEY_ID, "-o", str(tmp_path / "no-such-folder" / "x.html")),
        ("drivers", ds.SURVEY_ID, "--csv", str(tmp_path / "no-such-folder" / "x.csv")),
        ("drivers", ds.SURVEY_ID, "--csv", str(tmp_path)),
        ("drivers", ds.SURVEY_ID, "--from", "2026-05-01", "--to", "2026-04-01"),
    ]
    ds.create_survey(platform, ds.DEMO_SURVEY)
    for args in cases:
        # When the command runs / Then it says what went wrong in one line and exits 1
        status, err = run(capsys, *args)
        assert status == 1, (args, err)
        assert err.count("\n") == 1, (args, err)
        assert err.startswith("nps: "), (args, err)
        assert "Traceback" not in err


def test_a_survey_file_saved_with_a_byte_order_mark_is_read(
    platform: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a survey definition saved by Windows Notepad (UTF-8 with a BOM)
    path = tmp_path / "survey.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(ds.DEMO_SURVEY).encode())
    # Then it is saved like any other
    status, err = run(capsys, "survey", "put", str(path))
    assert status == 0, err


def test_drivers_refuses_one_file_for_both_tables(
    platform: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given --csv and --trend-csv naming one file (spelled two ways)
    ds.create_survey(platform, ds.DEMO_SURVEY)
    status, err = run(capsys, "drivers", ds.SURVEY_ID, "--csv", str(tmp_path / "d.csv"),
                      "--trend-csv", str(tmp_path / "." / "d.csv"))  # fmt: skip
    # Then the command refuses before reading anything (the trend would overwrite the table)
    assert status == 1
    assert err == f"nps: {tmp_path / 'd.csv'}: --csv and --trend-csv name the same file; give each its own\n"
    assert not (tmp_path / "d.csv").exists()
