"""``nps survey site-secret SURVEY``: one line, the secret contact tokens verify with; errors are one line."""

from __future__ import annotations

import time

import pytest

from local.environment import LocalStack
from nps.channels.site_tokens import ContactTokenStatus, mint, verify_contact_token
from nps.cli.main import main as cli
from tests.support.web import put_web_survey


def test_it_prints_the_survey_secret_that_contact_tokens_verify_with(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    put_web_survey(platform, survey_id="site-a")
    status = cli(["--local", "--prefix", "test", "survey", "site-secret", "site-a"], in_process=True)
    out, err = capsys.readouterr()
    assert status == 0, err
    (line,) = out.splitlines()
    assert line == platform.site_secret("site-a")
    assert line.startswith("s1.")
    assert platform.site_keyring is not None
    token = mint(line, "site-a", "c-1", int(time.time()) + 60)
    assert verify_contact_token(platform.site_keyring, token, "site-a", time.time()).status is ContactTokenStatus.VALID


def test_an_unknown_survey_is_one_line_and_exit_1(platform: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli(["--local", "--prefix", "test", "survey", "site-secret", "no-such"], in_process=True)
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "no survey 'no-such'" in err
