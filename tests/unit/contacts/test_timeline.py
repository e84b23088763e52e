"""A contact's timeline over several audiences: each audience holds its own address, suppressed or not."""

from __future__ import annotations

from datetime import UTC, datetime

from nps.contacts.timeline import ContactEntry, SuppressionEntry, Timeline, eligibility, render_text

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def entry(audience: str) -> ContactEntry:
    return ContactEntry(audience, ("email",), "UTC", "en", None)


def test_an_address_suppressed_in_one_audience_does_not_block_the_other_audiences_address() -> None:
    # Given a contact in two audiences, its address in "emea" suppressed, the one in "apac" not
    contacts = (entry("apac"), entry("emea"))
    states = (
        SuppressionEntry("email", False, audience="apac"),
        SuppressionEntry("email", True, "unsubscribed", "2026-11-01T00:00:00Z", audience="emea"),
    )
    # Then the survey may still ask it (through apac)
    (item,) = eligibility(contacts, {"s": 30}, states, NOW)
    assert item.blocked is None
    # And with both suppressed, no date helps
    both = (states[0].__class__("email", True, "bounced", None, "apac"), states[1])
    assert eligibility(contacts, {"s": 30}, both, NOW)[0].blocked == "every channel suppressed"
    # And the text names the audience of each state
    text = render_text(Timeline("c-1", contacts, (), states, ()))
    assert "email in apac: not suppressed" in text
    assert "email in emea: suppressed (unsubscribed" in text
