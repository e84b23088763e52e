"""The share link's page after the score (no scripts needed) asks the survey's follow-up questions as the
email page does; the comment form records them on the same response (anonymous and identified), themes
tagged from the comment, editable within the edit window; a bad answer gets the human error page and
records nothing. Through the real share function on moto."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from functions.share import handler as share
from local.environment import LocalStack
from nps.channels.site_tokens import mint
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.integration.test_follow_up_answers import SURVEY as REASONS_SURVEY
from tests.integration.test_share_link import BROWSER, SURVEY_ID, request, responses

REASONS: dict[str, Any] = REASONS_SURVEY["reasons"]


def _reset() -> None:
    for cached in (share.settings, share.surveys, share.limiter, share.service, share.browser_script):
        cached.cache_clear()


@pytest.fixture
def stack(platform: LocalStack) -> Iterator[LocalStack]:
    _reset()
    put_survey(platform)
    yield platform
    _reset()


def put_survey(stack: LocalStack, reasons: dict[str, Any] | None = REASONS, **share_link: Any) -> Survey:
    survey = Survey.model_validate(
        {
            "survey_id": SURVEY_ID,
            "name": "Receipts",
            "brand_name": "Acme",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "locales": ["en", "de"],
            "share_link": {"enabled": True} | share_link,
        }
        | ({"reasons": reasons} if reasons is not None else {})
    )
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    share.surveys().forget()
    return survey


def answer(score: int, accept_language: str | None = None, **extra: str) -> dict[str, Any]:
    return request(
        "POST", f"/s/{SURVEY_ID}", {"score": str(score), "b": BROWSER} | extra, accept_language=accept_language
    )


def comment(text: str, score: int | None = None, **fields: str) -> dict[str, Any]:
    form = {"comment": text, "b": BROWSER} | ({"score": str(score)} if score is not None else {}) | fields
    return request("POST", f"/s/{SURVEY_ID}/comment", form)


def test_the_page_after_the_score_asks_the_questions_in_the_persons_language(stack: LocalStack) -> None:
    # When a German-speaking person answers 8
    page = answer(8, accept_language="de-DE,de;q=0.9")["body"]
    # Then the comment form asks each question as a fieldset with its legend, in German, every value a radio
    assert page.count('<fieldset class="follow-up') == 3
    assert "Was ist für Ihre Bewertung am wichtigsten?" in page
    assert 'name="driver" value="price"> Preis' in page
    assert [f'name="csat" value="{v}"' in page for v in range(1, 6)] == [True] * 5
    assert [f'name="ces" value="{v}"' in page for v in range(1, 8)] == [True] * 7
    assert "1 = sehr unzufrieden" in page
    # and, a question being answerable alone, the comment box is not required
    assert 'name="comment" required' not in page
    # and labels are escaped
    assert "Support &amp; &lt;help&gt;" not in page  # the German label is shown
    assert "<help>" not in answer(8)["body"]


def test_a_survey_without_questions_asks_only_for_the_comment(stack: LocalStack) -> None:
    put_survey(stack, reasons=None)
    page = answer(8)["body"]
    assert '<fieldset class="follow-up' not in page
    assert 'name="comment" required' in page


def test_answers_and_the_comment_are_recorded_on_the_anonymous_answer_with_its_themes(stack: LocalStack) -> None:
    answer(4)
    saved = comment("Far too expensive", 4, driver="price", csat="2", ces="3")
    assert saved["statusCode"] == 200
    (item,) = responses(stack)
    assert item["channel"] == {"S": "link_anonymous"}
    assert (item["driver"], item["csat"], item["ces"]) == ({"S": "price"}, {"N": "2"}, {"N": "3"})
    assert item["themes"] == {"L": [{"S": "price"}]}
    assert item["comment"] == {"S": "Far too expensive"}


def test_answers_on_an_identified_link_go_on_the_contacts_answer(stack: LocalStack) -> None:
    put_survey(stack, mode="identified")
    token = mint(stack.site_secret(SURVEY_ID), SURVEY_ID, "contact-9", int(time.time()) + 3600, locale="de")
    page = answer(3, t=token)["body"]
    assert "Kundendienst" in page  # the token's locale
    assert comment("Kundendienst nie erreichbar", 3, t=token, driver="support", ces="2")["statusCode"] == 200
    (item,) = responses(stack)
    assert item["channel"] == {"S": "link"}
    assert item["contact_id"] == {"S": "contact-9"}
    assert (item["driver"], item["ces"]) == ({"S": "support"}, {"N": "2"})
    assert item["themes"] == {"L": [{"S": "support"}]}


def test_answers_alone_are_saved_and_change_within_the_edit_window_only(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer(9)
    assert comment("", 9, driver="support")["statusCode"] == 200
    assert comment("", 9, driver="price", csat="5")["statusCode"] == 200
    (item,) = responses(stack)
    assert (item["driver"], item["csat"]) == ({"S": "price"}, {"N": "5"})
    assert "comment" not in item
    # After the edit window the answers on record stand; a comment is still kept
    monkeypatch.setattr(share.service(), "edit_window", timedelta(seconds=-3600))
    assert comment("The help desk", driver="support")["statusCode"] == 200
    (item,) = responses(stack)
    assert item["driver"] == {"S": "price"}
    assert item["comment"] == {"S": "The help desk"}


def test_the_service_says_which_of_the_comment_and_the_answers_were_saved(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = share.surveys().get(SURVEY_ID)
    assert found is not None
    who = share.service().respondent(found, None, BROWSER)
    answer(9)
    saved = share.service().comment(found, who, "", "9", "en", driver="support")
    assert (saved.answers_saved, saved.comment_saved) == (True, False)
    monkeypatch.setattr(share.service(), "edit_window", timedelta(seconds=-3600))
    late = share.service().comment(found, who, "", None, "en", driver="price")
    assert (late.answers_saved, late.comment_saved) == (False, False)
    assert responses(stack)[0]["driver"] == {"S": "support"}


def test_the_page_after_the_comment_form_says_what_was_saved(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer(9)
    # Answers alone are thanked for as answers, not as a comment
    alone = comment("", 9, driver="support")["body"]
    assert 'id="answers-saved"' in alone
    # Answers alone after the edit window: the page says the earlier answers stand, and thanks for nothing
    monkeypatch.setattr(share.service(), "edit_window", timedelta(seconds=-3600))
    late = comment("", 9, driver="price")["body"]
    assert 'id="answers-locked"' in late
    assert 'id="answers-saved"' not in late


def test_an_empty_comment_without_answers_shows_the_form_again_with_its_questions(stack: LocalStack) -> None:
    answer(6)
    result = comment("   ", 6)
    assert result["statusCode"] == 400
    assert 'name="driver"' in result["body"]
    assert "comment" not in responses(stack)[0]


BAD_ANSWERS = [
    {"driver": "onboarding"},
    {"driver": "Price"},  # case matters
    {"driver": ""},
    {"driver": "price" * 1000},  # huge
    {"csat": "6"},
    {"csat": "0"},
    {"csat": "\u0663"},  # Arabic-Indic three: not an ASCII digit
    {"csat": "04"},
    {"csat": "4" * 5000},  # huge
    {"ces": "8"},
    {"ces": " 5"},
    {"csat": "4", "driver": "price", "ces": "x"},  # one bad answer refuses the whole form
]


@pytest.mark.parametrize("answers", BAD_ANSWERS)
def test_a_bad_answer_gets_the_human_error_page_and_records_nothing(stack: LocalStack, answers: dict[str, str]) -> None:
    answer(6)
    (before,) = responses(stack)
    result = comment("Too expensive", 2, **answers)
    assert result["statusCode"] == 400
    assert result["headers"]["Content-Type"].startswith("text/html")
    assert "We could not save your answers" in result["body"]
    assert responses(stack) == [before]


def test_a_bad_answer_with_the_first_score_records_no_answer_either(stack: LocalStack) -> None:
    result = comment("Too expensive", 2, csat="9")
    assert result["statusCode"] == 400
    assert responses(stack) == []


def test_an_answer_to_a_question_the_survey_has_off_is_refused(stack: LocalStack) -> None:
    put_survey(stack, reasons={**REASONS, "ces": {"enabled": False}})
    assert 'name="ces"' not in answer(6)["body"]
    result = comment("Fine", 6, ces="5")
    assert result["statusCode"] == 400
    (item,) = responses(stack)
    assert "ces" not in item
    assert "comment" not in item


def test_a_survey_without_questions_refuses_every_answer(stack: LocalStack) -> None:
    put_survey(stack, reasons=None)
    answer(6)
    assert comment("Fine", 6, driver="price")["statusCode"] == 400
    assert comment("Fine", 6, csat="4")["statusCode"] == 400
    assert "comment" not in responses(stack)[0]
