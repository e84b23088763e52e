"""Moving suppressions to keyed keys: nobody suppressed is mailed before, during or after the move."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nps.sending.contacts import Contact
from nps.sending.planning import PlannedInvite
from nps.sending.rekeying import RekeyReport, rekey_suppressions
from nps.sending.suppression import address_hash, legacy_address_hash
from nps.sending.surveys import Survey
from nps.sending.waves import WavePlanner
from tests.support.fakes import ID_KEY

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


class Suppressions:
    """The suppressions table: key → attributes."""

    def __init__(self, items: dict[str, dict[str, str]] | None = None) -> None:
        self.items = items or {}

    def suppressed_among(self, hashes: Iterable[str]) -> set[str]:
        return {h for h in hashes if h in self.items}

    def rekey(self, legacy_hash: str, keyed_hash: str, now_iso: str) -> bool:
        if legacy_hash not in self.items or keyed_hash in self.items:
            return False
        copy = {k: v for k, v in self.items[legacy_hash].items() if k != "method"}
        self.items[keyed_hash] = copy | {"migrated_at": now_iso}
        return True

    def remove_legacy(self, legacy_hash: str, keyed_hash: str) -> bool:
        if keyed_hash not in self.items or legacy_hash not in self.items:
            return False
        del self.items[legacy_hash]
        return True


def legacy(channel: str, address: str, **attributes: str) -> tuple[str, dict[str, str]]:
    return legacy_address_hash(channel, address), {"reason": "unsubscribed", **attributes}


def test_the_migration_writes_keyed_copies_then_removes_the_legacy_items_on_request() -> None:
    # Given two contacts suppressed under legacy keys (an email unsubscribe, a phone STOP) and one not
    contacts = [
        Contact(contact_id="c1", email="Ann@Example.com"),
        Contact(contact_id="c2", email="bo@example.com", phone="+14155550123"),
        Contact(contact_id="c3", email="cy@example.com"),
    ]
    store = Suppressions(
        dict(
            [
                legacy("email", "ann@example.com", method="one_click", invite_id="inv-1"),
                legacy("sms", "+14155550123", reason="sms_opted_out"),
            ]
        )
    )
    # When the migration runs
    report = rekey_suppressions([contacts], store, ID_KEY, "2026-11-23T12:00:00Z")
    # Then each legacy suppression has a keyed copy (reason kept, no method so no second event), legacy kept
    assert report == RekeyReport(contacts=3, addresses=4, legacy_found=2, rekeyed=2)
    ann = store.items[address_hash("email", "ann@example.com", ID_KEY)]
    assert ann == {"reason": "unsubscribed", "invite_id": "inv-1", "migrated_at": "2026-11-23T12:00:00Z"}
    assert store.items[address_hash("sms", "+14155550123", ID_KEY)]["reason"] == "sms_opted_out"
    assert len(store.items) == 4
    # And a second run changes nothing (resumable), and --remove-legacy then drops exactly the legacy items
    again = rekey_suppressions([contacts], store, ID_KEY, "2026-11-23T13:00:00Z")
    assert (again.rekeyed, again.already_keyed) == (0, 2)
    removed = rekey_suppressions([contacts], store, ID_KEY, "2026-11-23T14:00:00Z", remove_legacy=True)
    assert (removed.legacy_removed, len(store.items)) == (2, 2)
    assert all(h not in store.items for h in (legacy_address_hash("email", "ann@example.com"),))


class _Surveys:
    def __init__(self, survey: Survey) -> None:
        self.survey = survey

    def get(self, survey_id: str) -> Survey | None:
        return self.survey

    def all(self) -> list[Survey]:
        return [self.survey]

    def due_reminders(self, survey_id: str, now_iso: str) -> Iterable[tuple[str, str]]:
        return []

    def delete_reminders(self, survey_id: str, sort_keys: Any) -> None: ...


class _Contacts:
    def __init__(self, contacts: list[Contact]) -> None:
        self.contacts = contacts

    def page(self, audience: str, after: str | None, limit: int) -> tuple[list[Contact], str | None]:
        return self.contacts, None

    def get(self, audience: str, contact_id: str) -> Contact | None:
        return next((c for c in self.contacts if c.contact_id == contact_id), None)


class _Invites:
    def __init__(self) -> None:
        self.invited: set[str] = set()

    def record_planned(
        self, planned: Any, planned_expiry: int, ttl: int, now: datetime
    ) -> list[tuple[PlannedInvite, bool, bool]]:
        self.invited.update(p.contact_id for p in planned)
        return [(p, True, True) for p in planned]

    def claim_mailboxes(self, planned: Any, ttl: int) -> set[str]:
        return set()


class _Queue:
    def enqueue(self, messages: Any) -> None: ...


def _invited(contacts: list[Contact], store: Suppressions) -> set[str]:
    survey = Survey.model_validate(
        {"survey_id": "s", "name": "n", "brand_name": "b", "sender": "s@example.com", "channels": ["email", "sms"]}
    )
    invites = _Invites()
    planner = WavePlanner(
        surveys=_Surveys(survey),
        contacts=_Contacts(contacts),
        suppressions=store,
        invites=invites,
        queue=_Queue(),
        id_key=lambda: ID_KEY,
        clock=lambda: NOW,
    )
    planner.scheduled_wave("s", NOW)
    return invites.invited


_STATES = st.sampled_from(["none", "legacy", "keyed", "both"])


@settings(max_examples=60, deadline=None, database=None)
@given(states=st.lists(_STATES, min_size=1, max_size=6), stage=st.sampled_from(["before", "migrated", "removed"]))
def test_a_suppressed_contact_is_never_invited_at_any_stage_of_the_migration(states: list[str], stage: str) -> None:
    # Given contacts suppressed under no key, the legacy key, the keyed key or both
    contacts = [Contact(contact_id=f"c{i}", email=f"p{i}@example.com") for i in range(len(states))]
    store = Suppressions()
    for contact, state in zip(contacts, states, strict=True):
        if state in ("legacy", "both"):
            store.items[legacy_address_hash("email", contact.email or "")] = {"reason": "bounced"}
        if state in ("keyed", "both"):
            store.items[address_hash("email", contact.email or "", ID_KEY)] = {"reason": "bounced"}
    # When a wave is planned before the migration, after it, or after removing the legacy items
    if stage != "before":
        rekey_suppressions([contacts], store, ID_KEY, "2026-11-23T12:00:00Z", remove_legacy=stage == "removed")
    # Then exactly the never-suppressed contacts are invited
    expected = {c.contact_id for c, s in zip(contacts, states, strict=True) if s == "none"}
    assert _invited(contacts, store) == expected


def test_a_number_stored_with_its_trunk_prefix_stays_suppressed_once_reimported_in_e164() -> None:
    # Given a number suppressed while stored as earlier releases wrote it (+44 (0)20 … → +4402079460958),
    # both under the legacy key and (after upgrading) under the keyed key of that spelling
    old_spelling, canonical = "+4402079460958", "+442079460958"
    store = Suppressions(dict([legacy("sms", old_spelling, reason="unsubscribed")]))
    store.items[address_hash("sms", "+49030123456", ID_KEY)] = {"reason": "sms_opted_out"}
    # When the migration runs after the file was re-imported (the contacts now hold the E.164 numbers)
    contacts = [Contact(contact_id="c1", phone=canonical), Contact(contact_id="c2", phone="+4930123456")]
    rekey_suppressions([contacts], store, ID_KEY, "2026-11-23T12:00:00Z")
    # Then each canonical number is suppressed under its keyed key, with the reason it had
    assert store.items[address_hash("sms", canonical, ID_KEY)]["reason"] == "unsubscribed"
    assert store.items[address_hash("sms", "+4930123456", ID_KEY)]["reason"] == "sms_opted_out"
    # And run before the re-import (contacts still hold the old spelling) it reaches the same keys
    before = Suppressions(dict([legacy("sms", old_spelling, reason="unsubscribed")]))
    rekey_suppressions([[Contact.model_construct(contact_id="c1", phone=old_spelling)]], before, ID_KEY, "t")
    assert address_hash("sms", canonical, ID_KEY) in before.items
