"""nps.reasons.answers: follow-up answers from untrusted strings, strictly, with typed errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.reasons.answers import (
    CesOutOfRange,
    CsatOutOfRange,
    FollowUpAnswers,
    InvalidAnswer,
    QuestionNotAsked,
    UnknownDriver,
    parse_answers,
    parse_ces,
    parse_csat,
    parse_driver,
)
from nps.reasons.definition import Reasons
from nps.reasons.questions import FollowUpQuestions


@dataclass(frozen=True)
class PageCopy:
    """A plain copy of a survey's drivers, as a page without pydantic would carry them."""

    driver_ids: frozenset[str]


REASONS = Reasons.model_validate(
    {"drivers": [{"id": "price", "label": {"en": "Price"}}, {"id": "support", "label": {"en": "Support"}}]}
)


@pytest.mark.parametrize("source", [REASONS, PageCopy(frozenset({"price", "support"}))])
def test_a_driver_of_the_survey_is_accepted(source: PageCopy | Reasons) -> None:
    assert parse_driver(source, "price") == "price"
    assert parse_driver(source, "support") == "support"


@pytest.mark.parametrize("raw", [None, "", "Price", " price", "price ", "price\x00", "delivery", "p" * 10_000])
def test_anything_else_is_an_unknown_driver(raw: str | None) -> None:
    with pytest.raises(UnknownDriver) as error:
        parse_driver(REASONS, raw)
    assert (error.value.code, error.value.field) == ("unknown_driver", "driver")
    # The message never repeats the untrusted input
    assert raw is None or not raw.strip() or raw not in str(error.value)


def test_a_survey_without_drivers_accepts_none() -> None:
    with pytest.raises(UnknownDriver):
        parse_driver(Reasons(), "price")


@pytest.mark.parametrize("value", range(1, 6))
def test_every_csat_value_is_accepted(value: int) -> None:
    assert parse_csat(str(value)) == value


@pytest.mark.parametrize("value", range(1, 8))
def test_every_ces_value_is_accepted(value: int) -> None:
    assert parse_ces(str(value)) == value


@pytest.mark.parametrize("raw", [None, "", "0", "6", "10", "-1", "+4", " 4", "4 ", "04", "4.0", "٤", "４", "four"])
def test_a_csat_outside_one_digit_from_1_to_5_is_refused(raw: str | None) -> None:
    with pytest.raises(CsatOutOfRange) as error:
        parse_csat(raw)
    assert (error.value.code, error.value.field) == ("csat_out_of_range", "csat")


@pytest.mark.parametrize("raw", [None, "", "0", "8", "17", "+7", "7\n", "07", "7.0", "٧", "۷", "seven"])
def test_a_ces_outside_one_digit_from_1_to_7_is_refused(raw: str | None) -> None:
    with pytest.raises(CesOutOfRange) as error:
        parse_ces(raw)
    assert (error.value.code, error.value.field) == ("ces_out_of_range", "ces")


def test_an_answer_to_a_question_not_asked_is_refused_even_when_in_range() -> None:
    with pytest.raises(QuestionNotAsked) as csat:
        parse_csat("5", asked=False)
    with pytest.raises(QuestionNotAsked) as ces:
        parse_ces("7", asked=False)
    assert (csat.value.code, csat.value.field, ces.value.field) == ("question_not_asked", "csat", "ces")


@given(st.text(max_size=5))
def test_any_string_is_a_scale_value_exactly_when_it_is_one_of_the_digits(raw: str) -> None:
    for parse, valid in ((parse_csat, {"1", "2", "3", "4", "5"}), (parse_ces, {"1", "2", "3", "4", "5", "6", "7"})):
        if raw in valid:
            assert parse(raw) == int(raw)
        else:
            with pytest.raises(InvalidAnswer):
                parse(raw)


@given(st.text(max_size=20))
def test_any_string_is_a_driver_exactly_when_it_is_an_id(raw: str) -> None:
    if raw in REASONS.driver_ids:
        assert parse_driver(REASONS, raw) == raw
    else:
        with pytest.raises(UnknownDriver):
            parse_driver(REASONS, raw)


QUESTIONS = FollowUpQuestions(
    locale="en", drivers=(("price", "Price"),), driver_question="Why?", csat_question="Satisfied?"
)


def test_absent_fields_are_no_answers() -> None:
    assert parse_answers(QUESTIONS, None, None, None) == FollowUpAnswers()
    assert not FollowUpAnswers().any


def test_the_answers_to_the_questions_asked_are_parsed() -> None:
    answers = parse_answers(QUESTIONS, "price", "5", None)
    assert answers == FollowUpAnswers(driver="price", csat=5)
    assert answers.any


@pytest.mark.parametrize(
    ("questions", "fields", "error"),
    [
        (QUESTIONS, ("support", None, None), UnknownDriver),
        (QUESTIONS, (None, "6", None), CsatOutOfRange),
        (QUESTIONS, (None, None, "5"), QuestionNotAsked),  # the invite asks no CES
        (None, ("price", None, None), UnknownDriver),  # an older invite asks nothing
        (None, (None, "4", None), QuestionNotAsked),
        (None, (None, None, "4"), QuestionNotAsked),
    ],
)
def test_an_answer_the_questions_do_not_allow_is_refused(
    questions: FollowUpQuestions | None, fields: tuple[str | None, str | None, str | None], error: type[InvalidAnswer]
) -> None:
    with pytest.raises(error):
        parse_answers(questions, *fields)


@given(csat=st.text(max_size=3), ces=st.text(max_size=3))
def test_parsed_answers_are_always_in_range(csat: str, ces: str) -> None:
    questions = FollowUpQuestions(locale="en", csat_question="S?", ces_statement="E?")
    try:
        answers = parse_answers(questions, None, csat, ces)
    except InvalidAnswer:
        return
    assert answers.csat is not None
    assert 1 <= answers.csat <= 5
    assert answers.ces is not None
    assert 1 <= answers.ces <= 7
    assert csat.isascii()
    assert ces.isascii()
