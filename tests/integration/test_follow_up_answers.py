"""The page after one tap asks the survey's follow-up questions; answers and comment themes land on the
same response in one write; bad answers record nothing and get a human page."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from functions.respond import handler as respond
from local.environment import LocalStack
from nps.kernel import aws
from nps.reasons.questions import FollowUpQuestions
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.support.taps import IssuedInvite, issue_invite

SURVEY: dict[str, Any] = {
    "survey_id": "survey-1",
    "name": "Reasons",
    "brand_name": "Acme",
    "sender": "surveys@example.com",
    "channels": ["email"],
    "locales": ["en", "de"],
    "reasons": {
        "drivers": [
            {"id": "price", "label": {"en": "Price", "de": "Preis"}},
            {"id": "support", "label": {"en": "Support & <help>", "de": "Kundendienst"}},
        ],
        "csat": {"enabled": True},
        "ces": {"enabled": True},
        "themes": [
            {"id": "price", "label": {"en": "Price", "de": "Preis"},
             "phrases": {"en": ["price", "too expensive"], "de": ["Preis", "zu teuer"]}},
            {"id": "support", "label": {"en": "Support", "de": "Support"},
             "phrases": {"en": ["support", "help desk"], "de": ["Kundendienst"]}},
        ],
    },
}  # fmt: skip


def put_survey(stack: LocalStack, **changes: Any) -> Survey:
    survey = Survey.model_validate(SURVEY | changes)
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    return survey


def invite_with_questions(stack: LocalStack, invite_id: str, locale: str = "en", **changes: Any) -> IssuedInvite:
    survey = put_survey(stack, **changes)
    questions = survey.follow_up_questions(locale) if locale in survey.locales else None
    return issue_invite(stack, invite_id, locale=locale, questions=questions)


def item(stack: LocalStack, invite_id: str) -> dict[str, Any]:
    found: dict[str, Any] = aws.client("dynamodb").get_item(
        TableName=stack.tables["responses"], Key={"invite_id": {"S": invite_id}}, ConsistentRead=True
    )["Item"]
    return found


def test_the_page_asks_the_invites_questions_as_labelled_radio_groups_in_its_locale(platform: LocalStack) -> None:
    # Given an invite in German whose survey asks a driver, CSAT and CES
    invite = invite_with_questions(platform, "inv-q1", locale="de")
    # When the person taps 8
    page = invite.open(8)["body"]
    # Then the comment form asks each question as a fieldset with its legend, in German, with every value
    assert page.count('<fieldset class="follow-up') == 3
    assert "Was ist für Ihre Bewertung am wichtigsten?" in page
    assert 'name="driver" value="price"> Preis' in page
    assert "Wie zufrieden sind Sie insgesamt mit Acme?" in page
    assert [f'name="csat" value="{v}"' in page for v in range(1, 6)] == [True] * 5
    assert 'name="csat" value="6"' not in page
    assert [f'name="ces" value="{v}"' in page for v in range(1, 8)] == [True] * 7
    assert "1 = sehr unzufrieden" in page
    assert "7 = stimme voll und ganz zu" in page
    # and, a question being answerable alone, the comment box is no longer required
    assert 'name="comment" required' not in page


def test_labels_are_escaped(platform: LocalStack) -> None:
    invite = invite_with_questions(platform, "inv-q2")
    page = invite.open(8)["body"]
    assert "Support &amp; &lt;help&gt;" in page
    assert "<help>" not in page


def test_an_older_invite_without_questions_asks_only_for_the_comment(platform: LocalStack) -> None:
    # Given an invite planned before follow-up questions existed
    put_survey(platform)
    invite = issue_invite(platform, "inv-q3")
    page = invite.open(5)["body"]
    assert '<fieldset class="follow-up' not in page
    assert 'name="comment" required' in page


def test_answers_and_the_comment_are_recorded_on_the_same_response_with_its_themes(platform: LocalStack) -> None:
    # Given an answered invite
    invite = invite_with_questions(platform, "inv-q4")
    assert invite.tap(4)["statusCode"] == 200
    before = int(item(platform, "inv-q4")["version"]["N"])
    # When the form comes back with a comment, a driver, CSAT and CES
    result = invite.comment(
        "Far too expensive, and the help desk never called", 4, {"driver": "price", "csat": "2", "ces": "3"}
    )
    # Then one write put everything on the one response, the comment tagged with the survey's themes
    assert result["statusCode"] == 200
    stored = item(platform, "inv-q4")
    assert int(stored["version"]["N"]) == before + 1
    assert stored["driver"] == {"S": "price"}
    assert stored["csat"] == {"N": "2"}
    assert stored["ces"] == {"N": "3"}
    assert stored["themes"] == {"L": [{"S": "price"}, {"S": "support"}]}
    assert stored["comment"]["S"].startswith("Far too expensive")


def test_answers_alone_are_saved_and_a_later_answer_replaces_one_within_the_window(platform: LocalStack) -> None:
    invite = invite_with_questions(platform, "inv-q5")
    invite.tap(9)
    # When the person sends a driver without a comment, then changes it and adds a CES
    assert invite.comment("", 9, {"driver": "support"})["statusCode"] == 200
    assert invite.comment("", 9, {"driver": "price", "ces": "7"})["statusCode"] == 200
    stored = item(platform, "inv-q5")
    # Then the latest driver stands, the CES is added, and no comment or themes were written
    assert stored["driver"] == {"S": "price"}
    assert stored["ces"] == {"N": "7"}
    assert "comment" not in stored
    assert "themes" not in stored


def test_an_answer_after_the_edit_window_leaves_the_one_on_record_and_keeps_the_comment(
    platform: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    invite = invite_with_questions(platform, "inv-q5b")
    invite.tap(9)
    invite.comment("", 9, {"driver": "support"})
    # When the edit window has closed (it is shorter than the time since the first answer)
    monkeypatch.setattr(respond.service(), "edit_window", timedelta(seconds=-3600))
    result = invite.comment("Support was slow", 9, {"driver": "price"})
    stored = item(platform, "inv-q5b")
    assert result["statusCode"] == 200
    assert stored["driver"] == {"S": "support"}
    assert stored["comment"] == {"S": "Support was slow"}
    assert stored["themes"] == {"L": [{"S": "support"}]}
    # and the page says the comment is saved and the answers on record stand
    assert "Your comment has been saved" in result["body"]
    assert 'id="answers-locked"' in result["body"]


def test_answers_alone_after_the_edit_window_are_not_thanked_for_as_saved(
    platform: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an answer with a driver on record, in German
    invite = invite_with_questions(platform, "inv-q5c", locale="de")
    invite.tap(9)
    invite.comment("", 9, {"driver": "support"})
    within = invite.comment("", 9, {"csat": "4"})
    assert 'id="answers-locked"' not in within["body"]
    # (within the window, answers alone are thanked for as answers, not as a comment)
    assert "Ihre Antworten wurden gespeichert" in within["body"]
    assert "Ihr Kommentar wurde gespeichert" not in within["body"]
    before = item(platform, "inv-q5c")
    # When the person changes the driver after the edit window, without a comment
    monkeypatch.setattr(respond.service(), "edit_window", timedelta(days=-1))
    result = invite.comment("", 9, {"driver": "price"})
    # Then nothing changed, and the page says the earlier answers stand (not that a comment was saved)
    assert result["statusCode"] == 200
    assert item(platform, "inv-q5c") == before
    assert 'id="answers-locked"' in result["body"]
    assert "Ihre früheren Antworten auf die Fragen bleiben bestehen" in result["body"]
    assert "Ihr Kommentar wurde gespeichert" not in result["body"]


@pytest.mark.parametrize(
    "answers",
    [
        {"driver": "onboarding"},  # not one of the survey's drivers
        {"driver": "Price"},  # case matters
        {"driver": ""},
        {"csat": "6"},
        {"csat": "0"},
        {"csat": "\u0663"},  # Arabic-Indic three: not an ASCII digit
        {"csat": "04"},
        {"ces": "8"},
        {"ces": " 5"},
        {"csat": "4", "driver": "price", "ces": "x"},  # one bad answer refuses the whole form
    ],
)
def test_a_bad_answer_records_nothing_and_gets_a_human_page(platform: LocalStack, answers: dict[str, str]) -> None:
    invite = invite_with_questions(platform, f"inv-bad-{abs(hash(str(answers))) % 10_000}")
    invite.tap(6)
    before = item(platform, invite.invite.invite_id)
    result = invite.comment("Too expensive", 6, answers)
    assert result["statusCode"] == 400
    assert "We could not save your answers" in result["body"]
    assert item(platform, invite.invite.invite_id) == before


def test_an_answer_to_a_question_the_survey_has_off_is_refused(platform: LocalStack) -> None:
    invite = invite_with_questions(platform, "inv-q6", reasons={**SURVEY["reasons"], "ces": {"enabled": False}})
    invite.tap(6)
    assert 'name="ces"' not in invite.open(6)["body"]
    result = invite.comment("", 6, {"ces": "5"})
    assert result["statusCode"] == 400
    assert "ces" not in item(platform, "inv-q6")


def test_an_answer_on_an_invite_without_questions_is_refused(platform: LocalStack) -> None:
    put_survey(platform)
    invite = issue_invite(platform, "inv-q7")
    invite.tap(6)
    assert invite.comment("Fine", 6, {"csat": "4"})["statusCode"] == 400
    assert "comment" not in item(platform, "inv-q7")


def test_an_empty_comment_without_answers_shows_the_form_again_with_its_questions(platform: LocalStack) -> None:
    invite = invite_with_questions(platform, "inv-q8")
    invite.tap(6)
    result = invite.comment("   ", 6)
    assert result["statusCode"] == 400
    assert 'name="driver"' in result["body"]


def test_a_comment_in_a_locale_without_a_stemmer_is_saved_without_themes(platform: LocalStack) -> None:
    # Given a stored taxonomy with phrases in a locale no stemmer handles (written past the definition's
    # checks, as an older or foreign definition could be) and an invite in that locale
    survey = put_survey(platform).model_dump(mode="json")
    survey["locales"] = ["en", "fr"]
    survey["reasons"]["themes"][0]["phrases"]["fr"] = ["prix"]
    aws.client("dynamodb").put_item(
        TableName=platform.tables["surveys"],
        Item={"survey_id": {"S": "survey-1"}, "sk": {"S": "definition"}, "definition": {"S": json.dumps(survey)}},
    )
    invite = issue_invite(platform, "inv-q9", locale="fr")
    invite.tap(3)
    # When a comment arrives, it is saved, without themes
    assert invite.comment("Le prix est trop élevé", 3)["statusCode"] == 200
    stored = item(platform, "inv-q9")
    assert stored["comment"] == {"S": "Le prix est trop élevé"}
    assert stored["themes"] == {"L": []}


def test_the_taxonomy_is_read_once_per_survey_and_locale_while_warm(platform: LocalStack) -> None:
    # Given two invites of one survey
    first = invite_with_questions(platform, "inv-c1")
    second = issue_invite(platform, "inv-c2", questions=first.invite.questions)
    for invite in (first, second):
        invite.tap(2)
    tagger = respond.service().themes
    assert tagger is not None
    # When both comment
    started = time.perf_counter()
    first.comment("Support was slow", 2)
    second.comment("The price is too high", 2)
    elapsed = time.perf_counter() - started
    # Then the survey was read once, and both comments were tagged
    assert getattr(tagger, "reads", None) == 1
    assert item(platform, "inv-c1")["themes"] == {"L": [{"S": "support"}]}
    assert item(platform, "inv-c2")["themes"] == {"L": [{"S": "price"}]}
    assert elapsed < 5


def test_a_failed_taxonomy_read_still_saves_the_comment(platform: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    invite = invite_with_questions(platform, "inv-q10")
    invite.tap(2)
    tagger = respond.service().themes
    assert tagger is not None

    def broken(*_: Any) -> None:
        raise RuntimeError("throttled")

    monkeypatch.setattr(tagger, "_compile", broken)
    assert invite.comment("Support was slow", 2)["statusCode"] == 200
    assert item(platform, "inv-q10")["themes"] == {"L": []}


def test_questions_copied_onto_an_invite_read_back_the_same(platform: LocalStack) -> None:
    survey = put_survey(platform)
    questions = survey.follow_up_questions("de")
    assert isinstance(questions, FollowUpQuestions)
    invite = issue_invite(platform, "inv-q11", locale="de", questions=questions)
    assert respond.service().invites.get("inv-q11") == invite.invite
