"""``nps smoke``'s run logic with in-memory fakes: what a person's browser sends, the smoke survey, and how a
failing step is reported (one line, dependent steps not run, cleanup always) — no AWS, no network."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from nps.links.tokens import Keyring
from nps.responding.adapters.responses import StoredResponse
from nps.responding.scanners import assess, header_reasons
from nps.sending.adapters.invites import InviteRecord
from nps.sending.quiet_hours import next_send_time
from nps.sending.suppression import address_hash
from nps.smoke.adapters.stack import SuppressionEntry
from nps.smoke.checks import (
    NAVIGATION_HEADERS,
    SCRIPT_POST_HEADERS,
    Browser,
    Page,
    SmokePlatform,
    SmokeRun,
    SmokeSettings,
    StepResult,
    confirm_form,
    smoke_survey,
)
from tests.support.fakes import ID_KEY

BOUNCE_KEY = address_hash("email", "bounce@simulator.amazonses.com", ID_KEY)
NOW = datetime(2026, 11, 23, 21, 37, 12, tzinfo=UTC)


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_the_taps_headers_are_a_persons_to_the_scanner_defences() -> None:
    # Given the GET a tap in a mail app sends and the POST the page's script sends
    # Then neither looks automated, and the answer is counted with high confidence
    assert header_reasons(lowered(NAVIGATION_HEADERS)) == ()
    assert header_reasons(lowered(SCRIPT_POST_HEADERS)) == ()
    assessment = assess([], NOW.timestamp(), (NOW - timedelta(minutes=1)).timestamp(), lowered(SCRIPT_POST_HEADERS))
    assert (assessment.automated, assessment.confidence) == (False, "high")


def test_the_smoke_survey_sends_at_once_for_12_hours_without_reminders_or_follow_ups() -> None:
    survey = smoke_survey("nps-smoke@example.com", NOW)
    assert (survey.survey_id, survey.audience, survey.channels) == ("nps-smoke", "nps-smoke", ["email"])
    assert (survey.reminder_days, survey.fatigue_days, survey.cadence.value) == (None, 0, "none")
    assert not any(survey.follow_ups.for_category(c).enabled for c in ("detractor", "passive", "promoter"))
    for minutes in range(0, 12 * 60, 7):
        at = NOW + timedelta(minutes=minutes)
        assert next_send_time(at, "UTC", survey.quiet_hours) == at


def test_the_confirm_form_is_read_as_the_pages_script_reads_it() -> None:
    page = (
        '<form method="post" action="/r/tok/comment"><textarea name="comment"></textarea></form>'
        '<form id="confirm" method="post" action="/r/tok"><input type="hidden" name="score" value="10"></form>'
    )
    form = confirm_form(page)
    assert form is not None
    assert (form.action, form.method, form.fields) == ("/r/tok", "post", {"score": "10"})
    assert confirm_form("<p>Link expired</p>") is None


class FakeStore:
    def __init__(self) -> None:
        self.suppressions: dict[str, SuppressionEntry] = {}
        self.calls: list[str] = []
        self.refuse_invites = False

    def answered_invites(self, survey_id: str) -> list[str]:
        return []

    def delete_responses(self, invite_ids: Iterable[str]) -> int:
        self.calls.append("responses")
        return 0

    def aggregate_keys(self, survey_id: str, channels: Iterable[str]) -> list[tuple[str, str]]:
        return []

    def delete_aggregates(self, keys: Iterable[tuple[str, str]]) -> int:
        self.calls.append("aggregates")
        return 0

    def delete_invites(self, invite_ids: Iterable[str]) -> int:
        self.calls.append("invites")
        if self.refuse_invites:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteItem")
        return 0

    def delete_audience(self, audience: str) -> int:
        self.calls.append("contacts")
        return 0

    def delete_survey(self, survey_id: str) -> int:
        self.calls.append("survey")
        return 0

    def suppression(self, address_hash: str) -> SuppressionEntry | None:
        return self.suppressions.get(address_hash)

    def delete_suppression(self, address_hash: str, contact_id: str) -> bool:
        entry = self.suppressions.get(address_hash)
        if entry is None or entry.contact_id not in (contact_id, None, ""):
            return False
        del self.suppressions[address_hash]
        return True


class FakeTap:
    def __init__(self) -> None:
        self.closed = False

    def open(self) -> None: ...

    def receive(self, wait_seconds: float) -> list[dict[str, Any]]:
        return []

    def close(self) -> list[str]:
        self.closed = True
        return []


class DeniedPlanner:
    def start_wave(self, survey_id: str, scheduled_time: datetime) -> dict[str, Any]:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform lambda:InvokeFunction"}},
            "Invoke",
        )


class Nothing:
    """Surveys, contacts, invites, responses and aggregates that hold nothing."""

    def put(self, survey: Any) -> None: ...
    def upsert(self, contact: Any) -> None: ...

    def get(self, invite_id: str) -> InviteRecord | StoredResponse | None:
        return None

    def read(self, pk: str, first_key: str, last_key: str) -> dict[str, dict[str, int]]:
        return {}


class NoBrowser(Browser):
    def get(self, url: str) -> Page:
        raise AssertionError("no page is opened when the wave failed")


def platform(store: FakeStore, tap: FakeTap) -> SmokePlatform:
    nothing: Any = Nothing()
    return SmokePlatform(
        surveys=nothing,
        contacts=nothing,
        planner=DeniedPlanner(),
        invites=nothing,
        responses=nothing,
        aggregates=nothing,
        store=store,
        event_tap=lambda name, pattern: tap,
        keyring=lambda: Keyring({"k1": b"k" * 32}, "k1"),
        id_key=lambda: ID_KEY,
        browser=NoBrowser(),
    )


def test_a_refused_call_is_one_fail_line_the_steps_after_it_do_not_run_and_cleanup_still_runs() -> None:
    # Given an operator who may not invoke the planner function
    store, tap = FakeStore(), FakeTap()
    lines: list[StepResult] = []
    run = SmokeRun(platform(store, tap), SmokeSettings("https://nps.example.com/", "s@example.com"), lines.append)
    # When the smoke test runs
    run.run()
    # Then the wave step says which call AWS refused, the steps that need it do not run, and cleanup runs
    text = [result.line() for result in lines]
    assert text[:2] == [
        "PASS prepare — survey nps-smoke and contacts smoke-success, smoke-bounce stored",
        "PASS listen — temporary rule and queue nps-smoke-"
        + run.settings.run_id
        + " (events of survey nps-smoke only)",
    ]
    assert text[2] == (
        "FAIL wave — AWS refused Invoke (AccessDeniedException): not authorized to perform lambda:InvokeFunction"
    )
    assert text[3:9] == [
        "FAIL deliver — not run: wave did not pass",
        "FAIL page — not run: deliver did not pass",
        "FAIL confirm — not run: page did not pass",
        "FAIL aggregate — not run: confirm did not pass",
        "FAIL event — not run: confirm did not pass",
        "FAIL bounce — not run: deliver did not pass",
    ]
    assert text[9] == (
        "PASS cleanup — removed the temporary rule and queue, 0 responses, 0 aggregate items, 0 invites, "
        "0 contacts, 0 survey items, 0 suppressions"
    )
    assert tap.closed
    assert not run.passed


def test_a_simulator_address_suppressed_for_someone_else_stops_the_run_before_anything_is_written() -> None:
    # Given the bounce address suppressed by a contact that is not the smoke test's
    store, tap = FakeStore(), FakeTap()
    store.suppressions[BOUNCE_KEY] = SuppressionEntry("bounced", "c-77")
    lines: list[StepResult] = []
    run = SmokeRun(platform(store, tap), SmokeSettings("https://nps.example.com", "s@example.com"), lines.append)
    # When the smoke test runs
    run.run()
    # Then preparing fails and says whose suppression it is; the suppression is kept
    assert lines[0].line() == (
        "FAIL prepare — bounce@simulator.amazonses.com is suppressed (bounced) for contact c-77, not by a smoke "
        "run: delete that suppression to run the smoke test"
    )
    assert len(store.suppressions) == 1
    assert lines[-1].name == "cleanup"


def test_a_suppression_left_by_an_interrupted_run_is_removed_first() -> None:
    # Given the bounce suppression an interrupted run left behind
    store, tap = FakeStore(), FakeTap()
    store.suppressions[BOUNCE_KEY] = SuppressionEntry("bounced", "smoke-bounce")
    lines: list[StepResult] = []
    run = SmokeRun(platform(store, tap), SmokeSettings("https://nps.example.com", "s@example.com"), lines.append)
    # When the smoke test runs
    run.run()
    # Then preparing removes it (and says so) before the wave
    assert lines[0].line() == (
        "PASS prepare — survey nps-smoke and contacts smoke-success, smoke-bounce stored; "
        "removed 1 item left by an earlier run"
    )
    assert store.suppressions == {}


def test_a_bounce_that_arrived_after_an_interrupted_runs_cleanup_does_not_lock_later_runs_out() -> None:
    # Given the bounce address suppressed with no contact (the send left, cleanup removed the contact,
    # then the bounce arrived)
    store, tap = FakeStore(), FakeTap()
    store.suppressions[BOUNCE_KEY] = SuppressionEntry("bounced", None)
    lines: list[StepResult] = []
    run = SmokeRun(platform(store, tap), SmokeSettings("https://nps.example.com", "s@example.com"), lines.append)
    # When the smoke test runs again
    run.run()
    # Then preparing removes it as a leftover of a smoke run and goes on
    assert lines[0].passed
    assert "removed 1 item left by an earlier run" in lines[0].line()


def test_cleanup_tries_every_removal_and_says_what_it_left_behind() -> None:
    # Given an operator who may not delete invites
    store, tap = FakeStore(), FakeTap()
    lines: list[StepResult] = []
    run = SmokeRun(platform(store, tap), SmokeSettings("https://nps.example.com", "s@example.com"), lines.append)
    store.refuse_invites = True
    # When the smoke test runs (preparing fails on the same refusal)
    run.run()
    # Then cleanup removed everything else and names what is left and why
    assert lines[0].line() == "FAIL prepare — AWS refused DeleteItem (AccessDeniedException): no"
    assert lines[-1].line() == (
        "FAIL cleanup — removed 0 responses, 0 aggregate items, 0 contacts, 0 survey items, 0 suppressions; "
        "left behind: invites (AWS refused DeleteItem (AccessDeniedException): no)"
    )
    assert store.calls[-3:] == ["invites", "contacts", "survey"]
