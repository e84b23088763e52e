"""The DynamoDB item-size measure the bounded follow-up tests rely on, against the documented rules."""

from __future__ import annotations

import pytest

from tests.support.dynamodb_size import dynamodb_item_size, number_size


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"a": {"S": "xyz"}}, 1 + 3),
        ({"é": {"S": "€"}}, 2 + 3),  # names and values count UTF-8 bytes, not characters
        ({"n": {"N": "12345"}}, 1 + 3 + 1),  # one byte per two significant digits (rounded up), plus one
        ({"n": {"N": "1000"}}, 1 + 1 + 1),  # trailing zeros trimmed
        ({"n": {"N": "-0.00120"}}, 1 + 1 + 1),  # and leading ones, and the sign and point
        ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),  # raw bytes, not their base64
        ({"b": {"B": "AAEC"}}, 1 + 3),
        ({"t": {"BOOL": True}, "z": {"NULL": True}}, 2 + 2),
        ({"l": {"L": []}}, 1 + 3),
        ({"l": {"L": [{"S": "ab"}, {"N": "7"}]}}, 1 + 3 + (2 + 1) + (2 + 1)),
        ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),
        ({"s": {"SS": ["ab", "c"]}}, 1 + 3),
    ],
)
def test_item_sizes_follow_the_documented_rules(item: dict[str, dict[str, object]], size: int) -> None:
    assert dynamodb_item_size(item) == size


def test_a_nested_comment_list_counts_every_level() -> None:
    comment = {"M": {"version": {"N": "3"}, "text": {"S": "Slow support"}, "commented_at": {"S": "2026"}}}
    inner = (7 + 2 + 1) + (4 + 12 + 1) + (12 + 4 + 1)
    assert dynamodb_item_size({"comments": {"L": [comment, comment]}}) == 8 + 3 + 2 * (3 + inner + 1)


@pytest.mark.parametrize("bad", [{}, {"S": "a", "N": "1"}, {"X": 1}])
def test_a_value_that_is_not_dynamodb_json_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="type"):
        dynamodb_item_size({"a": bad})


def test_a_38_digit_number_takes_20_bytes() -> None:
    assert number_size("1" * 38) == 20
