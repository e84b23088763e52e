"""What the score function builds from cached fragments or derived fields equals what is built plainly:
the aggregates table's transaction items, aggregate keys and their hashes, stream transitions."""

from __future__ import annotations

import copy
import pickle
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nps.kernel.periods import Granularity
from nps.kernel.streams import MalformedRecord
from nps.scoring.adapters import aggregates
from nps.scoring.adapters.aggregates import (
    MAX_INVITES_PER_LEDGER_UPDATE,
    DynamoAggregateStore,
    ledger_entry,
)
from nps.scoring.aggregation import COUNTERS, AggregateKey, Transition, ledger_claims
from nps.scoring.stream import parse_record

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
texts = st.text(min_size=0, max_size=12)
keys = st.builds(AggregateKey, texts, st.sampled_from(list(Granularity)), texts, texts, texts)


@given(keys, keys)
def test_aggregate_keys_hash_as_they_compare(a: AggregateKey, b: AggregateKey) -> None:
    def fields(key: AggregateKey) -> tuple[str, ...]:
        return (key.survey_id, key.granularity.value, key.period, key.segment, key.channel)

    same = AggregateKey(a.survey_id, a.granularity, a.period, a.segment, a.channel)
    assert same == a
    assert hash(same) == hash(a)
    assert {a: 1}[same] == 1
    assert (a == b) == (fields(a) == fields(b))
    if a == b:
        assert hash(a) == hash(b)
    # Ordered by its fields in turn, the granularity by its text
    assert (a < b) == (fields(a) < fields(b))


@given(keys)
def test_aggregate_keys_copied_pickled_or_replaced_keep_a_consistent_hash(key: AggregateKey) -> None:
    for other in (pickle.loads(pickle.dumps(key)), copy.copy(key), copy.deepcopy(key)):  # noqa: S301 (own data)
        assert other == key
        assert hash(other) == hash(key)
    moved = key._replace(period=key.period + "x")
    assert moved != key
    assert hash(moved) == hash(AggregateKey(key.survey_id, key.granularity, key.period + "x", key.segment, key.channel))


def _plain_ledger_update(table: str, bucket: str, versions: dict[str, tuple[int, int]], commit_id: str | None) -> Any:
    """The ledger update written out directly, one placeholder at a time."""
    names: dict[str, str] = {"#ttl": "expires_at_ttl"}
    values: dict[str, Any] = {":ttl": {"N": str(int(NOW.timestamp()) + 3 * 86_400)}}
    sets, conditions = ["#ttl = :ttl"], []
    for i, (invite_id, (low, high)) in enumerate(sorted(versions.items())):
        names[f"#i{i}"] = ledger_entry(invite_id)
        values[f":lo{i}"] = {"N": str(low)}
        values[f":hi{i}"] = {"N": str(high)}
        sets.append(f"#i{i} = :hi{i}")
        conditions.append(f"(attribute_not_exists(#i{i}) OR #i{i} < :lo{i})")
    expression = "SET " + ", ".join(sets)
    if commit_id:
        names["#commits"] = "commits"
        values[":commit"] = {"SS": [commit_id]}
        expression += " ADD #commits :commit"
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": bucket}, "period": {"S": "-"}},
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


versions = st.dictionaries(
    st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    st.tuples(st.integers(0, 30_000), st.integers(0, 30_000)).map(sorted).map(tuple),
    min_size=1,
    max_size=MAX_INVITES_PER_LEDGER_UPDATE,
)


@given(versions, st.sampled_from([None, "", "c0ffee"]))
def test_a_ledger_update_equals_the_plainly_built_one(
    claims: dict[str, tuple[int, int]], commit_id: str | None
) -> None:
    store = DynamoAggregateStore("aggregates")
    built = store._ledger_update(("ledger#1#01", claims), NOW, commit_id)
    assert built == _plain_ledger_update("aggregates", "ledger#1#01", claims, commit_id)


def test_a_ledger_update_of_too_many_invites_is_refused_not_cut() -> None:
    claims = {f"inv_{i}": (1, 1) for i in range(MAX_INVITES_PER_LEDGER_UPDATE + 1)}
    with pytest.raises(ValueError, match="zip"):
        DynamoAggregateStore("aggregates")._ledger_update(("ledger#1#01", claims), NOW)


