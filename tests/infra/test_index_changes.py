"""Each table's global secondary indexes change by at most one (created or deleted) against the last release.

CloudFormation applies one index creation or deletion per table per stack update; an update that asks
for more fails and rolls back, so an existing stack could not upgrade. Changing an index's keys or
projection under the same name counts as a deletion and a creation.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from nps.kernel.tables import ALL_TABLES
from tests.infra.released_indexes import RELEASED

pytestmark = pytest.mark.infra

Definition = tuple[str, str | None, str, tuple[str, ...]]


@pytest.fixture(scope="module")
def deployed_indexes() -> dict[str, dict[str, Definition]]:
    """Table logical name → index name → definition, from the synthesized template."""
    app, stack = build_app({})
    app.synth()
    tables = Template.from_stack(stack).find_resources("AWS::DynamoDB::Table")
    found: dict[str, dict[str, Definition]] = {}
    for spec in ALL_TABLES:
        (props,) = [
            t["Properties"] for lid, t in tables.items() if lid.startswith(f"Storage{spec.logical_name.capitalize()}")
        ]
        found[spec.logical_name] = {i["IndexName"]: definition(i) for i in props.get("GlobalSecondaryIndexes", [])}
    return found


def definition(index: dict[str, Any]) -> Definition:
    keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
    projection = index["Projection"]
    return keys["HASH"], keys.get("RANGE"), projection["ProjectionType"], tuple(projection.get("NonKeyAttributes", ()))


def index_operations(released: dict[str, Definition], deployed: dict[str, Definition]) -> list[str]:
    """The index creations and deletions CloudFormation must make to go from ``released`` to ``deployed``."""
    operations = [f"delete {name}" for name in released if name not in deployed]
    operations += [f"create {name}" for name in deployed if name not in released]
    for name in released.keys() & deployed.keys():
        if released[name] != deployed[name]:
            operations += [f"delete {name}", f"create {name} (changed keys or projection)"]
    return operations


def test_every_table_has_a_release_record(deployed_indexes: dict[str, dict[str, Definition]]) -> None:
    assert set(deployed_indexes) == set(RELEASED)


@pytest.mark.parametrize("table", sorted(RELEASED))
def test_a_table_changes_at_most_one_index_since_the_last_release(
    deployed_indexes: dict[str, dict[str, Definition]], table: str
) -> None:
    operations = index_operations(RELEASED[table], deployed_indexes[table])
    assert len(operations) <= 1, f"{table}: {operations} (CloudFormation makes one per table per update)"


def test_indexes_kept_for_one_release_are_the_released_ones_unchanged(
    deployed_indexes: dict[str, dict[str, Definition]],
) -> None:
    for spec in ALL_TABLES:
        for index in spec.indexes:
            if index.retiring:
                assert RELEASED[spec.logical_name].get(index.name) == deployed_indexes[spec.logical_name][index.name]


def test_the_check_counts_two_new_indexes_a_removal_with_an_addition_and_a_changed_projection() -> None:
    old: Definition = ("survey_id", "first_answered_at", "ALL", ())
    new: Definition = ("survey_shard", "first_answered_at", "INCLUDE", ("score",))
    assert index_operations({"a": old}, {"a": old, "b": new}) == ["create b"]
    assert len(index_operations({"a": old}, {"a": old, "b": new, "c": new})) == 2
    assert len(index_operations({"a": old}, {"b": new})) == 2
    assert len(index_operations({"a": old}, {"a": new})) == 2
    assert index_operations({"a": old}, {"a": old}) == []
