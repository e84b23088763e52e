"""nps.channels.share_links: dedupe periods, response ids, who answers, and which answer an answer edits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps.channels.share_links import (
    ANONYMOUS_CONTACT,
    BadAnswer,
    BadScore,
    CommentLimit,
    CommentTooLong,
    ContactAnswers,
    ContactAnswersStore,
    EmptyComment,
    LinkInvalid,
    NoAnswer,
    OtherAnswer,
    ShareError,
    ShareNotFound,
    ShareService,
    ShareSurvey,
    dedupe_periods,
    response_id,
)
from nps.kernel.categories import Category
from nps.kernel.periods import iso_timestamp
from nps.links.pseudonyms import IdKey
from nps.reasons.answers import FollowUpAnswers
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


def survey(reasons: dict[str, object] | None = None, **share_link: object) -> ShareSurvey:
    definition = Survey.model_validate(
        ({"reasons": reasons} if reasons is not None else {})
        | {
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
    answers: dict[str, list[FollowUpAnswers]] = field(default_factory=dict)
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
        in_headline: bool | None = None,
    ) -> RecordedScore:
        headline = invite.in_headline if in_headline is None else in_headline
        item = self.items.get(invite.invite_id)
        if item is None:
            self.items[invite.invite_id] = {"score": score, "first": now_iso, "version": 1, "invite": invite,
                                            "in_headline": headline}  # fmt: skip
            return RecordedScore(RecordOutcome.RECORDED, score, 1)
        if str(item["first"]) < edit_window_start_iso:
            return RecordedScore(RecordOutcome.LOCKED, int(str(item["score"])), int(str(item["version"])))
        item["score"], item["version"] = score, int(str(item["version"])) + 1
        item["in_headline"] = bool(item["in_headline"]) and headline  # once false, stays false (as DynamoDB's SET)
        return RecordedScore(RecordOutcome.CHANGED, score, int(str(item["version"])))

    def get(self, invite_id: str) -> StoredResponse | None:
        item = self.items.get(invite_id)
        if item is None:
            return None
        return StoredResponse(int(str(item["score"])), True, None, str(item["first"]), int(str(item["version"])))

    def save_comment(
        self,
        invite_id: str,
        comment: str | None,
        now_iso: str,
        *,
        themes: tuple[str, ...] | None = None,
        answers: FollowUpAnswers | None = None,
        edit_window_start_iso: str = "",
    ) -> bool:
        if self.full:
            raise CommentLimitReached(invite_id)
        if comment is not None:
            self.comments.setdefault(invite_id, []).append(comment)
        if answers is not None and answers.any:
            self.answers.setdefault(invite_id, []).append(answers)
        return True


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def verifier(token: str, survey_id: str, now: float, max_lifetime: int) -> tuple[str, str | None, Mapping[str, str]]:
    if token != "good":
        raise LinkInvalid()
    return "contact-1", "de", {"plan": "pro", "other": "x"}


def service(
    store: Store, clock: Clock, found: ShareSurvey | None = None, contacts: ContactAnswersStore | None = None
) -> ShareService:
    return ShareService(
        surveys=lambda survey_id: found,
        responses=store,
        id_key=lambda: KEY,
        verify_contact=verifier,
        clock=clock,
        edit_window=timedelta(days=7),
        contacts=contacts,
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
    target = share.comment(found, who, "  Long queue\u202e ", "5", "en").response_id
    assert store.comments[target] == ["Long queue"]
    store.full = True
    with pytest.raises(CommentLimit):
        share.comment(found, who, "again", None, "en")


# -- one headline answer per contact per window ------------------------------------------------------------
EMAIL_INVITE = "inv-email-1"


@dataclass
class Elsewhere:
    """The contact's email invite of the survey, as the contacts/invites/responses tables would hold it, and
    the calls the share service made (in order)."""

    store: Store
    invite_exists: bool = True
    calls: list[str] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)
    surveyed: list[tuple[str | None, datetime]] = field(default_factory=list)

    def find(
        self, audience: str, survey_id: str, contact_id: str, state_id: str, web_invite_of: Callable[[str], str | None]
    ) -> ContactAnswers:
        self.calls.append("find")
        answered = self.store.items.get(EMAIL_INVITE)
        if answered is not None:
            answer = OtherAnswer(EMAIL_INVITE, str(answered["first"]), bool(answered["in_headline"]))
            return ContactAnswers(True, (answer,), ())
        open_invites = (EMAIL_INVITE,) if self.invite_exists and EMAIL_INVITE not in self.excluded else ()
        return ContactAnswers(True, (), open_invites)

    def exclude_from_headline(self, invite_ids: tuple[str, ...]) -> None:
        self.calls.append("exclude")
        self.excluded.update(invite_ids)

    def mark_surveyed(
        self, audience: str, contact_id: str, state_id: str | None, survey_id: str, now: datetime
    ) -> None:
        self.calls.append("surveyed")
        self.surveyed.append((state_id, now))

    def email_answer(self, score: int, now: datetime) -> None:
        """What the respond path does: record on the invite, in the headline unless the invite is marked."""
        invite = Invite(EMAIL_INVITE, "s1", "wave-1", "contact-1", "email", "en", 0, "",
                        in_headline=EMAIL_INVITE not in self.excluded)  # fmt: skip
        self.store.record_score(invite, score, Category.PROMOTER, iso_timestamp(now), edit_window_start_iso="")


def headline_answers(store: Store) -> int:
    return sum(1 for item in store.items.values() if item["in_headline"])


def identified(store: Store, clock: Clock, elsewhere: Elsewhere) -> tuple[ShareService, ShareSurvey]:
    found = survey(mode="identified")
    return service(store, clock, found, elsewhere), found


def test_an_email_answer_in_the_window_keeps_the_share_answer_out_of_the_headline() -> None:
    # Given a contact who answered the survey's email yesterday
    store, clock = Store(), Clock()
    elsewhere = Elsewhere(store)
    elsewhere.email_answer(9, clock.now - timedelta(days=1))
    share, found = identified(store, clock, elsewhere)
    # When the contact answers on an identified share link
    answered = share.answer(found, share.respondent(found, "good", None), "3", "en")
    # Then the share answer is kept (channel link) but not counted in the headline, and nothing is marked
    assert store.items[answered.response_id]["in_headline"] is False
    assert headline_answers(store) == 1
    assert elsewhere.calls == ["find"]


def test_an_email_answer_older_than_the_window_leaves_the_headline_to_the_share_answer() -> None:
    store, clock = Store(), Clock()
    elsewhere = Elsewhere(store)
    elsewhere.email_answer(9, clock.now - timedelta(days=31))  # the survey's window is 30 days
    share, found = identified(store, clock, elsewhere)
    answered = share.answer(found, share.respondent(found, "good", None), "3", "en")
    assert store.items[answered.response_id]["in_headline"] is True


def test_a_share_answer_first_marks_the_open_invite_before_it_is_written_and_the_email_answer_stays_out() -> None:
    # Given a contact with an unanswered email invite of the survey
    store, clock = Store(), Clock()
    elsewhere = Elsewhere(store)
    share, found = identified(store, clock, elsewhere)
    respondent = share.respondent(found, "good", None)
    # When the contact answers on the share link, edits it, then answers the email too
    first = share.answer(found, respondent, "8", "en")
    share.answer(found, respondent, "9", "en")
    elsewhere.email_answer(10, clock.now + timedelta(hours=1))
    # Then the invite was marked before the answer was written, the contact marked surveyed once (the first
    # answer only), and one answer counts in the headline: the share answer
    assert elsewhere.calls[:3] == ["find", "exclude", "surveyed"]
    assert elsewhere.calls.count("surveyed") == 1
    assert store.items[first.response_id]["in_headline"] is True
    assert store.items[EMAIL_INVITE]["in_headline"] is False
    assert headline_answers(store) == 1


def test_anonymous_answers_never_read_the_contacts_other_answers() -> None:
    store, clock = Store(), Clock()
    elsewhere = Elsewhere(store)
    share = service(store, clock, survey(count_in_nps=True), elsewhere)
    found = survey(count_in_nps=True)
    share.answer(found, share.respondent(found, None, BROWSER), "9", "en")
    assert elsewhere.calls == []


def test_a_tokens_segment_values_are_copied_in_nfc_like_every_channels() -> None:
    def decomposed(token: str, survey_id: str, now: float, max_lifetime: int) -> tuple[str, None, dict[str, str]]:
        return "contact-1", None, {"plan": "Zu\u0308rich"}

    found = survey(mode="identified")
    share = ShareService(lambda _: found, Store(), lambda: KEY, decomposed, Clock())
    assert dict(share.respondent(found, "t", None).segments) == {"plan": "Z\u00fcrich"}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["email", "share", "share-edit"]), st.integers(0, 10), st.integers(0, 40 * 24)),
        min_size=1,
        max_size=6,
    )
)
def test_email_and_share_answers_in_any_order_count_once_in_the_headline(
    steps: list[tuple[str, int, int]],
) -> None:
    # Given a contact with an email invite of the survey, answering on either channel in any order (hours apart)
    store, clock = Store(), Clock()
    elsewhere = Elsewhere(store)
    share, found = identified(store, clock, elsewhere)
    respondent = share.respondent(found, "good", None)
    for channel, score, hours in steps:
        clock.now += timedelta(hours=hours)
        if channel == "email":
            elsewhere.email_answer(score, clock.now)
        else:
            share.answer(found, respondent, str(score), "en")
    # Then within the first fatigue window at most one answer is in the headline, and one always is
    answered_within_window = [
        item for item in store.items.values() if str(item["first"]) < iso_timestamp(START + timedelta(days=30))
    ]
    assert sum(1 for item in answered_within_window if item["in_headline"]) <= 1
    assert headline_answers(store) >= 1


@dataclass
class Invites:
    """In-memory invite items: the first write of an id stands (as the conditional write)."""

    store: Store
    items: dict[str, tuple[Invite, str]] = field(default_factory=dict)
    #: For each invite item written: whether its response already existed then.
    answer_first: list[bool] = field(default_factory=list)

    def record_invite(self, invite: Invite, audience: str, now: datetime) -> None:
        if invite.invite_id not in self.items:
            self.answer_first.append(invite.invite_id in self.store.items)
            self.items[invite.invite_id] = (invite, audience)


@settings(max_examples=40)
@given(
    mode=st.sampled_from(["anonymous", "identified"]),
    answers=st.lists(st.tuples(st.integers(0, 10), st.integers(0, 40)), min_size=1, max_size=6),
)
def test_every_answer_has_its_invite_item_written_before_it(mode: str, answers: list[tuple[int, int]]) -> None:
    # Given a share link whose answers write their invite item (the follow-up workflow reads it)
    store, clock = Store(), Clock()
    found = survey(mode=mode)
    invites = Invites(store)
    share = ShareService(lambda _: found, store, lambda: KEY, verifier, clock, timedelta(days=7), invites=invites)
    respondent = share.respondent(found, "good", BROWSER)
    # When one respondent answers several times, days apart
    for score, days in answers:
        clock.now += timedelta(days=days)
        share.answer(found, respondent, str(score), "en")
    # Then every response has exactly one invite item, written before its first answer, with the response's
    # ids, the survey's audience and the link's channel (anonymous answers: the anonymous contact)
    assert set(invites.items) == set(store.items)
    assert invites.answer_first == [False] * len(invites.items)
    for invite_id, (invite, audience) in invites.items.items():
        assert invite.invite_id == invite_id
        assert audience == found.audience
        assert invite.channel == found.share.channel
        assert invite.contact_id == ("contact-1" if mode == "identified" else ANONYMOUS_CONTACT)


REASONS: dict[str, object] = {
    "drivers": [{"id": "price", "label": {"en": "Price"}}, {"id": "support", "label": {"en": "Support"}}],
    "csat": {"enabled": True},
    "ces": {"enabled": False},
}


def test_follow_up_answers_are_saved_with_or_without_a_comment() -> None:
    store = Store()
    share = service(store, Clock())
    found = survey(REASONS)
    who = share.respondent(found, None, BROWSER)
    saved = share.comment(found, who, "", "7", "en", driver="support", csat="4")
    target = saved.response_id
    assert (saved.answers_saved, saved.comment_saved) == (True, False)
    assert store.answers[target] == [FollowUpAnswers(driver="support", csat=4)]
    assert target not in store.comments
    share.comment(found, who, "Quick", None, "en", csat="5")
    assert store.answers[target][-1] == FollowUpAnswers(csat=5)
    assert store.comments[target] == ["Quick"]


@settings(max_examples=200, deadline=None)
@given(
    field_name=st.sampled_from(["driver", "csat", "ces"]),
    value=st.text(max_size=12) | st.sampled_from(["0", "6", "٣", "04", "Price", "price ", "1" * 10_000]),
)
def test_no_bad_follow_up_answer_records_anything(field_name: str, value: str) -> None:
    # Any value that is not one the survey offers (a driver id of it exactly, CSAT one ASCII digit 1–5; CES
    # is off) is refused before anything is written: not the score sent with it, not the comment
    if (field_name == "driver" and value in ("price", "support")) or (
        field_name == "csat" and value in ("1", "2", "3", "4", "5")
    ):
        return
    store = Store()
    share = service(store, Clock())
    found = survey(REASONS)
    who = share.respondent(found, None, BROWSER)
    with pytest.raises(BadAnswer):
        share.comment(found, who, "Too expensive", "3", "en", **{field_name: value})
    assert store.items == {}
    assert store.comments == {}
    assert store.answers == {}
