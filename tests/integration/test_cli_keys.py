"""``nps keys list|rotate|retire --site|--links`` on the local stack: rotation keeps old contact tokens valid
until their key id is retired (the web function then answers token_invalid); errors are one line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from aws_lambda_powertools.utilities import parameters

from functions.web import handler as web_function
from local.environment import LocalStack
from nps.channels.site_tokens import mint
from nps.cli.main import main as cli
from nps.kernel import aws
from nps.links.adapters.keyring import load_keyring
from nps.links.tokens import Purpose, TokenStatus, sign, verify
from tests.support.web import SURVEY_ID, call, put_web_survey


@pytest.fixture
def web(platform: LocalStack) -> Iterator[LocalStack]:
    web_function.service.cache_clear()
    put_web_survey(platform)
    yield platform
    web_function.service.cache_clear()


def nps(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what the functions printed before (their metrics)
    status = cli(["--local", "--prefix", "test", *args], in_process=True)
    out, err = capsys.readouterr()
    return status, out, err


def site_secret(capsys: pytest.CaptureFixture[str]) -> str:
    status, out, err = nps(capsys, "survey", "site-secret", SURVEY_ID)
    assert status == 0, err
    return out.strip()


def eligibility_status(token: str) -> tuple[int, str | None]:
    """The web function's verdict on a contact token (its keyring cache forgotten: a function five minutes on)."""
    parameters.clear_caches()
    reply = call(SURVEY_ID, "eligibility", {"contact_token": token, "url": None})
    return reply.status, reply.body.get("error", {}).get("code") if reply.status != 200 else None


def token(secret: str, contact: str = "c-1") -> str:
    return mint(secret, SURVEY_ID, contact, int(time.time()) + 600)


def test_rotating_the_site_keys_keeps_old_tokens_valid_until_the_old_id_is_retired(
    web: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a backend minting contact tokens with the survey's s1 secret
    old_secret = site_secret(capsys)
    assert old_secret.startswith("s1.")
    # When the site keys rotate
    status, out, err = nps(capsys, "keys", "rotate", "--site")
    # Then s2 is active, s1 is kept, no key is printed, and the next steps are said
    assert status == 0, err
    assert json.loads(out) == {"keyring": "site", "active": "s2", "key_ids": ["s1", "s2"]}
    assert "nps survey site-secret" in err
    assert "nps keys retire --site s1" in err
    stored = json.loads(aws.client("secretsmanager").get_secret_value(SecretId="test/site-keys")["SecretString"])
    assert stored["s2"] not in out + err
    new_secret = site_secret(capsys)
    assert new_secret.startswith("s2.")
    assert new_secret != old_secret
    # And tokens of both ids verify during the overlap
    assert eligibility_status(token(old_secret))[0] == 200
    assert eligibility_status(token(new_secret, "c-2"))[0] == 200
    # When s1 is retired
    status, out, err = nps(capsys, "keys", "retire", "--site", "s1")
    assert status == 0, err
    assert json.loads(out) == {"keyring": "site", "active": "s2", "key_ids": ["s2"]}
    # Then an s1 token is refused as invalid, an s2 one still verifies
    assert eligibility_status(token(old_secret, "c-3")) == (401, "token_invalid")
    assert eligibility_status(token(new_secret, "c-4"))[0] == 200


def test_rotating_the_link_keys_keeps_links_in_flight_valid(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    before = load_keyring("test/link-signing")
    link = sign(before, Purpose.RESPOND, "inv-1", int(time.time()) + 600)
    status, out, err = nps(capsys, "keys", "rotate", "--links", "--kid", "k7")
    assert status == 0, err
    after = load_keyring("test/link-signing")
    assert after.active_kid == "k7"
    assert verify(after, link, Purpose.RESPOND, time.time()).status is TokenStatus.VALID
    status, out, _ = nps(capsys, "keys", "list", "--links")
    assert json.loads(out)["active"] == "k7"


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (("keys", "retire", "--site", "s1"), 1, "'s1' is the active key: rotate to a new one first"),
        (("keys", "retire", "--site", "s9"), 1, "the secret has no key id 's9'"),
        (("keys", "rotate", "--site", "--kid", "s1"), 1, "key id 's1' is already in the secret"),
    ],
)
def test_a_refused_rotation_is_one_line_an_exit_status_and_changes_nothing(
    web: LocalStack, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], status: int, message: str
) -> None:
    before = aws.client("secretsmanager").get_secret_value(SecretId="test/site-keys")["SecretString"]
    got, out, err = nps(capsys, *args)
    assert (got, out) == (status, "")
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert "Traceback" not in err
    assert aws.client("secretsmanager").get_secret_value(SecretId="test/site-keys")["SecretString"] == before


@pytest.mark.parametrize(
    "args",
    [("keys", "rotate"), ("keys", "rotate", "--site", "--kid", "no dots."), ("keys", "retire", "--site", "active")],
)
def test_bad_arguments_are_usage_errors(platform: LocalStack, args: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["--local", "--prefix", "test", *args], in_process=True)
    assert exited.value.code == 2
