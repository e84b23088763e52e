"""The web prompt asks the survey's follow-up questions after the score: the eligibility answer carries them
in the prompt's locale, the comment request records them on the same response (themes tagged from the
comment), editable within the edit window; a bad answer is a structured 400 and records nothing. Through
the real web function on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from functions.web import handler as web_function
from local.environment import LocalStack
from nps.kernel import aws
from tests.integration.test_follow_up_answers import SURVEY as REASONS_SURVEY
from tests.support.web import SURVEY_ID, WebReply, call, contact_token, put_web_survey

REASONS: dict[str, Any] = REASONS_SURVEY["reasons"]


@pytest.fixture
def web(platform: LocalStack) -> Iterator[LocalStack]:
    web_function.service.cache_clear()
    put_web_survey(platform, reasons=REASONS)
    yield platform
    web_function.service.cache_clear()


def prompt_of(stack: LocalStack, contact_id: str, **claims: Any) -> WebReply:
    token = contact_token(stack, contact_id, **claims)
    reply = call(SURVEY_ID, "eligibility", {"contact_token": token, "url": "https://app.example.com/app"})
    assert reply.status == 200, reply
    assert reply.body["show"] is True, reply
    return reply


def answered(stack: LocalStack, contact_id: str, score: int = 6, **claims: Any) -> str:
    """A shown prompt answered with ``score``: its ask token."""
    token: str = prompt_of(stack, contact_id, **claims).body["ask_token"]
    assert call(SURVEY_ID, "responses", {"ask_token": token, "score": score}).status == 200
    return token


def responses(stack: LocalStack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(TableName=stack.tables["responses"], ConsistentRead=True)[
        "Items"
    ]
    return items


def test_the_eligibility_answer_carries_the_questions_in_the_prompts_locale(web: LocalStack) -> None:
    # Given a web survey asking a driver, CSAT and CES
    # When a German-speaking contact is shown the prompt
    reply = prompt_of(web, "c-de", locale="de")
    # Then the prompt carries the three questions in German, with the scales' meaning, without another request
    questions = reply.body["prompt"]["questions"]
    assert questions["driver"] == {
        "question": "Was ist für Ihre Bewertung am wichtigsten?",
        "choices": [{"id": "price", "label": "Preis"}, {"id": "support", "label": "Kundendienst"}],
    }
    assert questions["csat"]["question"] == "Wie zufrieden sind Sie insgesamt mit Acme?"
    assert questions["csat"]["low"] == "1 = sehr unzufrieden"
    assert questions["ces"]["high"] == "7 = stimme voll und ganz zu"


def test_only_the_questions_the_survey_has_on_are_carried(web: LocalStack) -> None:
    put_web_survey(web, reasons={**REASONS, "csat": {"enabled": False}, "drivers": []})
    assert set(prompt_of(web, "c-off").body["prompt"]["questions"]) == {"ces"}
    put_web_survey(web)  # no reasons block
    assert "questions" not in prompt_of(web, "c-none").body["prompt"]


def test_twenty_long_drivers_keep_the_eligibility_answer_small(web: LocalStack) -> None:
    # The largest block a definition allows: 20 drivers with 80-character labels, 300-character texts
    drivers = [{"id": f"d{i}", "label": {"en": "Ä" * 80, "de": "Ö" * 80}} for i in range(20)]
    text = {"en": "Q" * 300, "de": "F" * 300}
    put_web_survey(
        web,
        reasons={
            "drivers": drivers,
            "driver_question": text,
            "csat": {"question": text},
            "ces": {"statement": text},
        },
    )
    reply = prompt_of(web, "c-big")
    size = len(json.dumps(reply.body, ensure_ascii=False).encode("utf-8"))
    assert len(reply.body["prompt"]["questions"]["driver"]["choices"]) == 20
    assert size < 6 * 1024  # one response, well under any limit that matters for a page load


def test_answers_and_the_comment_are_recorded_on_the_same_response_with_its_themes(web: LocalStack) -> None:
    token = answered(web, "c-1", 4)
    # When the comment step sends the comment with a driver, CSAT and CES
    reply = call(
        SURVEY_ID,
        "comments",
        {"ask_token": token, "comment": "Far too expensive", "score": 4, "driver": "price", "csat": 2, "ces": 3},
    )
    # Then the one response holds them all, the comment tagged with the survey's themes
    assert (reply.status, reply.body) == (200, {"recorded": True})
    (stored,) = responses(web)
    assert stored["channel"] == {"S": "web"}
    assert stored["score"] == {"N": "4"}
    assert (stored["driver"], stored["csat"], stored["ces"]) == ({"S": "price"}, {"N": "2"}, {"N": "3"})
    assert stored["themes"] == {"L": [{"S": "price"}]}
    assert stored["comment"] == {"S": "Far too expensive"}


def test_answers_alone_are_saved_and_change_within_the_edit_window_only(
    web: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = answered(web, "c-2", 9)
    # When the person answers the questions without a comment, then changes one
    assert call(SURVEY_ID, "comments", {"ask_token": token, "driver": "support", "score": 9}).status == 200
    assert call(SURVEY_ID, "comments", {"ask_token": token, "driver": "price", "ces": 7, "comment": " "}).status == 200
    (stored,) = responses(web)
    assert (stored["driver"], stored["ces"]) == ({"S": "price"}, {"N": "7"})
    assert "comment" not in stored
    assert "themes" not in stored
    # And after the edit window the answers on record stand, while a comment is still kept
    monkeypatch.setattr(web_function.service(), "edit_window", timedelta(seconds=-3600))
    assert call(SURVEY_ID, "comments", {"ask_token": token, "driver": "support", "comment": "Help desk"}).status == 200
    (stored,) = responses(web)
    assert stored["driver"] == {"S": "price"}
    assert stored["comment"] == {"S": "Help desk"}
    assert stored["themes"] == {"L": [{"S": "support"}]}


def test_answers_alone_after_the_edit_window_are_refused_not_thanked_for(
    web: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given answers on record and an edit window that has closed
    token = answered(web, "c-late", 9)
    assert call(SURVEY_ID, "comments", {"ask_token": token, "driver": "support", "csat": 5}).status == 200
    monkeypatch.setattr(web_function.service(), "edit_window", timedelta(seconds=-3600))
    # When answers arrive alone (the widget sends the score with them)
    reply = call(SURVEY_ID, "comments", {"ask_token": token, "driver": "price", "csat": 1, "score": 9})
    # Then the reply says they were not recorded (not {"recorded": true}), and the answers on record stand
    assert (reply.status, reply.body["error"]["code"]) == (409, "edit_window_closed")
    (stored,) = responses(web)
    assert (stored["driver"], stored["csat"]) == ({"S": "support"}, {"N": "5"})
    assert "comment" not in stored


def test_neither_a_comment_nor_an_answer_is_a_bad_request(web: LocalStack) -> None:
    token = answered(web, "c-3")
    reply = call(SURVEY_ID, "comments", {"ask_token": token, "score": 6})
    assert reply.status == 400
    assert reply.body["error"]["code"] == "bad_request"
    empty = call(SURVEY_ID, "comments", {"ask_token": token, "comment": "  "})
    assert (empty.status, empty.body["error"]["code"]) == (422, "bad_comment")


BAD_ANSWERS: list[tuple[dict[str, Any], str]] = [
    ({"driver": "onboarding"}, "unknown_driver"),
    ({"driver": "Price"}, "unknown_driver"),  # case matters
    ({"driver": ""}, "unknown_driver"),
    ({"driver": 1}, "unknown_driver"),
    ({"driver": ["price"]}, "unknown_driver"),
    ({"driver": "price" * 3000}, "unknown_driver"),  # huge
    ({"csat": 0}, "csat_out_of_range"),
    ({"csat": 6}, "csat_out_of_range"),
    ({"csat": -1}, "csat_out_of_range"),
    ({"csat": 4.0}, "csat_out_of_range"),
    ({"csat": True}, "csat_out_of_range"),
    ({"csat": "4"}, "csat_out_of_range"),  # an integer, as the score is
    ({"csat": "\u0663"}, "csat_out_of_range"),  # Arabic-Indic three
    ({"csat": 10**300}, "csat_out_of_range"),  # huge
    ({"ces": 8}, "ces_out_of_range"),
    ({"ces": {"value": 5}}, "ces_out_of_range"),
    ({"ces": "٥"}, "ces_out_of_range"),
    ({"csat": 4, "driver": "price", "ces": 9}, "ces_out_of_range"),  # one bad answer refuses them all
]


@pytest.mark.parametrize(("answers", "code"), BAD_ANSWERS)
def test_a_bad_answer_is_a_structured_400_and_records_nothing(
    web: LocalStack, answers: dict[str, Any], code: str
) -> None:
    # Given a prompt answered 6
    token = answered(web, "c-bad", 6)
    (before,) = responses(web)
    # When the comment step sends a bad answer with a comment and another score
    reply = call(SURVEY_ID, "comments", {"ask_token": token, "comment": "Too expensive", "score": 2} | answers)
    # Then the API says which answer, in its error shape, and the response is as it was
    assert reply.status == 400
    assert reply.body["error"]["code"] == code
    assert set(reply.body["error"]) == {"code", "message"}
    assert reply.headers["access-control-allow-origin"] == "https://app.example.com"
    assert responses(web) == [before]


def test_a_bad_answer_with_the_first_score_records_no_answer_either(web: LocalStack) -> None:
    token: str = prompt_of(web, "c-first").body["ask_token"]
    reply = call(SURVEY_ID, "comments", {"ask_token": token, "score": 9, "csat": 9})
    assert (reply.status, reply.body["error"]["code"]) == (400, "csat_out_of_range")
    assert responses(web) == []


def test_an_answer_to_a_question_the_survey_has_off_is_refused(web: LocalStack) -> None:
    put_web_survey(web, reasons={**REASONS, "ces": {"enabled": False}})
    token = answered(web, "c-off")
    reply = call(SURVEY_ID, "comments", {"ask_token": token, "ces": 5, "comment": "Fine"})
    assert (reply.status, reply.body["error"]["code"]) == (400, "question_not_asked")
    (stored,) = responses(web)
    assert "ces" not in stored
    assert "comment" not in stored


def test_a_survey_without_questions_refuses_every_answer(web: LocalStack) -> None:
    put_web_survey(web)
    token = answered(web, "c-plain")
    for answers, code in (({"driver": "price"}, "unknown_driver"), ({"csat": 4}, "question_not_asked")):
        reply = call(SURVEY_ID, "comments", {"ask_token": token, "comment": "Fine"} | answers)
        assert (reply.status, reply.body["error"]["code"]) == (400, code)
    (stored,) = responses(web)
    assert "comment" not in stored
    # while a plain comment is saved as before
    assert call(SURVEY_ID, "comments", {"ask_token": token, "comment": "Fine"}).status == 200


def test_the_questions_and_the_answers_errors_have_the_documented_shape(web: LocalStack) -> None:
    from functions.web import openapi

    reply = prompt_of(web, "c-doc")
    assert openapi.Show.model_validate(reply.body).prompt.questions is not None
    token = reply.body["ask_token"]
    openapi.CommentRequest.model_validate({"ask_token": token, "driver": "price", "csat": 5, "ces": 1})
    for answers, _ in BAD_ANSWERS[:1] + BAD_ANSWERS[6:7] + BAD_ANSWERS[14:15]:
        openapi.Error.model_validate(call(SURVEY_ID, "comments", {"ask_token": token, "comment": "x"} | answers).body)
