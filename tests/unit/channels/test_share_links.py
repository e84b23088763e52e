"""nps.channels.share_links: dedupe periods, response ids, who answers, and which answer an answer edits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from nps.channels.share_links import (
    ANONYMOUS_CONTACT,
    BadScore,
    CommentLimit,
    CommentTooLong,
    EmptyComment,
    LinkInvalid,
    NoAnswer,
    ShareError,
    ShareNotFound,
    ShareService,
    ShareSurvey,
    dedupe_periods,
    response_id,
)
from nps.kernel.categories import Category
from nps.links.pseudonyms import IdKey
from nps.responding.adapters.invites import Invite
from nps.responding.adapters.responses import (
    CommentLimitReached,
    RecordedScore,
    RecordOutcome,
    StoredResponse,
)
from nps.sending.surveys import Survey

KEY = IdKey(b"k" * 32)
BROWSER = "Qx3mT0c1bJd5rA8wZy7u2g"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def survey(**share_link: object) -> ShareSurvey:
    definition = Survey.model_validate(
        {
            "survey_id": "s1",
            "name": "S",
            "brand_name": "Acme",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "fatigue_days": 30,
            "segment_dimensions": ["plan"],
            "share_link": {"enabled": True} | share_link,
        }
    )
    return ShareSurvey.from_definition(definition.model_dump_json())


@dataclass
class Store:
    """In-memory responses: record_score keeps the first-answer time and honours the edit window."""

    items: dict[str, dict[str, object]] = field(default_factory=dict)
    comments: dict[str, list[str]] = field(default_factory=dict)
    full: bool = False

    def record_score(
        self,
        invite: Invite,
        score: int,
        category: Category,
        now_iso: str,
        source: str = "link",
        confidence: str = "high",
        edit_window_start_iso: str = "",
        in_headline: bool = True,
    ) -> RecordedScore:
        item = self.items.get(invite.invite_id)
        if item is None:
            self.items[invite.invite_id] = {"score": score, "first": now_iso, "version": 1, "invite": invite,
                                            "in_headline": in_headline}  # fmt: skip
            return RecordedScore(RecordOutcome.RECORDED, score, 1)
        if str(item["first"]) < edit_window_start_iso:
            return RecordedScore(RecordOutcome.LOCKED, int(str(item["score"])), int(str(item["version"])))
        item["score"], item["version"] = score, int(str(item["version"])) + 1
        return RecordedScore(RecordOutcome.CHANGED, score, int(str(item["version"])))

    def get(self, invite_id: str) -> StoredResponse | None:
        item = self.items.get(invite_id)
        if item is None:
            return None
        return StoredResponse(int(str(item["score"])), True, None, str(item["first"]), int(str(item["version"])))

    def save_comment(self, invite_id: str, comment: str, now_iso: str) -> None:
        if self.full:
            raise CommentLimitReached(invite_id)
        self.comments.setdefault(invite_id, []).append(comment)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def verifier(token: str, survey_id: str, now: float, max_lifetime: int) -> tuple[str, str | None, Mapping[str, str]]:
    if token != "good":
        raise LinkInvalid()
    return "contact-1", "de", {"plan": "pro", "other": "x"}


def service(store: Store, clock: Clock, found: ShareSurvey | None = None) -> ShareService:
    return ShareService(
        surveys=lambda survey_id: found,
        responses=store,
        id_key=lambda: KEY,
        verify_contact=verifier,
        clock=clock,
        edit_window=timedelta(days=7),
    )


def test_the_stored_definition_gives_the_models_settings() -> None:
    anonymous, counted, identified = survey(), survey(count_in_nps=True), survey(mode="identified")
    assert (anonymous.share.channel, anonymous.share.in_headline) == ("link_anonymous", False)
    assert (counted.share.channel, counted.share.in_headline) == ("link_anonymous", True)
    assert (identified.share.channel, identified.share.in_headline) == ("link", True)
    assert anonymous.open
    assert not survey(enabled=False).open


@pytest.mark.parametrize("found", [None, "off", "paused"])
def test_a_closed_or_unknown_link_is_not_found(found: str | None) -> None:
    closed = {None: None, "off": survey(enabled=False), "paused": None}[found]
    if found == "paused":
        from dataclasses import replace

        closed = replace(survey(), active=False)
    with pytest.raises(ShareNotFound):
        service(Store(), Clock(), closed).survey("s1")


def test_periods_follow_the_fatigue_window_and_a_zero_window_is_one_day() -> None:
    current, previous = dedupe_periods(START, 30)
    assert previous == current - 1
    assert dedupe_periods(START + timedelta(days=30), 30)[0] == current + 1
    assert dedupe_periods(START, 0) == dedupe_periods(START, 1)


def test_response_ids_are_keyed_labelled_and_say_nothing_of_the_browser() -> None:
    anonymous = response_id(KEY, "s1", BROWSER, 7, identified=False)
    assert anonymous == response_id(KEY, "s1", BROWSER, 7, identified=False)
    assert anonymous.startswith("sl-")
    assert len(anonymous) == 43
    assert BROWSER not in anonymous
    others = {
        response_id(KEY, "s1", BROWSER, 7, identified=True),
        response_id(KEY, "s1", BROWSER, 8, identified=False),
        response_id(KEY, "s2", BROWSER, 7, identified=False),
        response_id(IdKey(b"j" * 32), "s1", BROWSER, 7, identified=False),
    }
    assert anonymous not in others
    assert len(others) == 4


def test_one_browser_within_the_window_edits_its_answer_even_across_a_period_boundary() -> None:
    store, clock = Store(), Clock()
    share = service(store, clock)
    found = survey()
    who = share.respondent(found, None, BROWSER)
    # Just before a period boundary, then a day later (a new period, still inside the 30-day window)
    current, _ = dedupe_periods(START, 30)
    clock.now = datetime.fromtimestamp((current + 1) * 30 * 86400 - 3600, UTC)
    first = share.answer(found, who, "3", "en")
    clock.now += timedelta(days=1)
    second = share.answer(found, who, "9", "en")
    assert second.response_id == first.response_id
    assert second.outcome is RecordOutcome.CHANGED
    assert len(store.items) == 1
    (item,) = store.items.values()
    assert item["in_headline"] is False
    invite = item["invite"]
    assert isinstance(invite, Invite)
    assert (invite.channel, invite.contact_id, invite.segments) == ("link_anonymous", ANONYMOUS_CONTACT, {})


def test_after_the_edit_window_the_first_answer_stands_and_after_the_fatigue_window_a_new_one_counts() -> None:
    store, clock = Store(), Clock()
    share = service(store, clock)
    found = survey()
    who = share.respondent(found, None, BROWSER)
    share.answer(found, who, "3", "en")
    clock.now += timedelta(days=10)
    locked = share.answer(found, who, "9", "en")
    assert locked.outcome is RecordOutcome.LOCKED
    assert locked.score == 3
    clock.now += timedelta(days=61)
    fresh = share.answer(found, who, "9", "en")
    assert fresh.outcome is RecordOutcome.RECORDED
    assert len(store.items) == 2


def test_an_identified_answer_is_the_contacts_with_its_signed_segments() -> None:
    store = Store()
    share = service(store, Clock())
    found = survey(mode="identified")
    who = share.respondent(found, "good", None)
    assert (who.contact_id, who.locale, dict(who.segments)) == ("contact-1", "de", {"plan": "pro"})
    share.answer(found, who, "10", "de")
    (item,) = store.items.values()
    invite = item["invite"]
    assert isinstance(invite, Invite)
    assert invite.channel == "link"
    assert item["in_headline"] is True
    for token in (None, "", "forged"):
        with pytest.raises(LinkInvalid):
            share.respondent(found, token, BROWSER)


@pytest.mark.parametrize("browser", [None, "", "short", "x" * 65, "not/a/browser/id/at/all"])
def test_an_anonymous_answer_needs_a_browser_or_page_id(browser: str | None) -> None:
    with pytest.raises(ShareError):
        service(Store(), Clock()).respondent(survey(), None, browser)


def test_a_token_on_an_anonymous_link_is_ignored() -> None:
    who = service(Store(), Clock()).respondent(survey(), "good", BROWSER)
    assert who.contact_id == ANONYMOUS_CONTACT
    assert not who.identified


@pytest.mark.parametrize("raw", [None, "", "11", "-1", "07.0", "٣"])
def test_a_bad_score_records_nothing(raw: str | None) -> None:
    store = Store()
    share = service(store, Clock())
    with pytest.raises(BadScore):
        share.answer(survey(), share.respondent(survey(), None, BROWSER), raw, "en")
    assert store.items == {}


def test_comments_are_cleaned_refused_or_saved_like_the_email_pages() -> None:
    store = Store()
    share = service(store, Clock())
    found = survey()
    who = share.respondent(found, None, BROWSER)
    with pytest.raises(NoAnswer):
        share.comment(found, who, "why not", None, "en")
    with pytest.raises(EmptyComment):
        share.comment(found, who, " \u200b ", "5", "en")
    with pytest.raises(CommentTooLong):
        share.comment(found, who, "x" * 2001, "5", "en")
    assert store.items == {}
    target = share.comment(found, who, "  Long queue\u202e ", "5", "en")
    assert store.comments[target] == ["Long queue"]
    store.full = True
    with pytest.raises(CommentLimit):
        share.comment(found, who, "again", None, "en")
