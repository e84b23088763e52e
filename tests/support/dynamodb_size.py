"""The size of a DynamoDB item as DynamoDB counts it against the 400 KB item limit (moto does not).

Per the AWS documentation "DynamoDB item sizes and formats": the item is the sum of its attribute names
(UTF-8 bytes) and values. A string counts its UTF-8 bytes; a number about one byte per two significant
digits plus one (leading and trailing zeros trimmed); binary its raw bytes; a Boolean or null one byte;
a list or map 3 bytes plus each element with 1 byte of overhead (a map element also its name). Sets
count their elements. Numbers round up, so the estimate is never below what DynamoDB counts.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

#: DynamoDB's item size limit (400 KB, counted in binary kilobytes).
ITEM_LIMIT_BYTES = 400 * 1024


def dynamodb_item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes of an item in DynamoDB JSON (``{"name": {"S": "..."}}``, as boto3's client returns it)."""
    return sum(_utf8(name) + attribute_size(value) for name, value in item.items())


def attribute_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value (without its name); ``ValueError`` for a value that is not DynamoDB JSON."""
    if len(value) != 1:
        raise ValueError(f"an attribute value has exactly one type, not {sorted(value)}")
    ((kind, inner),) = value.items()
    if kind == "S":
        return _utf8(inner)
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return len(_raw(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(v) for v in inner)
    if kind == "NS":
        return sum(number_size(v) for v in inner)
    if kind == "BS":
        return sum(len(_raw(v)) for v in inner)
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(_utf8(k) + attribute_size(v) + 1 for k, v in inner.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def number_size(text: str) -> int:
    """Bytes of a number given as DynamoDB sends it (``"-12.50"``, ``"1E+3"``)."""
    mantissa = text.strip().lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0").rstrip("0")
    return math.ceil(max(1, len(digits)) / 2) + 1


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _raw(value: bytes | str) -> bytes:
    """Binary as boto3 hands it over (bytes) or as JSON carries it (base64 text)."""
    return value if isinstance(value, bytes) else base64.b64decode(value)
