"""An invite's account, role and revenue: parsed from a contacts file's cells, stored and read back."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.accounts.membership import (
    ACCOUNT_GRANULARITIES,
    DECISION_MAKER,
    Membership,
    MembershipError,
    account_label,
    normalise_role,
    parse_revenue,
)
from nps.kernel.periods import Granularity
from nps.sending.adapters.invites import invites_sent_keys
from nps.sending.contacts import parse_contacts_csv


@pytest.mark.parametrize(
    "written", ["Decision Maker", "decision-maker", "DM", "dm", " decision_maker ", "Economic buyer", "EXEC"]
)
def test_the_ways_people_write_decision_maker_are_one_role(written: str) -> None:
    assert normalise_role(written) == DECISION_MAKER


def test_a_role_of_the_teams_own_is_kept_as_a_word() -> None:
    assert normalise_role("Account Admin") == "account_admin"


@pytest.mark.parametrize("written", ["", "  ", "9lives", "a<b", "x" * 40, "role\u0000"])
def test_a_role_that_is_not_a_word_is_refused(written: str) -> None:
    with pytest.raises(MembershipError):
        normalise_role(written)


@given(st.text(max_size=40))
def test_a_normalised_role_normalises_to_itself(text: str) -> None:
    try:
        role = normalise_role(text)
    except MembershipError:
        return
    assert normalise_role(role) == role


@pytest.mark.parametrize(
    ("written", "value"),
    [("12000", Decimal("12000")), ("12,000.50", Decimal("12000.50")), (" 0 ", Decimal(0)), ("1_000", Decimal(1000))],
)
def test_revenue_as_spreadsheets_write_it(written: str, value: Decimal) -> None:
    assert parse_revenue(written) == value


@pytest.mark.parametrize(
    "written",
    [
        "-5", "NaN", "Infinity", "1e20", "12.345", "$100", "ten", "",
        # Read as another number than the one written, or no plain amount: refused, never guessed at
        "12000,50", "1,2,3", "12,00", "1,000_000", "1e3", "0E+20", "-0", "+5", ".5", "5.",
        "\u0661\u0662\u0663", "\uff11\uff12", "1\u200b000", "12 000 000.5\n1",
    ],
)  # fmt: skip
def test_a_revenue_that_is_no_amount_is_refused(written: str) -> None:
    with pytest.raises(MembershipError):
        parse_revenue(written)


@given(st.decimals(min_value=0, max_value=Decimal("1e15") - 1, places=2, allow_nan=False), st.sampled_from(",_ "))
def test_a_revenue_written_plainly_or_grouped_reads_back_as_the_amount_and_stores_plainly(
    value: Decimal, separator: str
) -> None:
    grouped = f"{value:,.2f}".replace(",", separator)
    assert parse_revenue(str(value)) == parse_revenue(grouped) == value
    stored = Membership("acme", None, parse_revenue(grouped)).to_attribute()["M"]["revenue"]["N"]
    assert re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", stored)  # no exponent, no sign


@given(
    st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    st.one_of(st.none(), st.sampled_from(["decision_maker", "user", "ops_lead"])),
    st.one_of(st.none(), st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False)),
)
def test_a_stored_membership_reads_back_equal(account_id: str, role: str | None, revenue: Decimal | None) -> None:
    membership = Membership(account_id, role, revenue)
    assert Membership.from_attribute(membership.to_attribute()) == membership


@pytest.mark.parametrize("stored", [None, {}, {"M": {}}, {"M": {"account_id": {"S": "a b"}}}, {"S": "acme"}])
def test_an_unreadable_stored_membership_is_no_account(stored: object) -> None:
    assert Membership.from_attribute(stored) is None


def test_role_and_revenue_need_an_account() -> None:
    with pytest.raises(MembershipError, match="need an account_id"):
        Membership.parse("", "user", "")
    assert Membership.parse(" ", "", "") is None


def test_contacts_file_places_contacts_in_accounts() -> None:
    report = parse_contacts_csv(
        "contact_id,email,account_id,role,revenue,plan\n"
        "c1,a@example.com,acme,Decision Maker,120000,pro\n"
        "c2,b@example.com,acme,user,,pro\n"
        "c3,c@example.com,,,,free\n"
    )
    assert report.errors == []
    by_id = {contact.contact_id: contact for contact in report.contacts}
    assert by_id["c1"].account == Membership("acme", DECISION_MAKER, Decimal(120000))
    assert by_id["c2"].account == Membership("acme", "user", None)
    assert by_id["c3"].account is None
    # The account columns are the account's, not segment attributes.
    assert by_id["c1"].attributes == {"plan": "pro"}


def test_bad_account_cells_are_reported_per_row_and_nothing_else_is_lost() -> None:
    report = parse_contacts_csv(
        "contact_id,email,account_id,role,revenue\n"
        "c1,a@example.com,acme,user,100\n"
        "c2,b@example.com,acme,user,200\n"  # a second revenue for acme
        "c3,c@example.com,ac me,user,\n"  # not an id
        "c4,d@example.com,,user,\n"  # a role without an account
        "c5,e@example.com,beta,user,-3\n"  # negative revenue
        "c6,f@example.com,acme,user,100\n"  # the same revenue again is fine
    )
    assert [contact.contact_id for contact in report.contacts] == ["c1", "c6"]
    errors = {error.line: " ".join(error.errors) for error in report.errors}
    assert sorted(errors) == [3, 4, 5, 6]
    assert "different revenue on line 2" in errors[3]
    assert "account_id is 1-64" in errors[4]
    assert "need an account_id" in errors[5]
    assert "revenue must be zero or more" in errors[6]


def test_an_invite_to_an_account_counts_in_the_accounts_month_and_quarter() -> None:
    sent = datetime(2026, 5, 12, 9, tzinfo=UTC)
    plain = invites_sent_keys("s1", sent, {"plan": "pro"}, "email")
    with_account = invites_sent_keys("s1", sent, {"plan": "pro"}, "email", "acme")
    extra = [key for key in with_account if key not in plain]
    assert len(with_account) == len(plain) + len(ACCOUNT_GRANULARITIES)
    assert {(key.granularity, key.period, key.segment, key.channel) for key in extra} == {
        (Granularity.MONTH, "2026-05", account_label("acme"), "*"),
        (Granularity.QUARTER, "2026-Q2", account_label("acme"), "*"),
    }
