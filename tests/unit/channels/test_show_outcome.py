"""Every cancellation of the show transaction maps to an outcome (never an unexpected error)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nps.channels.adapters.store import RETRYABLE_CODES, ShowItem, ShowOutcome, show_outcome

CCF = "ConditionalCheckFailed"
CODES = st.sampled_from(["None", CCF, "TransactionConflict", "ThrottlingError", "ValidationError", "?", ""])
ITEMS = st.lists(st.sampled_from(list(ShowItem)), max_size=12)


def test_each_conditional_item_has_its_outcome() -> None:
    items = [ShowItem.INVITE, ShowItem.STATE, ShowItem.CAP, ShowItem.CONTACT, ShowItem.AGGREGATE]
    assert show_outcome(items, [CCF, "None", "None", "None", "None"]) is ShowOutcome.ALREADY_SHOWN
    assert show_outcome(items, ["None", "None", CCF, "None", "None"]) is ShowOutcome.DAILY_CAP
    assert show_outcome(items, ["None", "None", "None", CCF, "None"]) is ShowOutcome.CONTACT_GONE
    # Without a cap the contact is the third item: its index, not a fixed position, decides
    no_cap = [ShowItem.INVITE, ShowItem.STATE, ShowItem.CONTACT, ShowItem.AGGREGATE]
    assert show_outcome(no_cap, ["None", "None", CCF, "None"]) is ShowOutcome.CONTACT_GONE


def test_contention_on_any_item_is_retried_and_anything_else_is_busy() -> None:
    items = [ShowItem.INVITE, ShowItem.STATE, ShowItem.AGGREGATE]
    for index in range(3):
        codes = ["None"] * 3
        codes[index] = "TransactionConflict"
        assert show_outcome(items, codes) is None
        codes[index] = "ValidationError"
        assert show_outcome(items, codes) is ShowOutcome.BUSY
    assert show_outcome(items, ["?"]) is ShowOutcome.BUSY  # reasons that do not match the items
    assert show_outcome(items, []) is ShowOutcome.BUSY


def test_an_erased_contact_wins_over_every_other_reason() -> None:
    items = [ShowItem.INVITE, ShowItem.STATE, ShowItem.CAP, ShowItem.CONTACT]
    assert show_outcome(items, [CCF, "None", CCF, CCF]) is ShowOutcome.CONTACT_GONE
    assert show_outcome(items, [CCF, "None", CCF, "None"]) is ShowOutcome.ALREADY_SHOWN


@given(ITEMS, st.lists(CODES, max_size=12))
def test_any_reasons_give_an_outcome_or_a_retry_of_contention_only(items: list[ShowItem], codes: list[str]) -> None:
    outcome = show_outcome(items, codes)
    failed = {item for item, code in zip(items, codes, strict=False) if code == CCF}
    conditional = failed & {ShowItem.INVITE, ShowItem.CAP, ShowItem.CONTACT}
    if conditional:
        expected = {
            ShowItem.CONTACT: ShowOutcome.CONTACT_GONE,
            ShowItem.INVITE: ShowOutcome.ALREADY_SHOWN,
            ShowItem.CAP: ShowOutcome.DAILY_CAP,
        }
        first = next(item for item in (ShowItem.CONTACT, ShowItem.INVITE, ShowItem.CAP) if item in conditional)
        assert outcome is expected[first]
    elif outcome is None:
        active = [code for code in codes if code not in ("None", "")]
        assert active
        assert set(active) <= RETRYABLE_CODES
        assert len(codes) == len(items)
    else:
        assert outcome is ShowOutcome.BUSY
