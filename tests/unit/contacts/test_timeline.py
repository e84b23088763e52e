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


def test_a_re_survey_answer_shows_as_not_counted_in_the_nps() -> None:
    from nps.contacts.adapters.records import response_entry
    from nps.contacts.timeline import InviteEntry

    def stored(wave_id: str) -> dict[str, dict[str, object]]:
        return {
            "invite_id": {"S": f"inv-{wave_id}"},
            "wave_id": {"S": wave_id},
            "score": {"N": "10"},
            "category": {"S": "promoter"},
            "counted": {"BOOL": True},
            "first_answered_at": {"S": "2026-11-02T10:00:00Z"},
            "answered_at": {"S": "2026-11-02T10:00:00Z"},
            "version": {"N": "1"},
        }

    # Given a detractor's answer in a wave and the answer to its follow-up's re-survey, both stored as counted
    wave, resurvey = response_entry(stored("2026-q4")), response_entry(stored("fu-abc123"))
    # Then the timeline holds the wave's answer counted and the re-survey's not (the NPS leaves it out)
    assert wave.counted
    assert not resurvey.counted
    invites = tuple(
        InviteEntry(f"inv-{w}", "s", w, "email", "answered", "2026-11-01T09:00:00Z", response=r)
        for w, r in (("2026-q4", wave), ("fu-abc123", resurvey))
    )
    lines = render_text(Timeline("c-1", (entry("apac"),), invites, (), ())).splitlines()
    answered = [line for line in lines if "answered 10" in line]
    # And the text says why the re-survey's answer is not counted, and nothing of the wave's
    assert answered[0].endswith("last at 2026-11-02T10:00:00Z")
    assert answered[1].endswith(", a follow-up's re-survey, not counted in the NPS")
