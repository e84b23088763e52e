"""The signing secret as the functions read it: a bad entry is skipped and alarmed, links keep working."""

from __future__ import annotations

import json
import logging

import pytest

from local.environment import LocalStack
from nps.kernel import aws
from nps.links.adapters import keyring as keyring_adapter
from nps.links.tokens import KeyringError
from tests.support.taps import issue_invite


def _store_signing_secret(stack: LocalStack, secret: dict[str, object]) -> None:
    from aws_lambda_powertools.utilities import parameters

    aws.client("secretsmanager").put_secret_value(SecretId=stack.signing_secret_name, SecretString=json.dumps(secret))
    parameters.clear_caches()


def _metric_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_a_badly_named_key_in_the_secret_does_not_turn_links_into_500s(
    platform: LocalStack, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given the deployed secret with a second key someone named "k2 (new)" (a space: not a key id)
    good = platform.keyring.keys["k1"].decode()
    invite = issue_invite(platform, "inv-keys-1")
    _store_signing_secret(platform, {"active": "k1", "k1": good, "k2 (new)": "n" * 64})
    # When the person taps a link, twice
    with caplog.at_level(logging.ERROR, logger=keyring_adapter.__name__):
        first, second = invite.tap(9), invite.tap(10)
    # Then both taps are recorded (200, not 500)
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    # And the bad entry is logged by name and reason (never its value) and counted once, without dimensions
    assert any("'k2 (new)'" in r.getMessage() and "key id" in r.getMessage() for r in caplog.records)
    assert "n" * 64 not in caplog.text
    metrics = [m for m in _metric_lines(capsys.readouterr().out) if "SigningKeysRejected" in m]
    assert len(metrics) == 1
    assert metrics[0]["SigningKeysRejected"] == [1.0]
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]  # type: ignore[index]


def test_an_unusable_active_key_fails_loudly(platform: LocalStack) -> None:
    _store_signing_secret(platform, {"active": "k1", "k1": "too-short"})
    with pytest.raises(KeyringError, match="the active signing key 'k1' is unusable"):
        keyring_adapter.load_keyring(platform.signing_secret_name)


def test_a_secret_that_is_not_a_json_object_is_refused(platform: LocalStack) -> None:
    from aws_lambda_powertools.utilities import parameters

    aws.client("secretsmanager").put_secret_value(SecretId=platform.signing_secret_name, SecretString="[1, 2]")
    parameters.clear_caches()
    with pytest.raises(KeyringError, match="JSON object"):
        keyring_adapter.load_keyring(platform.signing_secret_name)
