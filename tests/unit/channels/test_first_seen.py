"""First seen is recorded on every identified eligibility call, whatever the decision, and only once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nps.channels.adapters.store import EligibilityReads, ShowOutcome, ShowRequest
from nps.channels.eligibility import PeriodInvite, Reason, WebState, WebSurvey
from nps.channels.service import WebService
from nps.channels.site_tokens import mint, site_secret
from nps.kernel.periods import iso_timestamp
from nps.links.pseudonyms import IdKey
from nps.links.tokens import Keyring

KEYRING = Keyring({"k1": b"k" * 32}, "k1")
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BASE = {"survey_id": "s", "brand_name": "Acme", "web": {"enabled": True, "allowed_origins": ["https://a.example"]}}


class FakeStore:
    """The web store's interface in memory; ``writes`` counts first-seen writes and shows."""

    def __init__(self, show_outcome: ShowOutcome = ShowOutcome.SHOWN) -> None:
        self.states: dict[str, WebState] = {}
        self.invites: dict[str, PeriodInvite] = {}
        self.show_outcome = show_outcome
        self.first_seen_writes = 0
        self.reads = 0

    def first_seen_recorded(self, state_id: str) -> bool:
        self.reads += 1
        return bool(self.states.get(state_id, WebState()).first_seen_at)

    def eligibility_reads(self, audience: str, contact_id: str, state_id: str, invite_id: str) -> EligibilityReads:
        self.reads += 1
        return EligibilityReads(None, self.states.get(state_id), self.invites.get(invite_id))

    def any_suppressed(self, hashes: Any) -> bool:
        return False

    def record_first_seen(self, state_id: str, survey_id: str, contact_id: str, now: datetime) -> None:
        self.first_seen_writes += 1
        state = self.states.get(state_id, WebState())
        self.states[state_id] = replace(state, first_seen_at=state.first_seen_at or iso_timestamp(now))

    def show(self, request: ShowRequest) -> ShowOutcome:
        # ALREADY_SHOWN: a concurrent request's show won the race, and its transaction wrote the same items
        # (the period's invite and the state, first seen included) at the same moment.
        if self.show_outcome in (ShowOutcome.SHOWN, ShowOutcome.ALREADY_SHOWN):
            now = iso_timestamp(request.now)
            state = self.states.get(request.state_id, WebState())
            self.states[request.state_id] = replace(
                state, first_seen_at=state.first_seen_at or now, last_surveyed_at=now
            )
            self.invites[request.invite_id] = PeriodInvite(request.invite_id, "shown", now)
        return self.show_outcome


def service(store: FakeStore, clock: list[datetime]) -> WebService:
    return WebService(
        store=store,  # type: ignore[arg-type]
        site_keyring=lambda: KEYRING,
        id_key=lambda: IdKey(b"i" * 32),
        invites=None,  # type: ignore[arg-type]
        responses=None,  # type: ignore[arg-type]
        clock=lambda: clock[0],
    )


def token(now: datetime, contact_id: str = "c-1") -> str:
    return mint(f"k1.{site_secret(KEYRING, 's')}", "s", contact_id, int(now.timestamp()) + 600)


def survey(**web: Any) -> WebSurvey:
    data = json.loads(json.dumps(BASE))
    data["web"] |= web
    return WebSurvey.from_definition(json.dumps(data))


def test_an_excluded_page_records_first_seen_so_the_days_start_then() -> None:
    # Given a survey asking after 3 days, only on /app
    store, clock = FakeStore(), [START]
    web = service(store, clock)
    rules = survey(url_include=["/app"], min_days_since_first_seen=3)
    # When the contact is first identified on /pricing (excluded)
    assert web.eligibility(rules, token(clock[0]), "https://a.example/pricing").reason is Reason.URL
    assert store.first_seen_writes == 1
    # Then four days later, on /app, the prompt shows (not "too new")
    clock[0] = START + timedelta(days=4)
    assert web.eligibility(rules, token(clock[0]), "https://a.example/app").show
    # And the first visit to /app alone would have been too new
    other = service(FakeStore(), clock)
    assert other.eligibility(rules, token(clock[0]), "https://a.example/app").reason is Reason.TOO_NEW


SETTINGS = st.fixed_dictionaries(
    {
        "enabled": st.booleans(),
        "url_include": st.sampled_from([[], ["/app"], ["/pricing"]]),
        "url_exclude": st.sampled_from([[], ["/app/private"]]),
        "sample_percent": st.sampled_from([0, 50, 100]),
        "min_days_since_first_seen": st.integers(0, 3),
        "daily_cap": st.sampled_from([None, 5]),
    }
)
OUTCOMES = st.sampled_from(list(ShowOutcome))
URLS = st.sampled_from([None, "https://a.example/app", "https://a.example/app/private/x", "https://a.example/"])


@settings(max_examples=150, deadline=None)
@given(SETTINGS, OUTCOMES, URLS, URLS, st.integers(0, 5))
def test_first_seen_is_written_once_whatever_the_decisions(
    web_settings: dict[str, Any], outcome: ShowOutcome, first_url: str | None, later_url: str | None, days: int
) -> None:
    store, clock = FakeStore(outcome), [START]
    web = service(store, clock)
    rules = survey(**web_settings)
    # When a contact is identified twice, on any pages, whatever each decision is
    web.eligibility(rules, token(clock[0]), first_url)
    (state,) = store.states.values()
    # Then first seen is the first call's time
    assert state.first_seen_at == iso_timestamp(START)
    writes = store.first_seen_writes
    clock[0] = START + timedelta(days=days)
    web.eligibility(rules, token(clock[0]), later_url)
    # And the second call writes no first seen, and it is unchanged
    assert store.first_seen_writes == writes
    assert store.states[next(iter(store.states))].first_seen_at == iso_timestamp(START)
