"""nps.events.consumed: the hand parser of ``Customer Churned`` accepts exactly the details the contract's
model accepts, with the same values, and refuses the others naming the same fields as the model's errors.

The churn function checks its events with the parser (no pydantic on its cold start); the model stays the
contract. Details are drawn from valid values, near misses (a trailing newline, one character too many, a
number for a text) and arbitrary JSON, with fields missing and unknown fields added.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nps.events.consumed import CHURN_FIELDS, CustomerChurned, DetailRefused, churn_instant, parse_customer_churned
from nps.events.models import CustomerChurnedDetail

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=2), max_leaves=3)
ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
near_ids = st.sampled_from(["", "a\n", "a b", "ana@example.com", "x" * 65, "ü"])
offsets = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
    lambda delta: timezone(timedelta(minutes=delta // timedelta(minutes=1)))
)
instants = st.one_of(
    st.datetimes(timezones=st.none() | st.just(UTC) | offsets).map(lambda at: at.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda at: at.isoformat().replace("+00:00", "Z")),
    st.dates().map(lambda day: day.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
            "2026-11-31",
            "2026-1-30",
            "next tuesday",
            "1700000000",
            "2026-11-30 10:15",
            "20261130",
            "2026-11-30T10:15:00.123456789Z",
        ]
    ),
    st.integers(),
    st.floats(allow_nan=False),
)
reasons = st.one_of(
    st.from_regex(r"\s?[A-Za-z0-9][A-Za-z0-9_.-]{0,64}\s?", fullmatch=True),
    st.sampled_from(["Price", " price ", "\u212aelvin", "price\n", "she said the price was too high", ""]),
)
churn_ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,128}", fullmatch=True)
valid_instants = st.one_of(
    st.datetimes(timezones=st.none() | st.just(UTC) | offsets).map(lambda at: at.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda at: at.isoformat().replace("+00:00", "Z")),
    st.dates().map(lambda day: day.isoformat()),
)
#: Per field: (values the contract takes, near misses and arbitrary JSON).
FIELDS: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "schema_version": (st.just("1.0"), st.sampled_from(["2.0", "1.0 ", 1.0, None])),
    "churn_id": (st.none() | churn_ids, st.sampled_from(["", "c-1\n", "c 1", "x" * 129]) | json_values),
    "contact_id": (st.none() | ids, near_ids | json_values),
    "account_id": (st.none() | ids, near_ids | json_values),
    "churned_at": (valid_instants, instants | json_values),
    "reason": (st.none() | reasons, reasons | json_values),
}


@st.composite
def details(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    detail: dict[str, Any] = {}
    for name, (valid, other) in FIELDS.items():
        # Mostly values the contract takes, so about half the details are valid; each field may be missing.
        choice = draw(st.integers(0, 11))
        if choice:
            detail[name] = draw(other if choice == 1 else valid)
    if draw(st.integers(0, 9)) == 0:
        detail[draw(st.sampled_from(["email", "note", "", "Contact_id", "a.b"]))] = draw(json_values)
    return detail


def model_fields_at_fault(error: ValidationError) -> tuple[str, ...]:
    """The fields the churn function named from the model's errors (the reason it logs)."""
    return tuple(sorted({".".join(str(part) for part in e["loc"]) or "detail" for e in error.errors()}))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(details())
def test_the_parser_accepts_exactly_what_the_model_accepts_with_the_same_values(detail: Any) -> None:
    # Given any detail, When both the model and the hand parser read it
    model: CustomerChurnedDetail | None = None
    at_fault: tuple[str, ...] = ()
    try:
        model = CustomerChurnedDetail.model_validate(detail)
    except ValidationError as error:
        at_fault = model_fields_at_fault(error)
    if model is None:
        # Then a detail the model refuses is refused, naming the same fields
        with pytest.raises(DetailRefused) as refused:
            parse_customer_churned(detail)
        assert refused.value.fields == at_fault
        return
    # Then a detail the model accepts is accepted, with the model's values
    parsed = parse_customer_churned(detail)
    assert parsed == CustomerChurned(**model.model_dump())
    assert parsed.churned_at.utcoffset() == timedelta(0)


def test_the_parser_names_fields_never_values() -> None:
    detail = {"contact_id": "ana@example.com", "churned_at": "soon", "reason": "she left", "note": "secret"}
    with pytest.raises(DetailRefused) as refused:
        parse_customer_churned(detail)
    assert refused.value.fields == ("churned_at", "contact_id", "note", "reason")
    assert "ana" not in str(refused.value)
    assert "secret" not in str(refused.value)


def test_a_detail_naming_nobody_is_refused_as_a_whole() -> None:
    with pytest.raises(DetailRefused) as refused:
        parse_customer_churned({"churned_at": "2026-11-30", "reason": "price"})
    assert refused.value.fields == ("detail",)


@pytest.mark.parametrize("value", [1700000000, 1.7e9, True, None, "0001-01-01T00:30:00+01:00", "not a time"])
def test_a_churn_instant_that_is_not_iso_8601_text_or_outside_utc_is_refused(value: object) -> None:
    # A number is no ISO 8601 date (the JSON Schema's type is a string); an instant before year 1 in UTC
    # cannot be held: both are refused, by the parser and the model alike.
    with pytest.raises(ValueError, match="churned_at"):
        churn_instant(value)
    assert set(CHURN_FIELDS) == set(CustomerChurnedDetail.model_fields)
    with pytest.raises(ValidationError):
        CustomerChurnedDetail.model_validate({"account_id": "acme", "churned_at": value})
