"""A DynamoDB client stub that applies writes in memory and charges write units per partition key per second.

It serves the data-access code unchanged (``update_item``, ``put_item``, ``get_item``,
``transact_write_items``) for the tables of :mod:`nps.kernel.tables`, and charges every write the way
DynamoDB bills and throttles it ("Working with items: write capacity units" and "Global secondary
indexes: provisioned throughput considerations", DynamoDB developer guide):

* **Table.** One write unit per started KB of the larger of the item's sizes before and after the
  write; twice that in a transaction. Charged to the item's partition key.
* **Each global secondary index**, by the index entry (the index keys, the table keys and the projected
  attributes: all of them for ``ALL``, the listed ones for ``INCLUDE``), charged to the entry's index
  partition key:

  - an item that enters the index (a new item with the index keys, or an update that adds them): one
    put of the new entry;
  - an item that leaves it (an index key attribute removed, or the item deleted): one delete of the
    old entry;
  - an update that changes an index key value: a delete of the old entry (on the old partition) and a
    put of the new one;
  - an update that changes a projected attribute, keys unchanged: one write of the entry;
  - an update that changes nothing the index holds (the same values written again, or attributes it
    does not project): no index write. ``worst_case`` also counts these (as if every update of an item
    in the index wrote it), to show what would happen if DynamoDB did not compare values.

  Index writes of a transactional write are doubled like the table's (a conservative reading).

Condition expressions are evaluated for single-item writes (what the respond path relies on: a
repeated score writes nothing); a refused write raises ``ConditionalCheckFailedException`` like the
SDK and charges nothing here (DynamoDB charges one unit for a refused write; see
``refused_write_units``). Transactions are applied without their conditions (the replay only issues
writes that succeed).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from nps.kernel.tables import IndexSpec, TableSpec

Item = dict[str, dict[str, Any]]


def item_size(item: Item) -> int:
    """DynamoDB's size of an item in bytes: attribute names plus values (strings UTF-8, numbers ~1 byte
    per 2 digits + 1, maps and lists 3 bytes + their elements, booleans and nulls 1 byte)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(typed: dict[str, Any]) -> int:
    ((kind, value),) = typed.items()
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        return len(value.lstrip("-").replace(".", "")) // 2 + 2
    if kind == "SS":
        return sum(len(v.encode()) for v in value)
    if kind == "NS":
        return sum(len(v) // 2 + 2 for v in value)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in value.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in value)
    return 1


def units(size: int) -> int:
    """Write units of one write of an item of ``size`` bytes (1 KB units, at least one)."""
    return max(1, math.ceil(size / 1024))


class ConditionalCheckFailed(Exception):
    """Shaped like botocore's ``ClientError`` for ``ConditionalCheckFailedException``."""

    def __init__(self, item: Item | None) -> None:
        super().__init__("The conditional request failed")
        self.response: dict[str, Any] = {"Error": {"Code": "ConditionalCheckFailedException"}}
        if item is not None:
            self.response["Item"] = item


@dataclass(slots=True)
class DynamoMeter:
    """The stub. ``tables``: table name → spec, with the indexes of the deployment being metered
    (``TableSpec.deployed()``: a fresh stack's; ``deployed(True)`` adds the indexes the upgrade deploy
    keeps); only those indexes are charged. ``units`` holds write units by (second, partition) where a
    partition is ``"<table>:<key>"`` or ``"<table>/<index>:<key>"``."""

    tables: dict[str, TableSpec]
    clock: float = 0.0
    items: dict[str, dict[tuple[str, str], Item]] = field(default_factory=lambda: defaultdict(dict))
    units: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    worst_case: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    #: Largest item (bytes, partition) per table, and largest index entry per index.
    largest: dict[str, tuple[int, str]] = field(default_factory=dict)
    writes: int = 0
    transactions: int = 0
    refused_write_units: int = 0
    #: Called after each write with (table name, item key, item after); lets a caller count per batch.
    on_write: Callable[[str, tuple[str, str], Item], None] | None = None

    def client(self, service: str) -> DynamoMeter:
        return self

    # -- the SDK's calls -----------------------------------------------------------------------------
    def get_item(self, *, TableName: str, Key: Item, **_: Any) -> dict[str, Any]:
        item = self.items[TableName].get(self._key(TableName, Key))
        return {"Item": dict(item)} if item is not None else {}

    def put_item(self, *, TableName: str, Item: Item, **request: Any) -> dict[str, Any]:
        key = self._key(TableName, Item)
        before = self.items[TableName].get(key)
        self._check(request, before)
        self._write(TableName, key, before, dict(Item), factor=1)
        return {}

    def update_item(self, *, TableName: str, Key: Item, **request: Any) -> dict[str, Any]:
        key = self._key(TableName, Key)
        before = self.items[TableName].get(key)
        self._check(request, before)
        after = apply_update(before, Key, request)
        self._write(TableName, key, before, after, factor=1)
        if request.get("ReturnValues") == "ALL_NEW":
            return {"Attributes": dict(after)}
        return {}

    def delete_item(self, *, TableName: str, Key: Item, **request: Any) -> dict[str, Any]:
        key = self._key(TableName, Key)
        before = self.items[TableName].get(key)
        self._check(request, before)
        if before is not None:
            self._write(TableName, key, before, None, factor=1)
        return {}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.transactions += 1
        for action in TransactItems:
            ((verb, request),) = action.items()
            table = request["TableName"]
            if verb == "ConditionCheck":
                continue
            if verb == "Put":
                key = self._key(table, request["Item"])
                self._write(table, key, self.items[table].get(key), dict(request["Item"]), factor=2)
            elif verb == "Update":
                key = self._key(table, request["Key"])
                before = self.items[table].get(key)
                self._write(table, key, before, apply_update(before, request["Key"], request), factor=2)
            elif verb == "Delete":
                key = self._key(table, request["Key"])
                self._write(table, key, self.items[table].get(key), None, factor=2)
        return {}

    # -- bookkeeping ---------------------------------------------------------------------------------
    def seed(self, table: str, item: Item) -> None:
        """Store ``item`` as already written (no charge)."""
        self.items[table][self._key(table, item)] = dict(item)

    def forget(self, table: str, key: Item) -> None:
        """Drop an item the replay will not touch again (keeps a long replay's memory flat)."""
        self.items[table].pop(self._key(table, key), None)

    def hottest(self, prefix: str) -> tuple[int, str, int]:
        """(second, partition, write units) of the busiest second of any partition starting ``prefix``."""
        best = (0, "", 0)
        for (second, partition), charged in self.units.items():
            if partition.startswith(prefix) and charged > best[2]:
                best = (second, partition, charged)
        return best

    def hottest_worst_case(self, prefix: str) -> int:
        return max((u for (_, p), u in self.worst_case.items() if p.startswith(prefix)), default=0)

    def _key(self, table: str, item: Item) -> tuple[str, str]:
        spec = self.tables[table]
        sort = _scalar(item[spec.sort_key]) if spec.sort_key else ""
        return _scalar(item[spec.partition_key]), sort

    def _check(self, request: dict[str, Any], before: Item | None) -> None:
        expression = request.get("ConditionExpression")
        if expression and not evaluate_condition(
            expression,
            before or {},
            request.get("ExpressionAttributeNames", {}),
            request.get("ExpressionAttributeValues", {}),
        ):
            self.refused_write_units += 1
            failed = before if request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else None
            raise ConditionalCheckFailed(failed)

    def _write(self, table: str, key: tuple[str, str], before: Item | None, after: Item | None, factor: int) -> None:
        spec = self.tables[table]
        self.writes += 1
        second = int(self.clock)
        size = max(item_size(before or {}), item_size(after or {}))
        self.units[(second, f"{spec.logical_name}:{key[0]}")] += factor * units(size)
        self.worst_case[(second, f"{spec.logical_name}:{key[0]}")] += factor * units(size)
        if after is not None:
            self.items[table][key] = after
            self._largest(spec.logical_name, item_size(after), key[0])
        else:
            self.items[table].pop(key, None)
        for index in spec.indexes:
            self._charge_index(spec, index, before, after, second, factor)
        if self.on_write is not None and after is not None:
            self.on_write(table, key, after)

    def _charge_index(
        self, spec: TableSpec, index: IndexSpec, before: Item | None, after: Item | None, second: int, factor: int
    ) -> None:
        old = index_entry(spec, index, before)
        new = index_entry(spec, index, after)
        name = f"{spec.logical_name}/{index.name}"
        charges: list[tuple[str, int]] = []
        if old is not None and new is not None and _index_key(index, old) == _index_key(index, new):
            if old != new:
                charges.append((_scalar(new[index.partition_key]), max(item_size(old), item_size(new))))
            else:
                partition = f"{name}:{_scalar(new[index.partition_key])}"
                self.worst_case[(second, partition)] += factor * units(item_size(new))
        else:
            if old is not None:
                charges.append((_scalar(old[index.partition_key]), item_size(old)))
            if new is not None:
                charges.append((_scalar(new[index.partition_key]), item_size(new)))
        for partition_key, size in charges:
            self.units[(second, f"{name}:{partition_key}")] += factor * units(size)
            self.worst_case[(second, f"{name}:{partition_key}")] += factor * units(size)
        if new is not None:
            self._largest(name, item_size(new), _scalar(new[index.partition_key]))

    def _largest(self, name: str, size: int, partition: str) -> None:
        if size > self.largest.get(name, (0, ""))[0]:
            self.largest[name] = (size, partition)


def index_entry(spec: TableSpec, index: IndexSpec, item: Item | None) -> Item | None:
    """The entry ``item`` has in ``index`` (``None`` when it lacks an index key attribute: sparse)."""
    if item is None or index.partition_key not in item or (index.sort_key and index.sort_key not in item):
        return None
    keys = {spec.partition_key, spec.sort_key, index.partition_key, index.sort_key} - {None}
    if index.projection == "ALL":
        return dict(item)
    wanted = keys | set(index.include) if index.projection == "INCLUDE" else keys
    return {name: value for name, value in item.items() if name in wanted}


def _index_key(index: IndexSpec, entry: Item) -> tuple[Any, ...]:
    return entry[index.partition_key], entry.get(index.sort_key) if index.sort_key else None


def _scalar(typed: dict[str, Any]) -> str:
    ((_, value),) = typed.items()
    return str(value)


# -- update expressions ------------------------------------------------------------------------------
_CLAUSES = re.compile(r"\b(SET|ADD|REMOVE|DELETE)\b")
_FUNCTION = re.compile(r"^(if_not_exists|list_append)\((.*)\)$", re.S)


def apply_update(before: Item | None, key: Item, request: dict[str, Any]) -> Item:
    """The item after ``request``'s ``UpdateExpression`` (SET with ``if_not_exists``, ``list_append``,
    ``+``/``-``; ADD of numbers and sets; REMOVE of attributes and list elements)."""
    item: Item = dict(before) if before else dict(key)
    names = request.get("ExpressionAttributeNames", {})
    values = request.get("ExpressionAttributeValues", {})
    parts = _CLAUSES.split(request["UpdateExpression"])
    removals: list[str] = []
    for verb, body in zip(parts[1::2], parts[2::2], strict=True):
        for clause in _split_top(body):
            if verb == "SET":
                target, expression = (p.strip() for p in clause.split("=", 1))
                item[names.get(target, target)] = _operand(expression, item, names, values)
            elif verb == "ADD":
                target, value = clause.split()
                name = names.get(target, target)
                added, current = values[value], item.get(name)
                if "N" in added:
                    total = Decimal(current["N"]) + Decimal(added["N"]) if current else Decimal(added["N"])
                    item[name] = {"N": str(total)}
                else:
                    ((kind, members),) = added.items()
                    item[name] = {kind: sorted(set(current[kind] if current else []) | set(members))}
            elif verb == "REMOVE":
                removals.append(clause)
    # List elements by descending index, so earlier removals do not shift later ones.
    for clause in sorted(removals, key=lambda c: -int(c.split("[")[1].rstrip("]")) if "[" in c else 0):
        if "[" in clause:
            target, position = clause.rstrip("]").split("[")
            name = names.get(target, target)
            if name in item and int(position) < len(item[name]["L"]):
                item[name] = {"L": [v for i, v in enumerate(item[name]["L"]) if i != int(position)]}
        else:
            item.pop(names.get(clause, clause), None)
    return item


def _split_top(body: str) -> Iterable[str]:
    depth, start = 0, 0
    for position, char in enumerate(body):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            yield body[start:position].strip()
            start = position + 1
    if body[start:].strip():
        yield body[start:].strip()


def _operand(expression: str, item: Item, names: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    expression = expression.strip()
    depth = 0
    for position, char in enumerate(expression):
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and char in "+-" and position > 0:
            left = _operand(expression[:position], item, names, values)
            right = _operand(expression[position + 1 :], item, names, values)
            sign = 1 if char == "+" else -1
            return {"N": str(Decimal(left["N"]) + sign * Decimal(right["N"]))}
    function = _FUNCTION.match(expression)
    if function:
        first, second = _split_top(function.group(2))
        if function.group(1) == "if_not_exists":
            existing = item.get(names.get(first, first))
            return existing if existing is not None else _operand(second, item, names, values)
        head, tail = _operand(first, item, names, values), _operand(second, item, names, values)
        return {"L": [*head["L"], *tail["L"]]}
    source = values if expression.startswith(":") else item
    typed: dict[str, Any] = source[expression if source is values else names.get(expression, expression)]
    return typed


# -- condition expressions ---------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(\(|\)|,|<>|<=|>=|=|<|>|[#:A-Za-z_][\w#:.]*)")


def evaluate_condition(expression: str, item: Item, names: dict[str, str], values: dict[str, Any]) -> bool:
    """Whether ``item`` (empty when absent) meets a condition of AND/OR/NOT, parentheses,
    ``attribute_exists``/``attribute_not_exists``, ``size`` and comparisons of top-level attributes."""
    tokens = _TOKEN.findall(expression)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return str(tokens[position - 1])

    def disjunction() -> bool:
        result = conjunction()
        while peek() == "OR":
            take()
            result = conjunction() or result
        return result

    def conjunction() -> bool:
        result = unary()
        while peek() == "AND":
            take()
            result = unary() and result
        return result

    def unary() -> bool:
        if peek() == "NOT":
            take()
            return not unary()
        if peek() == "(":
            take()
            result = disjunction()
            take()  # ")"
            return result
        if peek() in ("attribute_exists", "attribute_not_exists"):
            function = take()
            take()  # "("
            name = take()
            take()  # ")"
            exists = names.get(name, name) in item
            return exists if function == "attribute_exists" else not exists
        left = operand()
        operator = take()
        right = operand()
        return _compare(left, operator, right)

    def operand() -> Any:
        word = take()
        if word == "size":
            take()
            name = take()
            take()
            value = item.get(names.get(name, name))
            return None if value is None else Decimal(_value_size(value))
        typed = values[word] if word.startswith(":") else item.get(names.get(word, word))
        if typed is None:
            return None
        ((kind, value),) = typed.items()
        return Decimal(value) if kind == "N" else value

    return disjunction()


def _compare(left: Any, operator: str, right: Any) -> bool:
    if left is None or right is None:
        return False  # a comparison with an absent attribute is false
    if operator == "=":
        return bool(left == right)
    if operator == "<>":
        return bool(left != right)
    if type(left) is not type(right):
        return False
    return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator])
