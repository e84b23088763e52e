"""Lifting suppressions: the operator's reason, the audit, and following SNS for numbers that texted STOP."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.sending.contacts import Contact
from nps.sending.lifting import (
    MAX_REASON_CHARS,
    InvalidLift,
    Lift,
    OptInRefused,
    Resolution,
    SuppressionRecord,
    checked_reason,
    follow_sns,
    unsuppress,
)
from nps.sending.suppression import SuppressionReason, address_hash
from tests.support.fakes import ID_KEY

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PHONE = "+447911123499"
CONTACT = Contact(contact_id="kim", audience="default", email="kim@example.com", phone=PHONE)


@dataclass
class Lifts:
    records: dict[str, SuppressionRecord] = field(default_factory=dict)
    audits: list[Lift] = field(default_factory=list)

    def get(self, address_hash: str) -> SuppressionRecord | None:
        return self.records.get(address_hash)

    def lift(self, lift: Lift) -> bool:
        if self.records.get(lift.lifted.address_hash) != lift.lifted:
            return False
        del self.records[lift.lifted.address_hash]
        self.audits.append(lift)
        return True


@dataclass
class Sns:
    opted_out_numbers: set[str] = field(default_factory=set)
    refuse: bool = False

    def opted_out(self, phone: str) -> bool:
        return phone in self.opted_out_numbers

    def opt_in(self, phone: str) -> None:
        if self.refuse:
            raise OptInRefused("SNS keeps the number opted out (InvalidParameter)")
        self.opted_out_numbers.discard(phone)


def record(channel: str, address: str, reason: SuppressionReason) -> SuppressionRecord:
    return SuppressionRecord(address_hash(channel, address, ID_KEY), reason.value, "2026-10-01T00:00:00.000000Z", "kim")


def test_a_stop_only_suppression_is_lifted_once_sns_says_the_number_is_opted_in_again() -> None:
    stop = record("sms", PHONE, SuppressionReason.SMS_OPTED_OUT)
    lifts = Lifts({stop.address_hash: stop})
    assert follow_sns(stop, opted_out_at_sns=False, now=NOW, lifts=lifts) is Resolution.SEND
    (audit,) = lifts.audits
    assert (audit.by, audit.channel, audit.lifted, audit.at) == ("sns", "sms", stop, "2026-11-23T10:00:00.000Z")


@given(reason=st.sampled_from(list(SuppressionReason)), opted_out_at_sns=st.booleans())
def test_only_a_stop_suppression_follows_sns_and_only_when_sns_opted_the_number_in(
    reason: SuppressionReason, opted_out_at_sns: bool
) -> None:
    stored = record("sms", PHONE, reason)
    lifts = Lifts({stored.address_hash: stored})
    decision = follow_sns(stored, opted_out_at_sns=opted_out_at_sns, now=NOW, lifts=lifts)
    follows = reason is SuppressionReason.SMS_OPTED_OUT and not opted_out_at_sns
    assert decision is (Resolution.SEND if follows else Resolution.SUPPRESSED)
    assert (stored.address_hash in lifts.records) is not follows


def test_unsuppress_opts_the_number_in_at_sns_then_lifts_both_channels_with_the_reason() -> None:
    email = record("email", "kim@example.com", SuppressionReason.COMPLAINED)
    stop = record("sms", PHONE, SuppressionReason.SMS_OPTED_OUT)
    lifts, sns = Lifts({email.address_hash: email, stop.address_hash: stop}), Sns({PHONE})
    results = unsuppress(
        CONTACT,
        ("email", "sms"),
        by="alice",
        why="  asked again\n#4711 ",
        now=NOW,
        lifts=lifts,
        sms=sns,
        id_key=ID_KEY,
    )
    assert [(r.channel, r.outcome, r.previous_reason) for r in results] == [
        ("email", "lifted", "complained"),
        ("sms", "lifted", "sms_opted_out"),
    ]
    assert sns.opted_out_numbers == set()
    assert [(a.by, a.why) for a in lifts.audits] == [("alice", "asked again #4711")] * 2


def test_unsuppress_keeps_the_suppression_when_sns_refuses_the_opt_in() -> None:
    stop = record("sms", PHONE, SuppressionReason.SMS_OPTED_OUT)
    lifts = Lifts({stop.address_hash: stop})
    (result,) = unsuppress(
        CONTACT, ("sms",), by="alice", why="x", now=NOW, lifts=lifts, sms=Sns({PHONE}, refuse=True), id_key=ID_KEY
    )
    assert (result.outcome, result.previous_reason) == ("refused", "sms_opted_out")
    assert "InvalidParameter" in result.detail
    assert lifts.records == {stop.address_hash: stop}
    assert lifts.audits == []


def test_a_contact_without_a_number_has_nothing_to_lift_on_sms() -> None:
    contact = Contact(contact_id="e", audience="default", email="e@example.com")
    (result,) = unsuppress(contact, ("sms",), by="alice", why="x", now=NOW, lifts=Lifts(), sms=Sns(), id_key=ID_KEY)
    assert result.outcome == "no_address"


@pytest.mark.parametrize(("why", "by"), [("", "alice"), (" \n\t", "alice"), ("x" * 501, "alice"), ("ok", " ")])
def test_a_lift_needs_a_reason_of_at_most_500_characters_and_someone(why: str, by: str) -> None:
    with pytest.raises(InvalidLift):
        unsuppress(CONTACT, ("email",), by=by, why=why, now=NOW, lifts=Lifts(), sms=Sns(), id_key=ID_KEY)


@given(st.text(max_size=600))
def test_any_reason_is_kept_on_one_line_or_refused(why: str) -> None:
    visible = "".join(c for c in why if unicodedata.category(c) not in ("Cc", "Cf") or c.isspace())
    words = visible.split()
    expected = " ".join(words)
    if not words or len(expected) > MAX_REASON_CHARS:
        with pytest.raises(InvalidLift):
            checked_reason(why)
    else:
        assert checked_reason(why) == expected
        assert all(unicodedata.category(c) not in ("Cc", "Cf") for c in checked_reason(why))


def test_the_audit_keeps_reason_and_by_on_one_line_without_control_characters() -> None:
    email = record("email", CONTACT.email or "", SuppressionReason.COMPLAINED)
    lifts = Lifts({email.address_hash: email})
    unsuppress(
        CONTACT,
        ("email",),
        by="alice\x1b]0;owned\x07\nmallory",
        why="asked \x1b[2Jagain\u202e",
        now=NOW,
        lifts=lifts,
        sms=Sns(),
        id_key=ID_KEY,
    )
    (lift,) = lifts.audits
    assert (lift.by, lift.why) == ("alice]0;owned mallory", "asked [2Jagain")


def test_a_by_longer_than_an_arn_is_refused() -> None:
    with pytest.raises(InvalidLift, match="--by is 301 characters long"):
        unsuppress(CONTACT, ("email",), by="x" * 301, why="ok", now=NOW, lifts=Lifts(), sms=Sns(), id_key=ID_KEY)
