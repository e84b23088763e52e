"""The redirect's scanner judgement and the Referral Joined contract (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from nps.accounts.adapters.referrals import Answer, Ask
from nps.referrals.joins import InvalidJoin, JoinOutcome, parse_join, record_join
from nps.referrals.redirect import automated_reasons

PERSON = {"user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148", "sec-fetch-site": "same-origin"}
NOW = 1_800_000_000.0
ASKED = datetime.fromtimestamp(NOW - 600, UTC)


def test_a_persons_post_is_not_automated() -> None:
    assert automated_reasons(PERSON, NOW, ASKED, [(NOW - 2, "referral")]) == ()


@pytest.mark.parametrize(
    ("headers", "asked", "opens", "reason"),
    [
        ({"user-agent": "Proofpoint URL Defense"}, ASKED, [], "scanner user agent"),
        ({}, ASKED, [], "no user agent"),
        (PERSON | {"sec-purpose": "prefetch"}, ASKED, [], "prefetch"),
        (PERSON | {"sec-fetch-site": "cross-site"}, ASKED, [], "cross-site post"),
        (PERSON, datetime.fromtimestamp(NOW - 2, UTC), [], "seconds after sending"),
        (PERSON, ASKED, [(NOW - 3, "referral"), (NOW - 2.5, "review")], "both links fetched at once"),
        (PERSON, ASKED, [(NOW - s, "referral") for s in range(4)], "burst of fetches"),
    ],
)
def test_scanner_signals_make_a_post_automated(
    headers: dict[str, str], asked: datetime, opens: list[tuple[float, str]], reason: str
) -> None:
    assert reason in automated_reasons(headers, NOW, asked, opens)


def event(**detail: Any) -> dict[str, Any]:
    return {
        "source": "acme.referrals",
        "detail-type": "Referral Joined",
        "detail": {"schema_version": "1.0", "contact_id": "c-1", "joined_at": "2026-12-01T10:00:00Z"} | detail,
    }


def test_a_join_is_read_from_its_event() -> None:
    join = parse_join(event(referral_id="ref-1"))
    assert join.contact_id == "c-1"
    assert join.joined_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert join.referral_id == "ref-1"


@pytest.mark.parametrize(
    "bad",
    [
        event(contact_id="a b"), event(contact_id=None), event(joined_at="2026-12-01T10:00:00"),
        event(joined_at="yesterday"), event(schema_version="2.0"), event(referral_id="has space"),
        event(email="x@example.com"), event() | {"source": "nps"}, event() | {"detail-type": "Other"},
        event() | {"detail": []}, event(joined_at="0001-01-01T00:30:00+01:00"),
        event(joined_at="9999-12-31T23:59:59-01:00"),
    ],
)  # fmt: skip
def test_a_join_that_breaks_the_contract_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidJoin):
        parse_join(bad)


class FakeLedger:
    def __init__(self, ask: Ask | None) -> None:
        self.ask = ask
        self.joined: set[str] = set()
        self.unasked: set[str] = set()

    def latest_ask(self, contact_id: str) -> Ask | None:
        return self.ask

    def record_join(self, answer: Answer, joined_at: datetime, referral_id: str | None) -> bool:
        fresh = answer.invite_id not in self.joined
        self.joined.add(answer.invite_id)
        return fresh

    def record_unasked_join(self, contact_id: str, joined_at: datetime, referral_id: str | None) -> bool:
        fresh = contact_id not in self.unasked
        self.unasked.add(contact_id)
        return fresh


def test_joins_are_recorded_once_and_unasked_ones_apart() -> None:
    answer = Answer("s-1", "inv-1", "c-1", datetime(2026, 11, 1, tzinfo=UTC))
    ledger = FakeLedger(Ask(answer, datetime(2026, 11, 1, 1, tzinfo=UTC)))
    join = parse_join(event())
    assert record_join(ledger, join) is JoinOutcome.JOINED
    assert record_join(ledger, join) is JoinOutcome.DUPLICATE
    nobody = FakeLedger(None)
    assert record_join(nobody, join) is JoinOutcome.UNASKED
    assert record_join(nobody, join) is JoinOutcome.UNASKED_DUPLICATE
