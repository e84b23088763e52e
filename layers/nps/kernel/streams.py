"""DynamoDB stream records: their images (DynamoDB JSON) as plain Python values.

Shared by every stream consumer (the score function, the suppression events function).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class MalformedRecord(ValueError):
    """A stream record that cannot be read as a response (sent on to the on-failure destination)."""


def plain(value: Mapping[str, Any]) -> Any:
    """One DynamoDB-JSON attribute value as plain Python (numbers as int, or float if fractional).

    Leaner than boto3's ``TypeDeserializer`` (no ``Decimal`` context), which dominates the cost of a
    stream batch otherwise. Fractional numbers stay fractional so validation rejects them as scores.
    """
    if len(value) != 1:
        raise MalformedRecord("an attribute value must have exactly one type")
    for kind, inner in value.items():
        if kind == "S":
            return inner
        if kind == "N":
            try:
                return int(inner)
            except ValueError:
                return float(inner)
        if kind == "M":
            return {k: plain(v) for k, v in inner.items()}
        if kind == "L":
            return [plain(v) for v in inner]
        if kind == "BOOL":
            return bool(inner)
        if kind == "NULL":
            return None
        if kind in ("SS", "NS", "BS", "B"):
            return inner
    raise MalformedRecord(f"unknown attribute type in {sorted(value)!r}")


def plain_image(image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stream image (DynamoDB JSON) as a plain dict, or ``None`` when absent."""
    if not image:
        return None
    out: dict[str, Any] = {}
    for name, value in image.items():
        text = value.get("S")  # most attributes are strings: skip the general path
        out[name] = text if text is not None and len(value) == 1 else plain(value)
    return out
