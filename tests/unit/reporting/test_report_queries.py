"""The pydantic-free reader of the reporting API's queries never accepts what the models refuse, and reads
what they accept as they do (nps.reporting.queries; the report function's direct door)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from functions.report import handler
from nps.kernel.periods import Granularity
from nps.reporting import models
from nps.reporting.churn_models import ChurnQuery
from nps.reporting.queries import ROUTE_PARAMETERS, ReportQuery, RouteName, canonical_survey_id, read_query

RANGE = {"from": "2026-03-01", "to": "2026-07-31"}
MODELS: dict[RouteName, type[models.RangeQuery]] = {
    "summary": models.SliceQuery,
    "trend": models.TrendQuery,
    "segments": models.DimensionQuery,
    "channels": models.ChannelQuery,
    "comments": models.CommentsQuery,
    "export": models.ExportQuery,
    "drivers": models.DriversQuery,
    "accounts": models.AccountsQuery,
    "churn": ChurnQuery,
    "referrals": models.ReferralsQuery,
}
DAYS = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-02-30", "2026-1-01", "20260101", "2026-01-01T00:00:00", "2026-01-01\n", " 2026-01-01",
                     "0000-01-01", "2026-13-01", "１２３４-01-01", "2026-01-01Z", "1700000000", ""]),
)  # fmt: skip
SEGMENTS = st.one_of(
    st.sampled_from(["*", "plan=pro", "plan=a=b", "plan", "plan=", "=pro", "plan=\x1b[2J", "plan=x\n", "plan=\x7f",
                     "a" * 64 + "=x", "a" * 65 + "=x", "p=" + "é" * 128, "p=" + "é" * 129, "p=\ud800", "pl an=x",
                     "region=Zürich", "p=\t", "**", "p=\u2028"]),
    st.builds(lambda d, v: f"{d}={v}", st.from_regex(r"[A-Za-z0-9_.-]{1,70}", fullmatch=True), st.text(max_size=140)),
    st.text(max_size=20),
)  # fmt: skip
WORDS = st.one_of(
    st.sampled_from(["*", "email", "sms", "web", "link", "link_anonymous", "EMAIL", "email ", "day", "week", "month",
                     "quarter", "decade", "Month", "promoter", "passive", "detractor", "null", "", "plan",
                     "a" * 64, "a" * 65, "plan.tier", "plan tier", "plän"]),
    st.text(max_size=10),
)  # fmt: skip
COUNTS = st.one_of(
    st.integers(min_value=-5, max_value=12_000).map(str),
    st.sampled_from(["007", "+5", " 5", "5 ", "1e2", "5.0", "1_0", "", "٣", "100000", "99999999999999999999"]),
)
CURSORS = st.one_of(st.text(max_size=600), st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", max_size=600))
VALUES = {
    "from": DAYS, "to": DAYS, "segment": SEGMENTS, "channel": WORDS, "granularity": WORDS, "dimension": WORDS,
    "category": WORDS, "limit": COUNTS, "cursor": CURSORS,
}  # fmt: skip


@st.composite
def queries(draw: st.DrawFn) -> tuple[RouteName, dict[str, str]]:
    route: RouteName = draw(st.sampled_from(list(ROUTE_PARAMETERS)))
    names = ROUTE_PARAMETERS[route]
    present = draw(st.lists(st.sampled_from(names), unique=True)) if draw(st.booleans()) else ["from", "to"]
    parameters = {name: draw(VALUES[name]) for name in present}
    if draw(st.booleans()):
        parameters["other"] = draw(st.text(max_size=5))  # the resolver ignores parameters a route does not read
    return route, parameters


def by_the_models(route: RouteName, parameters: dict[str, str]) -> ReportQuery | None:
    """What the Powertools resolver makes of the parameters: the model's fields by alias (or name), or None."""
    model: type[BaseModel] = MODELS[route]
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        value = parameters.get(info.alias or name)
        if value is None:
            value = parameters.get(name)
        if value is not None:
            data[info.alias or name] = value
    try:
        return ReportQuery(**model.model_validate(data).model_dump())
    except (ValidationError, UnicodeEncodeError):
        return None