@given(st.dictionaries(st.sampled_from(COUNTERS), st.integers(-(10**12), 10**12).filter(bool), min_size=1))
def test_an_aggregate_update_writes_every_counter_as_its_number(counters: dict[str, int]) -> None:
    key = AggregateKey("srv_1", Granularity.DAY, "2026-03-10", "region=EU", "email")
    now = {"S": "2026-03-10T12:00:00Z"}
    update = DynamoAggregateStore("aggregates")._aggregate_update(key, counters, now, {})["Update"]
    values = update["ExpressionAttributeValues"]
    assert {name: values[f":{name}"] for name in counters} == {name: {"N": str(n)} for name, n in counters.items()}
    assert values[":now"] == now
    assert values[":survey"] == {"S": "srv_1"}
    assert update["UpdateExpression"].startswith("ADD " + ", ".join(f"{name} :{name}" for name in counters) + " SET ")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["2026-03-10", "2026-W11", "2026-03", "2026-Q1"]),
            st.dictionaries(st.sampled_from(COUNTERS), st.integers(-50, 50).filter(bool), min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=8,
    ),
    st.data(),
)
def test_keys_sharing_one_counters_dict_each_get_their_own_update(
    entries: list[tuple[str, dict[str, int]]], data: st.DataObject
) -> None:
    # Given keys of which some share one counters dict, as coalesce gives a slice's periods theirs
    dicts = [counters for _, counters in entries]
    sums = {
        AggregateKey("srv_1", Granularity.DAY, period, f"plan=p{index}", "email"): data.draw(st.sampled_from(dicts))
        for index, (period, _) in enumerate(entries)
    }
    before = copy.deepcopy(sums)
    now = {"S": "2026-03-10T12:00:00Z"}
    store = DynamoAggregateStore("aggregates")
    # When one transaction's updates are built with one memo
    shared: dict[int, Any] = {}
    built = [store._aggregate_update(key, counters, now, shared)["Update"] for key, counters in sums.items()]
    # Then each equals the update built alone, with its own values, and no counters dict changed
    alone = [store._aggregate_update(key, counters, now, {})["Update"] for key, counters in sums.items()]
    assert built == alone
    assert len({id(update["ExpressionAttributeValues"]) for update in built}) == len(built)
    assert sums == before


def test_number_values_are_kept_for_small_numbers_only() -> None:
    numbers = aggregates._NUMBER
    assert numbers[7] is numbers[7] == {"N": "7"}
    big = aggregates._NUMBERS_KEPT + 1
    assert numbers[big] == {"N": str(big)}
    assert big not in numbers
    assert -big not in numbers
    assert numbers[-big] == {"N": str(-big)}


ANSWERS = st.fixed_dictionaries(
    {
        "score": st.sampled_from([None, 0, 6, 7, 9, 10]),
        "counted": st.booleans(),
        "driver": st.sampled_from([None, "price"]),
        "csat": st.sampled_from([None, 1, 5]),
        "themes": st.lists(st.sampled_from(["price", "ux"]), max_size=2),
        "version": st.integers(0, 3),
    }
)
CREATED = st.one_of(
    st.integers(0, 2**32),
    st.floats(0, 2e9, allow_nan=False),
    st.decimals(0, 2_000_000_000, places=3),
    st.just("1795423815.5"),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["INSERT", "MODIFY", "REMOVE"]), st.none() | ANSWERS, ANSWERS, CREATED)
def test_a_parsed_transition_equals_the_one_made_from_its_six_fields(
    make_image: Callable[..., dict[str, Any]],
    event_name: str,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    created_at: Any,
) -> None:
    serialize = TypeSerializer().serialize
    images = [None if a is None else {n: serialize(v) for n, v in make_image(**a).items()} for a in (old, new)]
    transition = parse_record(event_name, None, images[0], images[1], "4100000000000001", created_at).transition
    if transition is not None:
        assert transition == Transition(*transition[:6])
        assert transition.record_time == datetime.fromtimestamp(float(created_at), UTC)


@pytest.mark.parametrize("created_at", [None, [1], "soon", float("nan"), 1e20])
def test_an_unreadable_creation_time_is_a_malformed_record(
    make_image: Callable[..., dict[str, Any]], created_at: Any
) -> None:
    serialize = TypeSerializer().serialize
    image = {n: serialize(v) for n, v in make_image(score=9).items()}
    with pytest.raises(MalformedRecord):
        parse_record("INSERT", None, None, image, "4100000000000001", created_at)


def _plain_claim_units(transitions: list[Transition]) -> list[tuple[str, dict[str, tuple[int, int]]]]:
    """The ledger updates from :func:`ledger_claims`, written out plainly: per item, invites in groups of 60."""
    units = []
    for bucket, claim in ledger_claims(transitions).items():
        invites = sorted(claim.min_versions)
        for start in range(0, len(invites), MAX_INVITES_PER_LEDGER_UPDATE):
            chunk = invites[start : start + MAX_INVITES_PER_LEDGER_UPDATE]
            units.append((bucket, {i: (claim.min_versions[i], claim.max_versions[i]) for i in chunk}))
    return units


#: 100 invites of one ledger shard (so one item can need more than one update of 60), and 50 others.
_CLAIM_INVITES = [f"inv_{n}" for n in range(5000) if zlib.crc32(f"inv_{n}".encode()) % 16 == 0][:100] + [
    f"inv_{n}" for n in range(50)
]
claim_records = st.lists(
    st.tuples(
        st.sampled_from(_CLAIM_INVITES),
        st.integers(min_value=0, max_value=6),
        st.sampled_from([NOW, NOW.replace(second=1), NOW.replace(second=2)]),
    ),
    min_size=50,
    max_size=400,
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(claim_records)
def test_a_batchs_ledger_updates_are_its_ledger_claims(records: list[tuple[str, int, datetime]]) -> None:
    # Given a batch's records (invites repeated, in any version order, over a few seconds)
    transitions = [
        Transition(invite, version, at, str(n), None, None) for n, (invite, version, at) in enumerate(records)
    ]
    # Then the ledger updates hold each item's invites, sorted, with their lowest and highest versions
    assert aggregates._claim_units(transitions) == _plain_claim_units(transitions)
