"""The erasure's order and its promises on an in-memory store: idempotent, resumable after a crash at any
step, no send in flight reported as erased, nothing of another contact touched."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.contacts.erasure import (
    Addresses,
    ErasureService,
    InvalidContactId,
    InviteState,
    Journal,
    SendInFlight,
    check_contact_id,
)
from nps.events.publisher import Event
from nps.links.pseudonyms import IdKey
from nps.sending.planning import invite_id_for

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = IdKey.from_secret({"key": "k" * 64})


@dataclass
class Invite:
    contact_id: str
    wave_id: str
    status: str = "sent"
    erasing_at: str | None = None
    #: Only sent invites are in the invites' ``by_contact`` index (queued, skipped, failed ones are not).
    indexed: bool = True


@dataclass
class World:
    contacts: dict[tuple[str, str], Addresses] = field(default_factory=dict)
    journals: dict[str, Journal] = field(default_factory=dict)
    invites: dict[str, Invite] = field(default_factory=dict)
    responses: dict[str, int] = field(default_factory=dict)
    follow_ups: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    suppressions: dict[str, str] = field(default_factory=dict)
    #: audience → the recorded waves of its surveys (``wave#<id>`` in the surveys table)
    waves: dict[str, list[str]] = field(default_factory=dict)


class Crash(Exception):
    """Raised by the fake store at the write a test chose: the erasure stops there, as a Lambda that crashed."""


class Store:
    """:class:`nps.contacts.erasure.ErasureStore` over a :class:`World`; ``crash_at`` counts down the
    writes and raises :class:`Crash` at zero (a function stopped half-way)."""

    def __init__(self, world: World, crash_at: int | None = None) -> None:
        self.world = world
        self.crash_at = crash_at

    def _write(self) -> None:
        if self.crash_at is not None:
            if self.crash_at == 0:
                raise Crash
            self.crash_at -= 1

    def contact_audiences(self, contact_id: str) -> list[str]:
        return sorted(a for a, c in self.world.contacts if c == contact_id)

    def addresses(self, audience: str, contact_id: str) -> Addresses | None:
        return self.world.contacts.get((audience, contact_id))

    def journal(self, contact_id: str) -> Journal | None:
        return self.world.journals.get(contact_id)

    def save_journal(self, journal: Journal) -> None:
        self._write()
        self.world.journals[journal.contact_id] = journal

    def delete_journal(self, contact_id: str) -> None:
        self._write()
        self.world.journals.pop(contact_id, None)

    def invite_ids(self, contact_id: str) -> list[str]:
        return sorted(i for i, v in self.world.invites.items() if v.contact_id == contact_id and v.indexed)

    def recorded_waves(self, audiences: Sequence[str]) -> list[str]:
        return [wave for audience in audiences for wave in self.world.waves.get(audience, [])]

    def resurvey_waves(self, invite_ids: Sequence[str]) -> list[str]:
        # a follow-up's id is ``fu<invite id>`` here; its re-survey wave ``fu-`` and that id
        return [f"fu-fu{i}" for i in invite_ids if i in self.world.follow_ups]

    def invite_states(self, invite_ids: Sequence[str]) -> list[InviteState]:
        return [
            InviteState(
                i, self.world.invites[i].wave_id, self.world.invites[i].status, self.world.invites[i].erasing_at
            )
            for i in invite_ids
            if i in self.world.invites
        ]

    def delete_contact(self, audience: str, contact_id: str) -> bool:
        self._write()
        return self.world.contacts.pop((audience, contact_id), None) is not None

    def mark_erasing(self, invite_id: str, now_iso: str) -> bool:
        self._write()
        invite = self.world.invites.get(invite_id)
        if invite is None:
            return False
        invite.erasing_at = invite.erasing_at or now_iso
        return True

    def delete_response(self, invite_id: str) -> bool:
        self._write()
        return self.world.responses.pop(invite_id, None) is not None

    def delete_follow_ups(self, invite_id: str) -> int:
        self._write()
        return self.world.follow_ups.pop(invite_id, 0)

    def delete_account_records(self, contact_id: str, invite_ids: Sequence[str]) -> int:
        self._write()
        return self.world.accounts.pop(contact_id, 0)

    def keep_suppressions(self, hashes: Sequence[str], keyed: Sequence[str], now_iso: str) -> int:
        self._write()
        for entry in keyed:
            self.world.suppressions.setdefault(entry.split(":")[1], "erased")
        return sum(entry.split(":")[1] in self.world.suppressions for entry in hashes)

    def delete_suppressions(self, hashes: Sequence[str]) -> int:
        self._write()
        return sum(self.world.suppressions.pop(entry.split(":")[1], None) is not None for entry in hashes)

    def delete_mailbox_claims(self, keys: Sequence[str], contact_id: str) -> int:
        return 0

    def erase_import_rows(self, contact_id: str, audiences: Sequence[str]) -> int:
        return 0

    def delete_invite(self, invite_id: str) -> bool:
        self._write()
        invite = self.world.invites.get(invite_id)
        if invite is None or invite.status == "sending":
            return False
        del self.world.invites[invite_id]
        return True


class Publisher:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, events: Sequence[Event]) -> int:
        self.events.extend(events)
        return len(events)


def service(store: Store, publisher: Publisher | None = None) -> ErasureService:
    clock = iter(NOW + timedelta(seconds=n) for n in range(10_000))
    return ErasureService(
        store, publisher or Publisher(), lambda: KEY, clock=lambda: next(clock), sleep=lambda seconds: None
    )


def world(contacts: int, invites_each: int, answered: Any = lambda n: n % 2 == 0, unsent: int = 0) -> World:
    """``contacts`` contacts, each with ``invites_each`` sent invites (the answered ones with a follow-up
    whose re-survey invite was queued, never sent) and ``unsent`` skipped invites of earlier recorded waves."""
    w = World()
    w.waves["default"] = [f"wave-{n}" for n in range(invites_each)] + [f"old-{n}" for n in range(unsent)]
    for c in range(contacts):
        cid = f"c-{c}"
        w.contacts[("default", cid)] = Addresses(f"p{c}@example.com", None)
        w.accounts[cid] = 1
        for n in range(invites_each):
            invite_id = f"inv-{c}-{n}"
            w.invites[invite_id] = Invite(cid, f"wave-{n}")
            if answered(n):
                w.responses[invite_id] = n
                w.follow_ups[invite_id] = 1
                resurvey = invite_id_for(f"fu-fu{invite_id}", cid, "default", KEY)
                w.invites[resurvey] = Invite(cid, f"fu-fu{invite_id}", status="queued", indexed=False)
        for n in range(unsent):
            skipped = invite_id_for(f"old-{n}", cid, "default", KEY)
            w.invites[skipped] = Invite(cid, f"old-{n}", status="skipped", indexed=False)
    from nps.sending.suppression import address_hash

    w.suppressions[address_hash("email", "p0@example.com", KEY)] = "unsubscribed"
    return w


def holds(w: World, contact_id: str) -> list[str]:
    found = [f"contact {a}" for a, c in w.contacts if c == contact_id]
    found += [f"journal {c}" for c in w.journals if c == contact_id]
    mine = [i for i, v in w.invites.items() if v.contact_id == contact_id]
    found += [f"invite {i}" for i in mine]
    found += [f"response {i}" for i in w.responses if i.startswith(f"inv-{contact_id.removeprefix('c-')}-")]
    found += [f"follow-up {i}" for i in w.follow_ups if i.startswith(f"inv-{contact_id.removeprefix('c-')}-")]
    found += [f"account {c}" for c in w.accounts if c == contact_id]
    return found


def test_bad_ids_are_refused_before_any_call() -> None:
    for bad in ("", "a b", "x" * 65, "\x1b[31m", "c-1/../x", "é"):
        with pytest.raises(InvalidContactId):
            check_contact_id(bad)
    with pytest.raises(InvalidContactId):
        service(Store(World())).erase("bad id")


@given(
    contact_id=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    tail=st.sampled_from(["\n", "\r\n", " ", "\t", "\x00", "/", "%2F", "\u2028"]),
)
def test_an_id_with_a_trailing_line_break_or_space_is_refused_not_taken_for_another(contact_id: str, tail: str) -> None:
    # A "c-1\n" from a script must not be read as nothing-left-for "c-1" (re's ``$`` matches before a final
    # line feed): the id is refused as a whole, like the API's pattern refuses it.
    from nps.events.details import is_id

    assert check_contact_id(contact_id) == contact_id
    assert is_id(contact_id)
    for bad in (contact_id + tail, tail + contact_id):
        with pytest.raises(InvalidContactId):
            check_contact_id(bad)
        assert not is_id(bad)


def test_erasing_removes_the_contact_everywhere_and_publishes_counts_without_an_address() -> None:
    w = world(3, 4)
    publisher = Publisher()
    result = service(Store(w), publisher).erase("c-0")
    assert holds(w, "c-0") == []
    assert result.counts["invites"] == 4 + 2  # and the two answers' re-survey invites, never sent
    assert result.counts["responses"] == 2
    assert result.counts["suppressions"] == 1
    (event,) = publisher.events
    assert event.detail_type == "NPS Contact Erased"
    assert "@" not in event.detail.model_dump_json()
    assert holds(w, "c-1") != []


def test_erasing_twice_and_erasing_an_unknown_id_are_documented_no_ops() -> None:
    w = world(1, 2)
    erasure = service(Store(w))
    erasure.erase("c-0")
    again = erasure.erase("c-0")
    assert again.nothing_left
    assert set(again.counts.values()) == {0}
    assert erasure.erase("nobody").nothing_left


def test_a_send_in_flight_is_waited_for_then_refused_and_a_rerun_finishes() -> None:
    w = world(1, 2)
    w.invites["inv-0-0"].status = "sending"
    erasure = service(Store(w))
    with pytest.raises(SendInFlight):
        erasure.erase("c-0")
    # the contact item is gone (no new send can start), the journal keeps the suppression keys
    assert w.contacts == {}
    assert "c-0" in w.journals
    w.invites["inv-0-0"].status = "sent"
    result = erasure.erase("c-0")
    assert holds(w, "c-0") == []
    assert result.counts["suppressions"] == 1  # found through the journal's keys, the contact item long gone


def test_keep_suppression_on_an_id_with_nothing_left_claims_no_suppression() -> None:
    # Given a contact erased without keeping its suppression
    w = world(2, 1)
    erasure = service(Store(w))
    erasure.erase("c-1")
    # When it is erased again asking to keep one (the addresses are gone: nothing can be kept now)
    again = erasure.erase("c-1", keep_suppression=True)
    # Then the answer does not claim a suppression that does not exist
    assert again.nothing_left
    assert again.as_dict()["suppression_kept"] is False
    assert erasure.erase("nobody", keep_suppression=True).suppression_kept is False


def test_keep_suppression_writes_hash_only_suppressions_before_the_contact_goes() -> None:
    w = world(2, 1)
    result = service(Store(w)).erase("c-1", keep_suppression=True)
    from nps.sending.suppression import address_hash

    assert w.suppressions[address_hash("email", "p1@example.com", KEY)] == "erased"
    assert result.suppression_kept


@given(
    contacts=st.integers(1, 4),
    invites_each=st.integers(0, 4),
    victim=st.integers(0, 3),
    crash_at=st.integers(0, 40),
    keep=st.booleans(),
    unsent=st.integers(0, 2),
)
def test_a_crash_at_any_write_then_a_rerun_ends_where_one_uninterrupted_erasure_ends(
    contacts: int, invites_each: int, victim: int, crash_at: int, keep: bool, unsent: int
) -> None:
    contact_id = f"c-{victim % contacts}"
    crashed, clean = world(contacts, invites_each, unsent=unsent), world(contacts, invites_each, unsent=unsent)
    with contextlib.suppress(Crash):
        service(Store(crashed, crash_at=crash_at)).erase(contact_id, keep_suppression=keep)
    service(Store(crashed)).erase(contact_id, keep_suppression=keep)
    service(Store(clean)).erase(contact_id, keep_suppression=keep)
    assert holds(crashed, contact_id) == []
    assert crashed == clean
    # and no other contact lost anything
    untouched = world(contacts, invites_each, unsent=unsent)
    for other in range(contacts):
        if f"c-{other}" != contact_id:
            assert holds(crashed, f"c-{other}") == holds(untouched, f"c-{other}")


def test_the_fence_waits_out_the_respond_timeout_after_marking_invites() -> None:
    w = world(1, 1)
    waits: list[float] = []
    erasure = ErasureService(Store(w), Publisher(), lambda: KEY, clock=lambda: NOW, sleep=waits.append)
    erasure.erase("c-0")
    assert waits == [pytest.approx(erasure.respond_grace_seconds)]
    # a rerun long after the marks waits no more
    w2 = world(1, 1, answered=lambda n: False)
    w2.invites["inv-0-0"].erasing_at = "2026-11-01T00:00:00Z"
    waits.clear()
    ErasureService(Store(copy.deepcopy(w2)), Publisher(), lambda: KEY, clock=lambda: NOW, sleep=waits.append).erase(
        "c-0"
    )
    assert waits == []


def test_an_invite_that_reaches_the_index_late_is_fenced_and_erased_too() -> None:
    # Given an invite the index shows only on the second look (eventual consistency)
    w = world(1, 1, answered=lambda n: False)
    late = Invite("c-0", "wave-9")
    store = Store(w)
    looks = iter([False, True, True, True])
    real = store.invite_ids

    def lagging(contact_id: str) -> list[str]:
        if next(looks, True):
            w.invites["inv-0-9"] = late
        return real(contact_id)

    store.invite_ids = lagging  # type: ignore[method-assign]
    result = service(store).erase("c-0")
    assert result.counts["invites"] == 2
    assert holds(w, "c-0") == []


def test_unsent_invites_of_recorded_waves_and_unsent_re_survey_invites_are_erased() -> None:
    # Given a contact with invites skipped in earlier recorded waves (in no index) and a queued re-survey
    w = world(2, 2, unsent=3)
    before = sum(1 for v in w.invites.values() if v.contact_id == "c-0" and not v.indexed)
    assert before == 3 + 1
    # When it is erased
    result = service(Store(w)).erase("c-0")
    # Then none of its invites is left, and the other contact's unsent invites are untouched
    assert holds(w, "c-0") == []
    assert result.counts["invites"] == 2 + before
    assert sum(1 for v in w.invites.values() if v.contact_id == "c-1" and not v.indexed) == before


def test_a_rerun_after_the_follow_ups_are_gone_still_finds_the_unsent_re_survey_invite() -> None:
    # Given an erasure that crashed right after deleting the follow-ups (their re-survey waves with them)
    w = world(1, 1)
    store = Store(w)
    real = store.delete_follow_ups

    def crash_after(invite_id: str) -> int:
        real(invite_id)
        raise Crash

    store.delete_follow_ups = crash_after  # type: ignore[method-assign]
    with contextlib.suppress(Crash):
        service(store).erase("c-0")
    assert w.follow_ups == {}
    # When it is run again, Then the queued re-survey invite is found through the journal's waves
    service(Store(w)).erase("c-0")
    assert holds(w, "c-0") == []