@settings(max_examples=600, deadline=None)
@given(queries())
@example(("summary", {"from": "2026-03-01", "to": "2026-07-31", "segment": "plan=a=b", "channel": "sms"}))
@example(("comments", {"from": "2026-03-01", "to": "2026-07-31", "limit": "100", "cursor": "x" * 512}))
@example(("export", {"from": "2026-03-01", "to": "2026-07-31", "limit": "10000"}))
@example(("trend", {"from": "2026-03-01", "to": "2026-07-31", "granularity": "week", "segment": "p=\u00e9" * 1}))
def test_what_the_reader_accepts_the_models_accept_with_the_same_values(
    case: tuple[RouteName, dict[str, str]],
) -> None:
    route, parameters = case
    # When the reader and the models read the same query
    mine = read_query(route, parameters)
    # Then the reader takes only what the models take, and reads it to the same values
    if mine is not None:
        assert by_the_models(route, parameters) == mine


@pytest.mark.parametrize(
    ("route", "parameters", "expected"),
    [
        ("summary", {"from": "2026-03-01", "to": "2026-07-31"}, {}),
        ("summary", {"from": "2026-03-01", "to": "2026-07-31", "segment": "region=Zürich", "channel": "link"}, {}),
        (
            "trend",
            {"from": "2026-03-01", "to": "2026-07-31", "granularity": "quarter"},
            {"granularity": Granularity.QUARTER},
        ),
        ("segments", {"from": "2026-03-01", "to": "2026-07-31", "dimension": "plan"}, {"dimension": "plan"}),
        ("channels", {"from": "2026-03-01", "to": "2026-07-31", "segment": "plan=pro"}, {"segment": "plan=pro"}),
        ("comments", {"from": "2026-03-01", "to": "2026-07-31", "category": "passive"}, {"limit": 20}),
        ("comments", {"from": "2026-03-01", "to": "2026-07-31", "limit": "100", "cursor": "abc"}, {"limit": 100}),
        ("export", {"from": "2026-03-01", "to": "2026-07-31"}, {"limit": 5_000}),
        ("export", {"from": "2026-03-01", "to": "2026-07-31", "limit": "10000"}, {"limit": 10_000}),
    ],
)
def test_the_documented_spellings_are_read_directly(
    route: RouteName, parameters: dict[str, str], expected: dict[str, Any]
) -> None:
    # Given a query written as docs/openapi/report.json documents it, Then the reader takes it as the models do
    query = read_query(route, parameters)
    assert query is not None
    assert query == by_the_models(route, parameters)
    for name, value in expected.items():
        assert getattr(query, name) == value


@pytest.mark.parametrize(
    ("route", "parameters"),
    [
        ("summary", {"to": "2026-07-31"}),
        ("summary", {"start": "2026-03-01", "end": "2026-07-31"}),  # the models' field names: the models decide
        ("summary", {"from": "2026-02-30", "to": "2026-07-31"}),
        ("summary", {"from": "2026-03-01", "to": "2026-07-31", "segment": "plan"}),
        ("summary", {"from": "2026-03-01", "to": "2026-07-31", "segment": "plan=pro\n"}),
        ("trend", {"from": "2026-03-01", "to": "2026-07-31", "granularity": "decade"}),
        ("segments", {"from": "2026-03-01", "to": "2026-07-31"}),
        ("comments", {"from": "2026-03-01", "to": "2026-07-31", "limit": "1000"}),
        ("comments", {"from": "2026-03-01", "to": "2026-07-31", "limit": "020"}),
        ("export", {"from": "2026-03-01", "to": "2026-07-31", "cursor": "x" * 513}),
    ],
)
def test_anything_else_is_left_to_the_models(route: RouteName, parameters: dict[str, str]) -> None:
    assert read_query(route, parameters) is None


@pytest.mark.parametrize(
    ("survey_id", "ok"),
    [("s-1", True), ("A_b-9", True), ("a" * 64, True), ("a" * 65, False), ("bad id", False), ("bad%20id!", False),
     ("", False), ("s\n", False)],
)  # fmt: skip
def test_survey_ids_follow_the_path_pattern(survey_id: str, ok: bool) -> None:
    assert canonical_survey_id(survey_id) is ok


def test_each_route_reads_the_fields_of_its_model() -> None:
    for route, model in MODELS.items():
        assert set(ROUTE_PARAMETERS[route]) == {info.alias or name for name, info in model.model_fields.items()}


def test_the_direct_answers_list_their_fields_in_the_models_order() -> None:
    # The validating door writes each answer from its model; the direct door writes it in the same order.
    def wire(model: type[BaseModel]) -> tuple[str, ...]:
        return tuple(info.serialization_alias or name for name, info in model.model_fields.items())

    assert wire(models.FiguresOut) == handler.FIGURES_FIELDS
    assert wire(models.TrendPointOut) == handler.TREND_POINT_FIELDS
    assert wire(models.SliceRowOut) == handler.SLICE_ROW_FIELDS
