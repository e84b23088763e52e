"""``nps suppressions migrate`` on moto: legacy (unkeyed) suppressions get keyed copies, then go."""

from __future__ import annotations

import json

import pytest

from local.environment import LocalStack
from nps.cli.main import main as cli
from nps.kernel import aws
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.contacts import Contact
from nps.sending.suppression import address_hash, legacy_address_hash


def _items(stack: LocalStack) -> dict[str, dict[str, str]]:
    scanned = aws.client("dynamodb").scan(TableName=stack.tables["suppressions"])["Items"]
    return {i["address_hash"]["S"]: {k: v["S"] for k, v in i.items() if k != "address_hash"} for i in scanned}


def _migrate(capsys: pytest.CaptureFixture[str], *flags: str) -> dict[str, int]:
    capsys.readouterr()
    assert cli(["--local", "--prefix", "test", "suppressions", "migrate", *flags], in_process=True) == 0
    counts: dict[str, int] = json.loads(capsys.readouterr().out)
    return counts


def test_the_migration_rekeys_legacy_suppressions_and_removes_them_only_when_asked(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a contact who unsubscribed before keyed keys (a legacy item with the opt-out on it)
    DynamoContactRepository(platform.tables["contacts"]).upsert(
        Contact(contact_id="c1", email="ann@example.com", phone="+14155550123")
    )
    old = legacy_address_hash("email", "ann@example.com")
    aws.client("dynamodb").put_item(
        TableName=platform.tables["suppressions"],
        Item={
            "address_hash": {"S": old},
            "reason": {"S": "unsubscribed"},
            "suppressed_at": {"S": "2025-01-01T00:00:00.000000Z"},
            "contact_id": {"S": "c1"},
            "invite_id": {"S": "inv-old"},
            "method": {"S": "one_click"},
        },
    )
    keyed = address_hash("email", "ann@example.com", platform.id_key)
    # When the migration runs
    counts = _migrate(capsys)
    # Then the keyed copy exists (no method: the stream publishes no second unsubscribe) beside the legacy one
    assert counts == {
        "contacts": 1, "addresses": 2, "legacy_found": 1, "rekeyed": 1, "already_keyed": 0, "legacy_removed": 0
    }  # fmt: skip
    items = _items(platform)
    assert set(items) == {old, keyed}
    assert "method" not in items[keyed]
    assert (items[keyed]["reason"], items[keyed]["contact_id"]) == ("unsubscribed", "c1")
    # And it is idempotent; --remove-legacy deletes the legacy item, and the address stays suppressed
    assert _migrate(capsys)["already_keyed"] == 1
    assert _migrate(capsys, "--remove-legacy")["legacy_removed"] == 1
    assert set(_items(platform)) == {keyed}
    assert DynamoSuppressionRepository(platform.tables["suppressions"]).is_suppressed(keyed)


def test_a_legacy_item_whose_keyed_copy_is_missing_is_never_removed(platform: LocalStack) -> None:
    old = legacy_address_hash("sms", "+14155550199")
    aws.client("dynamodb").put_item(
        TableName=platform.tables["suppressions"], Item={"address_hash": {"S": old}, "reason": {"S": "sms_opted_out"}}
    )
    store = DynamoSuppressionRepository(platform.tables["suppressions"])
    assert store.remove_legacy(old, address_hash("sms", "+14155550199", platform.id_key)) is False
    assert set(_items(platform)) == {old}


def test_a_missing_id_key_is_one_line_and_exit_status_3(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.client("secretsmanager").delete_secret(SecretId=platform.id_key_secret_name, ForceDeleteWithoutRecovery=True)
    capsys.readouterr()
    assert cli(["--local", "--prefix", "test", "suppressions", "migrate"], in_process=True) == 3
    err = capsys.readouterr().err
    assert err == "nps: cannot read the id key secret: it does not exist; redeploy\n"
    assert err.count("\n") == 1
