"""Each table's global secondary indexes change by at most one (created or deleted) per upgrade deploy.

CloudFormation applies one index creation or deletion per table per stack update; an update that asks
for more fails and rolls back, so an existing stack could not upgrade. Changing an index's keys or
projection under the same name counts as a deletion and a creation.

A stack from the last release upgrades in two deploys: the first with ``-c keepRetiringIndexes=true``
(against :data:`RELEASED`: the new indexes are created, the retiring ones kept), the second without it
(the retiring ones deleted). A fresh deployment (no flag) creates no retiring index.
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


def synthesized_indexes(context: dict[str, object]) -> dict[str, dict[str, Definition]]:
    """Table logical name → index name → definition, from the template synthesized with ``context``."""
    app, stack = build_app(context)
    app.synth()
    tables = Template.from_stack(stack).find_resources("AWS::DynamoDB::Table")
    found: dict[str, dict[str, Definition]] = {}
    for spec in ALL_TABLES:
        (props,) = [
            t["Properties"] for lid, t in tables.items() if lid.startswith(f"Storage{spec.logical_name.capitalize()}")
        ]
        found[spec.logical_name] = {i["IndexName"]: definition(i) for i in props.get("GlobalSecondaryIndexes", [])}
    return found


@pytest.fixture(scope="module")
def deployed_indexes() -> dict[str, dict[str, Definition]]:
    """The default deployment's indexes (a fresh stack, and an upgraded one after its second deploy)."""
    return synthesized_indexes({})


@pytest.fixture(scope="module")
def upgrade_indexes() -> dict[str, dict[str, Definition]]:
    """The indexes of the upgrade deploy from the last release (``-c keepRetiringIndexes=true``)."""
    return synthesized_indexes({"keepRetiringIndexes": "true"})


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
def test_the_upgrade_deploy_changes_at_most_one_index_of_a_table_since_the_last_release(
    upgrade_indexes: dict[str, dict[str, Definition]], table: str
) -> None:
    operations = index_operations(RELEASED[table], upgrade_indexes[table])
    assert len(operations) <= 1, f"{table}: {operations} (CloudFormation makes one per table per update)"


@pytest.mark.parametrize("table", sorted(RELEASED))
def test_the_deploy_after_the_upgrade_changes_at_most_one_index_of_a_table(
    upgrade_indexes: dict[str, dict[str, Definition]], deployed_indexes: dict[str, dict[str, Definition]], table: str
) -> None:
    operations = index_operations(upgrade_indexes[table], deployed_indexes[table])
    assert len(operations) <= 1, f"{table}: {operations} (CloudFormation makes one per table per update)"
    assert all(operation.startswith("delete ") for operation in operations)


def test_the_default_deployment_creates_no_retiring_index(deployed_indexes: dict[str, dict[str, Definition]]) -> None:
    retiring = {(spec.logical_name, index.name) for spec in ALL_TABLES for index in spec.indexes if index.retiring}
    assert retiring  # otherwise this test proves nothing: drop it with the last retiring index
    for table, index in retiring:
        assert index not in deployed_indexes[table], f"{table}/{index} is retiring: only the upgrade deploy keeps it"
    for spec in ALL_TABLES:
        assert set(deployed_indexes[spec.logical_name]) == {i.name for i in spec.indexes if not i.retiring}


def test_the_upgrade_deploy_keeps_the_retiring_indexes_as_released(
    upgrade_indexes: dict[str, dict[str, Definition]],
) -> None:
    for spec in ALL_TABLES:
        assert set(upgrade_indexes[spec.logical_name]) == {index.name for index in spec.indexes}
        for index in spec.indexes:
            if index.retiring:
                assert RELEASED[spec.logical_name].get(index.name) == upgrade_indexes[spec.logical_name][index.name]


def test_a_deploy_straight_from_the_last_release_without_the_flag_would_be_refused(
    deployed_indexes: dict[str, dict[str, Definition]],
) -> None:
    # What docs/operations.md warns about: without keepRetiringIndexes, an old stack's update asks
    # CloudFormation for a creation and a deletion on one table, fails and rolls back.
    assert any(len(index_operations(RELEASED[t], deployed_indexes[t])) > 1 for t in RELEASED)


def test_the_check_counts_two_new_indexes_a_removal_with_an_addition_and_a_changed_projection() -> None:
    old: Definition = ("survey_id", "first_answered_at", "ALL", ())
    new: Definition = ("survey_shard", "first_answered_at", "INCLUDE", ("score",))
    assert index_operations({"a": old}, {"a": old, "b": new}) == ["create b"]
    assert len(index_operations({"a": old}, {"a": old, "b": new, "c": new})) == 2
    assert len(index_operations({"a": old}, {"b": new})) == 2
    assert len(index_operations({"a": old}, {"a": new})) == 2
    assert index_operations({"a": old}, {"a": old}) == []
