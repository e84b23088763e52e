"""The viral benchmark's DynamoDB stub charges tables and indexes the way DynamoDB's documented rules say."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.dynamo_meter import ConditionalCheckFailed, DynamoMeter, evaluate_condition
from nps.kernel.tables import RESPONSES, RESPONSES_BY_SURVEY, RESPONSES_BY_SURVEY_SHARD

TABLE = "responses"


def meter(keep_retiring_indexes: bool = True) -> DynamoMeter:
    """A stub of the responses table; by default with the indexes of the upgrade deploy (both)."""
    return DynamoMeter({TABLE: RESPONSES.deployed(keep_retiring_indexes)})


def charged(stub: DynamoMeter) -> dict[str, int]:
    return {partition: units for (_, partition), units in stub.units.items()}


def answer(stub: DynamoMeter, invite_id: str = "i1", **extra: str) -> None:
    values: dict[str, Any] = {
        ":survey": {"S": "s1"},
        ":shard": {"S": "s1#07"},
        ":at": {"S": "2026-03-10T09:00:00.000Z"},
        ":score": {"N": "9"},
    }
    sets = ["survey_id = :survey", "survey_shard = :shard", "first_answered_at = :at", "score = :score"]
    for name, value in extra.items():
        values[f":{name}"] = {"S": value}
        sets.append(f"{name} = :{name}")
    stub.update_item(
        TableName=TABLE,
        Key={"invite_id": {"S": invite_id}},
        UpdateExpression="SET " + ", ".join(sets),
        ExpressionAttributeValues=values,
    )


def test_a_new_item_with_the_index_keys_is_one_put_in_each_index_on_its_partition() -> None:
    stub = meter()
    answer(stub)
    assert charged(stub) == {
        "responses:i1": 1,
        f"responses/{RESPONSES_BY_SURVEY.name}:s1": 1,
        f"responses/{RESPONSES_BY_SURVEY_SHARD.name}:s1#07": 1,
    }


def test_the_default_deployment_charges_no_retiring_index_and_the_same_units_elsewhere() -> None:
    # The viral benchmark meters the default deployment; each index is charged on its own, so the
    # figures of the tables and indexes both deployments have do not depend on the retiring ones.
    upgrade, default = meter(keep_retiring_indexes=True), meter(keep_retiring_indexes=False)
    for stub in (upgrade, default):
        answer(stub)
        answer(stub, comment="fine")
    assert charged(default) == {
        where: units for where, units in charged(upgrade).items() if not where.startswith("responses/by_survey:")
    }
    assert f"responses/{RESPONSES_BY_SURVEY.name}:s1" in charged(upgrade)


def test_writing_the_same_values_again_or_an_unprojected_attribute_writes_no_index_entry() -> None:
    stub = meter()
    answer(stub)
    stub.units.clear()
    stub.worst_case.clear()
    answer(stub)  # the same values
    stub.update_item(
        TableName=TABLE,
        Key={"invite_id": {"S": "i1"}},
        UpdateExpression="SET automated_reasons = :r",  # not projected by by_survey_shard
        ExpressionAttributeValues={":r": {"S": "burst"}},
    )
    assert charged(stub) == {"responses:i1": 2, f"responses/{RESPONSES_BY_SURVEY.name}:s1": 1}
    # ... which the worst case counts as if it did
    assert {p: u for (_, p), u in stub.worst_case.items()}[f"responses/{RESPONSES_BY_SURVEY_SHARD.name}:s1#07"] == 2


def test_changing_an_index_key_deletes_the_old_entry_and_puts_the_new_one() -> None:
    stub = meter()
    answer(stub)
    stub.units.clear()
    stub.update_item(
        TableName=TABLE,
        Key={"invite_id": {"S": "i1"}},
        UpdateExpression="SET survey_shard = :shard",
        ExpressionAttributeValues={":shard": {"S": "s1#08"}},
    )
    shard = RESPONSES_BY_SURVEY_SHARD.name
    assert charged(stub) == {
        "responses:i1": 1,
        f"responses/{shard}:s1#07": 1,
        f"responses/{shard}:s1#08": 1,
        f"responses/{RESPONSES_BY_SURVEY.name}:s1": 1,  # ALL projection: the shard attribute changed
    }


def test_removing_an_index_key_is_one_delete_and_index_entries_are_charged_by_their_size() -> None:
    stub = meter()
    answer(stub, comment="x" * 2900)  # an entry of about 3,000 bytes
    assert charged(stub)[f"responses/{RESPONSES_BY_SURVEY_SHARD.name}:s1#07"] == 3
    stub.units.clear()
    stub.update_item(
        TableName=TABLE,
        Key={"invite_id": {"S": "i1"}},
        UpdateExpression="REMOVE first_answered_at",
    )
    assert charged(stub) == {
        "responses:i1": 3,
        f"responses/{RESPONSES_BY_SURVEY.name}:s1": 3,
        f"responses/{RESPONSES_BY_SURVEY_SHARD.name}:s1#07": 3,
    }


def test_transactional_writes_cost_twice() -> None:
    stub = meter()
    stub.transact_write_items(
        TransactItems=[{"Put": {"TableName": TABLE, "Item": {"invite_id": {"S": "i2"}, "survey_id": {"S": "s"}}}}]
    )
    assert charged(stub) == {"responses:i2": 2}  # not in either index: no first_answered_at


def test_a_refused_condition_raises_like_the_sdk_and_writes_nothing() -> None:
    stub = meter()
    answer(stub)
    stub.units.clear()
    with pytest.raises(ConditionalCheckFailed) as refused:
        stub.update_item(
            TableName=TABLE,
            Key={"invite_id": {"S": "i1"}},
            UpdateExpression="SET score = :score",
            ConditionExpression="attribute_not_exists(#score) OR #score <> :score",
            ExpressionAttributeNames={"#score": "score"},
            ExpressionAttributeValues={":score": {"N": "9"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert refused.value.response["Item"]["score"] == {"N": "9"}
    assert charged(stub) == {}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("attribute_exists(#s) AND (attribute_not_exists(#c) OR #c = :t)", True),
        ("#s <> :nine OR #c = :f", False),
        ("NOT (#s < :nine) AND size(#t) > :zero", True),
        ("#missing = :nine", False),
        ("#at >= :lo", True),
    ],
)
def test_conditions_are_evaluated(expression: str, expected: bool) -> None:
    item: dict[str, dict[str, Any]] = {
        "s": {"N": "9"},
        "c": {"BOOL": True},
        "t": {"S": "hi"},
        "at": {"S": "2026-03-10"},
    }
    names = {"#s": "s", "#c": "c", "#t": "t", "#missing": "missing", "#at": "at"}
    values = {
        ":nine": {"N": "9"},
        ":t": {"BOOL": True},
        ":f": {"BOOL": False},
        ":zero": {"N": "0"},
        ":lo": {"S": "2026-03-01"},
    }
    assert evaluate_condition(expression, item, names, values) is expected
