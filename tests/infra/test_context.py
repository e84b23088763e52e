"""CDK context values as ``cdk deploy -c key=value`` passes them (text) or cdk.json holds them (JSON)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.config import StackConfig, deliver_concurrency, keep_retiring_indexes, trigger_detail_types

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


# --------------------------------------------------------------------------------------------------
# Numeric settings: a throttle, rate, lifetime or alarm figure that is not a usable number stops the synth
# --------------------------------------------------------------------------------------------------


class _Node:
    """What :meth:`StackConfig.from_context` reads of a CDK node: its context values."""

    def __init__(self, context: dict[str, object]) -> None:
        self.context = context

    def try_get_context(self, name: str) -> object:
        return self.context.get(name)


def _config(context: dict[str, object]) -> StackConfig:
    return StackConfig.from_context(_Node(context))  # type: ignore[arg-type]


NUMERIC_SETTINGS = (
    "sendRatePerSecond",
    "apiRateLimit",
    "apiBurstLimit",
    "linkLifetimeDays",
    "logRetentionDays",
    "alarmWindowHours",
    "detractorShareAlarm",
    "alarmMinResponses",
)


@settings(max_examples=150)
@given(
    name=st.sampled_from(NUMERIC_SETTINGS),
    value=st.one_of(
        st.sampled_from(["", "fast", "nan", "inf", "-inf", "1e400", "0", "-5", "10 000", "ten"]),
        st.floats(max_value=-0.01, allow_nan=False),
        st.just(float("nan")),
        st.just(float("inf")),
        st.booleans(),
    ),
)
def test_a_numeric_setting_that_is_not_a_usable_number_stops_the_synth_naming_it(name: str, value: object) -> None:
    if name in ("detractorShareAlarm", "alarmMinResponses") and value in ("0", False):
        return  # 0 % and 0 responses are usable alarm settings
    with pytest.raises(ValueError, match=f"^{name} must be"):
        _config({name: value})


@pytest.mark.parametrize("name", ["apiRateLimit", "apiBurstLimit", "linkLifetimeDays", "alarmWindowHours"])
def test_a_whole_number_setting_refuses_a_fraction(name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be a whole number"):
        _config({name: "2.5"})


def test_a_send_rate_deliver_cannot_reach_is_refused_as_the_send_rate() -> None:
    # 1,000 deliver instances (SQS's maximum) of 5 sends a second each
    with pytest.raises(ValueError, match=r"^sendRatePerSecond must be at least .* and at most 5000"):
        _config({"sendRatePerSecond": "6000"})
    assert _config({"sendRatePerSecond": "5000"}).api_rate_limit == 25_000


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({}, (10.0, 50, 100)),
        ({"sendRatePerSecond": "200"}, (200.0, 1000, 2000)),
        ({"sendRatePerSecond": 0.5, "apiRateLimit": "300"}, (0.5, 300, 600)),
        ({"apiRateLimit": 80, "apiBurstLimit": "90"}, (10.0, 80, 90)),
        ({"sendRatePerSecond": " 12.5 "}, (12.5, 63, 126)),
    ],
)
def test_rates_and_throttles_from_text_or_numbers(context: dict[str, object], expected: tuple[float, int, int]) -> None:
    config = _config(context)
    assert (config.send_rate_per_second, config.api_rate_limit, config.api_burst_limit) == expected
