"""CDK context values as ``cdk deploy -c key=value`` passes them (text) or cdk.json holds them (JSON)."""

from __future__ import annotations

import pytest

from infra.config import deliver_concurrency, keep_retiring_indexes, trigger_detail_types

DEFAULT = ("Ticket Closed", "Order Delivered")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT),
        ('["Ticket Closed"]', ("Ticket Closed",)),
        (["Ticket Closed", "Renewal Signed"], ("Ticket Closed", "Renewal Signed")),
        ('  ["Order Delivered"] ', ("Order Delivered",)),
    ],
)
def test_trigger_detail_types_from_json_text_or_a_list(value: object, expected: tuple[str, ...]) -> None:
    assert trigger_detail_types(value, DEFAULT) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("Ticket Closed", "must be a JSON list"),  # -c triggerDetailTypes=Ticket Closed, unquoted JSON
        ("[Ticket Closed]", "quote it for the shell"),
        ('"Ticket Closed"', "non-empty JSON list"),
        ('{"Ticket Closed": 1}', "non-empty JSON list"),
        ("[]", "non-empty JSON list"),
        ('["Ticket Closed", 3]', "entries must be non-empty strings"),
        ('["Ticket Closed", " "]', "entries must be non-empty strings"),
    ],
)
def test_trigger_detail_types_that_are_not_a_list_of_names_stop_the_synth(value: str, words: str) -> None:
    with pytest.raises(ValueError, match="triggerDetailTypes") as refused:
        trigger_detail_types(value, DEFAULT)
    assert words in str(refused.value)


@pytest.mark.parametrize(("value", "expected"), [(None, 2), ("2", 2), (5, 5), ("1000", 1000)])
def test_deliver_concurrency_from_text_or_a_number(value: object, expected: int) -> None:
    assert deliver_concurrency(value) == expected


@pytest.mark.parametrize("value", ["1", 0, "-3", "1001", "two", "2.5"])
def test_deliver_concurrency_outside_what_sqs_allows_stops_the_synth(value: object) -> None:
    # SQS runs at least two instances of an event source's function: 1 is refused, not raised to 2
    with pytest.raises(ValueError, match="deliverConcurrency must be"):
        deliver_concurrency(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), (False, False), (True, True), ("true", True), ("True", True), ("false", False), ("1", True)],
)
def test_keep_retiring_indexes_from_text_or_a_boolean(value: object, expected: bool) -> None:
    assert keep_retiring_indexes(value) is expected


@pytest.mark.parametrize("value", ["ture", "keep", "2", "on"])
def test_a_misspelt_keep_retiring_indexes_stops_the_synth(value: object) -> None:
    # A typo must not deploy without the indexes an upgrading stack still reads (or fail half-way).
    with pytest.raises(ValueError, match="keepRetiringIndexes must be true or false"):
        keep_retiring_indexes(value)


def test_the_stack_refuses_a_misspelt_keep_retiring_indexes() -> None:
    from infra.app import build_app

    with pytest.raises(ValueError, match="keepRetiringIndexes"):
        build_app({"keepRetiringIndexes": "treu"})
