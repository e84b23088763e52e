"""Churn records from a contact's answers and an account's quarter counters; chunks; the exactly-once rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.accounts.churn import (
    ChurnNotice,
    ChurnPlan,
    ChurnRejected,
    ContactAnswer,
    Kind,
    Outcome,
    UnknownAccount,
    account_records,
    contact_records,
    mean_category,
    plan,
    quarter_bounds,
    record_churn,
)
from nps.kernel.categories import Category

T0 = datetime(2026, 9, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def answer(invite: str, survey: str, score: int | None, days: float, **kw: object) -> ContactAnswer:
    at = T0 + timedelta(days=days)
    return ContactAnswer(invite, survey, score, kw.pop("counted", True), at, at, **kw)  # type: ignore[arg-type]


def test_the_last_counted_answer_at_or_before_the_churn_wins_per_survey() -> None:
    notice = ChurnNotice("c1", T0 + timedelta(days=10), contact_id="ana")
    records = contact_records(
        notice,
        [
            answer("i1", "a", 10, 0),
            answer("i2", "a", 5, 10),  # exactly at the churn: counts
            answer("i3", "a", 0, 11),  # after: ignored
            answer("i4", "a", 9, 9, counted=False),  # automated: ignored
            answer("i5", "b", None, 1),  # unanswered
            answer("i6", "c", 7, 2, account_id="acme"),
        ],
    )
    assert [(r.survey_id, r.last_category, r.last_score, r.account_id) for r in records] == [
        ("a", Category.DETRACTOR, 5.0, None),
        ("c", Category.PASSIVE, 7.0, "acme"),
    ]
    assert records[0].sort_key == "2026-09-11T00:00:00.000Z#contact#ana"


@pytest.mark.parametrize(
    ("mean", "category"),
    [(10, "promoter"), (9.0, "promoter"), (8.99, "passive"), (7, "passive"), (6.99, "detractor"), (0, "detractor")],
)
def test_the_mean_score_bands(mean: float, category: str) -> None:
    assert mean_category(mean) == category


def test_quarter_bounds() -> None:
    assert quarter_bounds("2026-Q4") == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="quarter"):
        quarter_bounds("2026-Q5")


def test_an_account_record_is_dated_at_its_quarter_end_or_the_churn() -> None:
    notice = ChurnNotice("c1", datetime(2026, 11, 15, tzinfo=UTC), account_id="acme")
    records = account_records(
        notice,
        {"a": ("2026-Q3", {"score_9": 1, "score_10": 1}), "b": ("2026-Q4", {"score_3": 2}), "c": ("2026-Q2", {})},
    )
    assert [(r.survey_id, r.last_category, r.last_answered_at.isoformat()) for r in records] == [
        ("a", Category.PROMOTER, "2026-09-30T23:59:59.999000+00:00"),
        ("b", Category.DETRACTOR, "2026-11-15T00:00:00+00:00"),
    ]


def test_a_churn_dated_more_than_a_day_ahead_or_naming_nobody_is_rejected() -> None:
    with pytest.raises(ChurnRejected, match="future"):
        ChurnNotice("c", NOW + timedelta(days=1, seconds=1), contact_id="a").check(NOW)
    ChurnNotice("c", NOW + timedelta(days=1), contact_id="a").check(NOW)
    with pytest.raises(ChurnRejected, match="names"):
        ChurnNotice("c", NOW).check(NOW)


@given(records=st.integers(0, 700), max_items=st.integers(2, 100), max_kb=st.integers(2, 4000))
def test_chunks_hold_every_record_once_and_stay_under_the_transaction_limits(
    records: int, max_items: int, max_kb: int
) -> None:
    notice = ChurnNotice("c", NOW, contact_id="ana")
    answers = [answer(f"i{n}", f"s{n:04d}", n % 11, 0) for n in range(records)]
    churn_plan = plan(notice, Kind.CONTACT, contact_records(notice, answers))
    chunks = churn_plan.chunks(max_items=max_items, max_bytes=max_kb * 1024)
    flat = [item for chunk in chunks for item in chunk]
    assert len(chunks) >= 1
    assert all(len(chunk) + 1 <= max_items and (len(chunk) + 1) * 1024 <= max_kb * 1024 for chunk in chunks)
    if records:
        assert flat == list(churn_plan.records)
    else:
        assert [item.kind for item in flat] == [Kind.CONTACT]  # the unmatched item


class FakeStore:
    def __init__(self, answers: list[ContactAnswer] | None = None, known: bool = False) -> None:
        self.answers = answers or []
        self.known = known
        self.markers: dict[tuple[Kind, str], str] = {}
        self.plans: list[ChurnPlan] = []

    def churned(self, kind: Kind, subject_id: str, churn_id: str) -> bool:
        return (kind, subject_id) in self.markers

    def contact_answers(self, contact_id: str) -> list[ContactAnswer]:
        return self.answers

    def account_quarters(self, account_id: str, last_quarter: str) -> dict[str, tuple[str, dict[str, int]]]:
        return {}

    def account_known(self, account_id: str) -> bool:
        return self.known

    def write(self, churn_plan: ChurnPlan, now: datetime) -> bool:
        key = (churn_plan.kind, churn_plan.subject_id)
        if key in self.markers:
            return False
        self.markers[key] = churn_plan.churn_id
        self.plans.append(churn_plan)
        return True


def test_a_second_churn_of_a_contact_is_a_duplicate_and_writes_nothing() -> None:
    store = FakeStore([answer("i1", "a", 9, 0)])
    first = record_churn(ChurnNotice("c1", NOW, contact_id="ana"), store, NOW)
    again = record_churn(ChurnNotice("c2", NOW, contact_id="ana"), store, NOW)
    assert (first, again) == ({Kind.CONTACT: Outcome.RECORDED}, {Kind.CONTACT: Outcome.DUPLICATE})
    assert len(store.plans) == 1


def test_an_account_without_profile_or_answers_is_unknown_and_with_a_profile_unmatched() -> None:
    with pytest.raises(UnknownAccount):
        record_churn(ChurnNotice("c1", NOW, account_id="ghost"), FakeStore(), NOW)
    assert record_churn(ChurnNotice("c1", NOW, account_id="quiet"), FakeStore(known=True), NOW) == {
        Kind.ACCOUNT: Outcome.UNMATCHED
    }


@pytest.mark.parametrize(
    "churned_at", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+00:01"]
)
def test_a_churn_instant_outside_the_calendar_in_utc_is_a_schema_error(churned_at: str) -> None:
    # An offset that moves the instant before year 1 or after year 9999 in UTC is refused by the contract
    # (a ValidationError, which the churn function logs as a refusal), not an OverflowError escaping it.
    from pydantic import ValidationError

    from nps.events.models import CustomerChurnedDetail

    with pytest.raises(ValidationError):
        CustomerChurnedDetail.model_validate({"contact_id": "c-1", "churned_at": churned_at})


def test_an_answer_kept_out_of_the_headline_is_not_the_last_category() -> None:
    # Given an email answer (counted in the survey's NPS) and a later identified share-link answer the
    # headline does not count (another answer took the contact's window, or the link is not counted in NPS)
    notice = ChurnNotice("c1", T0 + timedelta(days=10), contact_id="ana")
    answers = [answer("email", "a", 3, 1), answer("link", "a", 10, 2, in_headline=False)]
    # Then the churn is recorded against the answer the rates' denominators count: the detractor's
    (record,) = contact_records(notice, answers)
    assert (record.last_category, record.last_score) == (Category.DETRACTOR, 3.0)


def test_a_stored_response_out_of_the_headline_reads_as_not_counted() -> None:
    from nps.accounts.adapters.churn import answer_from_item

    item = {
        "invite_id": {"S": "i"}, "survey_id": {"S": "a"}, "score": {"N": "9"},
        "first_answered_at": {"S": "2026-09-01T00:00:00.000Z"}, "in_headline": {"BOOL": False},
    }  # fmt: skip
    assert not answer_from_item(item).is_counted
    assert answer_from_item(item | {"in_headline": {"BOOL": True}}).is_counted


def test_a_re_survey_answer_is_not_the_last_category() -> None:
    # Given a detractor's answer, then the answer to the follow-up's re-survey (a ``fu-`` wave: it resolves
    # the follow-up, and the NPS aggregates do not count it), both before the churn
    notice = ChurnNotice("c1", T0 + timedelta(days=30), contact_id="ana")
    answers = [answer("wave", "a", 3, 1, wave_id="q3"), answer("resurvey", "a", 10, 20, wave_id="fu-wave-1")]
    # Then the churn is held against the last answer the NPS counts: the detractor's
    (record,) = contact_records(notice, answers)
    assert (record.last_category, record.last_score, record.last_answered_at) == (
        Category.DETRACTOR,
        3.0,
        T0 + timedelta(days=1),
    )
    # And a contact whose only answer before the churn is a re-survey's churned without a counted answer
    assert contact_records(notice, answers[1:]) == []


def test_a_stored_re_survey_answer_reads_as_not_counted() -> None:
    from nps.accounts.adapters.churn import answer_from_item

    item = {
        "invite_id": {"S": "i"}, "survey_id": {"S": "a"}, "score": {"N": "9"}, "counted": {"BOOL": True},
        "first_answered_at": {"S": "2026-09-01T00:00:00.000Z"}, "wave_id": {"S": "fu-i-1"},
    }  # fmt: skip
    assert not answer_from_item(item).is_counted
    assert answer_from_item(item | {"wave_id": {"S": "2026-q3"}}).is_counted
