"""Eligibility rules of the web prompt: each reason, in order; URL rules; stable sampling."""

from __future__ import annotations

import json
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.channels.eligibility import (
    PeriodInvite,
    Reason,
    StoredContact,
    WebState,
    WebSurvey,
    decide,
    normalise_path,
    sampled_in,
    url_allowed,
)
from nps.kernel.periods import iso_timestamp

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
IN_SAMPLE = "00000000" + "0" * 56
SURVEY = WebSurvey.from_definition(
    json.dumps(
        {
            "survey_id": "s",
            "brand_name": "Acme",
            "fatigue_days": 90,
            "web": {"enabled": True, "allowed_origins": ["https://app.example.com"]},
        }
    )
)


def ago(days: float) -> str:
    return iso_timestamp(NOW - timedelta(days=days))


def decision(survey: WebSurvey = SURVEY, **given: Any) -> Reason | None:
    arguments: dict[str, Any] = {
        "url": "https://app.example.com/home",
        "now": NOW,
        "contact": None,
        "suppressed": False,
        "state": None,
        "period_invite": None,
        "sample_hash": IN_SAMPLE,
    } | given
    return decide(survey, **arguments).reason


def test_a_new_contact_is_shown_the_prompt() -> None:
    assert decision() is None


def test_a_disabled_or_inactive_survey_never_shows() -> None:
    assert decision(replace(SURVEY, enabled=False)) is Reason.DISABLED
    assert decision(replace(SURVEY, active=False)) is Reason.DISABLED


def test_a_suppressed_contact_is_never_asked() -> None:
    assert decision(suppressed=True) is Reason.SUPPRESSED


def test_an_answer_this_period_means_not_again() -> None:
    assert decision(period_invite=PeriodInvite("web-x", "answered")) is Reason.ANSWERED


def test_a_dismissal_holds_the_prompt_for_the_delay_then_it_shows_again() -> None:
    assert decision(state=WebState(dismissed_at=ago(29))) is Reason.DISMISSED
    assert decision(state=WebState(dismissed_at=ago(31))) is None
    assert decision(state=WebState(dismissed_at=ago(31)), period_invite=PeriodInvite("web-x", "dismissed")) is None


def test_a_prompt_shown_and_not_answered_shows_again_without_the_other_rules() -> None:
    shown = decide(
        replace(SURVEY, sample_percent=0),
        url=None,
        now=NOW,
        contact=StoredContact(last_surveyed_at=ago(0)),
        suppressed=False,
        state=WebState(last_surveyed_at=ago(0)),
        period_invite=PeriodInvite("web-x", "shown"),
        sample_hash=IN_SAMPLE,
    )
    assert shown.show
    assert shown.reshow


def test_a_prompt_shown_then_an_email_or_sms_survey_is_not_shown_again_in_the_window() -> None:
    # Given the period's prompt shown two days ago (the show set the contact's last_surveyed_at to its time)
    shown = PeriodInvite("web-x", "shown", sent_at=ago(2))
    assert decision(contact=StoredContact(last_surveyed_at=ago(2)), period_invite=shown) is None
    # When an email or SMS invite went to the contact since (a send sets last_surveyed_at later)
    # Then the shared fatigue window holds: the prompt is not shown again
    assert decision(contact=StoredContact(last_surveyed_at=ago(1)), period_invite=shown) is Reason.FATIGUE
    # And an invite stored without its show time keeps the re-show
    assert (
        decision(contact=StoredContact(last_surveyed_at=ago(1)), period_invite=PeriodInvite("web-x", "shown")) is None
    )


@given(
    shown_days=st.floats(min_value=0, max_value=80),
    surveyed_days=st.one_of(st.none(), st.floats(min_value=0, max_value=120)),
    recorded_on=st.sampled_from(["contact", "web_state"]),
    contact_stored=st.booleans(),
)
def test_a_shown_prompt_shows_again_exactly_when_no_channel_surveyed_the_contact_since(
    shown_days: float, surveyed_days: float | None, recorded_on: str, contact_stored: bool
) -> None:
    # Given the period's prompt shown some days ago (the show wrote the web state's last_surveyed_at, and a
    # stored contact's, to its time) and maybe a survey on another channel, recorded on the contacts table
    # (email, SMS, share link) or on the web state only (a share-link answer of a contact the contacts
    # table does not hold)
    shown_at = ago(shown_days)
    later = ago(surveyed_days) if surveyed_days is not None else None
    contact: StoredContact | None
    if recorded_on == "contact":
        contact, state = StoredContact(last_surveyed_at=later or shown_at), WebState(last_surveyed_at=shown_at)
    else:
        contact = StoredContact(last_surveyed_at=shown_at) if contact_stored else None
        state = WebState(last_surveyed_at=later or shown_at)
    # When eligibility is decided
    reason = decision(contact=contact, state=state, period_invite=PeriodInvite("web-x", "shown", sent_at=shown_at))
    # Then it is a re-show unless that survey came after the show, inside the 90-day window
    since = later is not None and later > shown_at and NOW - timedelta(days=90) < datetime.fromisoformat(later)
    assert reason is (Reason.FATIGUE if since else None)


def test_a_prompt_shown_then_answered_on_the_identified_share_link_is_not_shown_again() -> None:
    # Given the period's prompt shown two days ago to a contact the contacts table does not hold
    shown = PeriodInvite("web-x", "shown", sent_at=ago(2))
    assert decision(state=WebState(last_surveyed_at=ago(2)), period_invite=shown) is None
    # When the contact answers the identified share link (which sets the web state's last_surveyed_at)
    # Then the prompt is not shown again inside the window
    assert decision(state=WebState(last_surveyed_at=ago(1)), period_invite=shown) is Reason.FATIGUE


def test_the_fatigue_window_is_shared_with_email_and_sms() -> None:
    assert decision(contact=StoredContact(last_surveyed_at=ago(10))) is Reason.FATIGUE
    assert decision(contact=StoredContact(last_surveyed_at=ago(91))) is None
    # A contact the contacts table does not hold: its last web prompt counts.
    assert decision(state=WebState(last_surveyed_at=ago(10))) is Reason.FATIGUE


def test_too_new_until_the_days_since_first_seen_have_passed() -> None:
    survey = replace(SURVEY, min_days_since_first_seen=7)
    assert decision(survey) is Reason.TOO_NEW  # first identify: seen just now
    assert decision(survey, state=WebState(first_seen_at=ago(6))) is Reason.TOO_NEW
    assert decision(survey, state=WebState(first_seen_at=ago(8))) is None


def test_sampling_is_a_stable_share_of_the_hash_space() -> None:
    survey = replace(SURVEY, sample_percent=25)
    assert decision(survey, sample_hash="3fffffff" + "0" * 56) is None
    assert decision(survey, sample_hash="40000001" + "0" * 56) is Reason.SAMPLED_OUT
    assert sampled_in(0, "00000000") is False
    assert sampled_in(100, "ffffffff") is True


@pytest.mark.parametrize(
    ("include", "exclude", "url", "allowed"),
    [
        ((), (), "https://a.example/anything", True),
        (("/app/",), (), "https://a.example/app/settings", True),
        (("/app/",), (), "https://a.example/pricing", False),
        (("/app/*/billing",), (), "https://a.example/app/42/billing", True),
        (("/app/*/billing",), (), "https://a.example/app/42/billing/x", False),
        (("/app/*/billing",), (), "https://a.example/app/4/2/billing", False),  # * stays in its segment
        (("/app/**/billing",), (), "https://a.example/app/4/2/billing", True),
        (("/app",), (), "https://a.example/app", True),
        (("/app",), (), "https://a.example/app/", True),
        (("/app",), (), "https://a.example/app/x", True),
        (("/app",), (), "https://a.example/app?q=1", True),
        (("/app",), (), "https://a.example/app#x", True),
        (("/app",), (), "https://a.example/apple", False),
        (("/app",), (), "https://a.example/App", False),  # paths are case-sensitive
        (("/app",), (), "https://a.example/app/../admin", False),  # dot-segments removed first
        (("/app",), (), "https://a.example/%61pp/x", True),  # unreserved characters decoded
        (("/app",), (), "https://a.example/app%2Fx", False),  # an encoded slash is no separator
        ((), ("/app/private",), "https://a.example/app/%70rivate/x", False),
        ((), ("/app/private",), "https://a.example/app/x/../private", False),
        (("a.example/app",), (), "https://A.Example/app", True),  # hosts are case-insensitive
        (("b.example/app",), (), "https://a.example/app", False),
        (("a.example:8443/app",), (), "https://a.example:8443/app", True),
        (("a.example:8443/app",), (), "https://a.example/app", False),
        (("a.example/app",), (), "/app", False),  # a host rule needs a URL with that host
        (("/app",), (), "https://a.example:99999/app", False),  # a URL that does not parse matches nothing
        ((), ("/checkout",), "https://a.example/checkout/pay", False),
        ((), ("/app/checkout",), "https://a.example/app/checkout;jsessionid=1A2B", False),  # parameters dropped
        ((), ("/app/checkout",), "https://a.example/app;x=1/checkout/pay", False),
        ((), ("/app/checkout",), "https://a.example/app//checkout", False),  # empty segments collapsed
        ((), ("/app/checkout",), "https://a.example//app///checkout/", False),
        ((), ("/app/checkout",), "https://a.example/app/checkout%3Bx", True),  # an encoded ; is no delimiter
        (("/app;v=2/x",), (), "https://a.example/app/x", True),  # rules are normalised alike
        (("/app/",), ("/app/admin",), "https://a.example/app/admin/users", False),
        (("/app/",), (), None, False),
        ((), ("/checkout",), None, True),
    ],
)
def test_url_rules(include: tuple[str, ...], exclude: tuple[str, ...], url: str | None, allowed: bool) -> None:
    survey = replace(SURVEY, url_include=include, url_exclude=exclude)
    assert url_allowed(survey, url) is allowed
    assert (decision(survey, url=url) is Reason.URL) is not allowed


def test_rules_apply_in_order_suppression_before_answered_before_fatigue() -> None:
    everything: dict[str, Any] = {
        "suppressed": True,
        "period_invite": PeriodInvite("web-x", "answered"),
        "contact": StoredContact(last_surveyed_at=ago(1)),
    }
    assert decision(**everything) is Reason.SUPPRESSED
    assert decision(**(everything | {"suppressed": False})) is Reason.ANSWERED


@pytest.mark.parametrize(
    ("cadence", "wave"),
    [("quarterly", "web-2026-Q4"), ("monthly", "web-2026-11"), ("weekly", "web-2026-W48"), ("none", "web-2026-Q4")],
)
def test_one_web_wave_per_period_of_the_cadence(cadence: str, wave: str) -> None:
    assert replace(SURVEY, cadence=cadence).web_wave_id(NOW) == wave


def test_segment_values_from_claims_aggregate_as_one_whatever_their_unicode_form() -> None:
    survey = replace(SURVEY, segment_dimensions=("plan",))
    decomposed, composed = "Cafe\u0301", "Caf\u00e9"
    assert survey.segments_of({"plan": decomposed}) == survey.segments_of({"plan": composed}) == {"plan": composed}


# -- URL rules: properties ---------------------------------------------------------------------------
SEGMENT = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=1, max_size=8).filter(
    lambda text: text not in (".", "..")
)
SEGMENTS = st.lists(SEGMENT, min_size=1, max_size=4)


def allowed(include: str, url: str) -> bool:
    return url_allowed(replace(SURVEY, url_include=(include,)), url)


@given(SEGMENTS, st.lists(SEGMENT, max_size=3), st.sampled_from(["", "/", "?q=1", "#x", "/?a#b"]))
def test_a_path_rule_matches_its_path_and_everything_below_it(rule: list[str], below: list[str], suffix: str) -> None:
    path = "/" + "/".join(rule)
    assert allowed(path, "https://a.example" + path + "".join("/" + s for s in below) + suffix)
    assert allowed(path + "/", "https://a.example" + path + suffix)  # a trailing slash is ignored


@given(SEGMENTS, SEGMENT)
def test_a_path_rule_never_matches_a_longer_segment(rule: list[str], extra: str) -> None:
    path = "/" + "/".join(rule)
    assert not allowed(path, "https://a.example" + path + extra)


@given(SEGMENTS, st.data())
def test_percent_encoding_unreserved_characters_changes_nothing(rule: list[str], data: st.DataObject) -> None:
    path = "/" + "/".join(rule)
    encoded = "".join(
        (f"%{ord(c):02x}" if data.draw(st.booleans()) else f"%{ord(c):02X}")
        if c != "/" and data.draw(st.booleans())
        else c
        for c in path
    )
    assert normalise_path(encoded) == path
    assert allowed(path, "https://a.example" + encoded)


@given(SEGMENTS, SEGMENTS, SEGMENT)
def test_dot_segments_cannot_climb_into_or_out_of_a_rule(rule: list[str], other: list[str], detour: str) -> None:
    path, target = "/" + "/".join(rule), "/" + "/".join(other)
    # Going down and back up lands where the resolved path is, whatever the rule
    detoured = "https://a.example" + path + "/" + detour + "/./.." + target
    assert allowed(path, detoured) is allowed(path, "https://a.example" + path + target) is True
    # Climbing out of the rule's path leaves it (unless the target is under it again)
    climbed = "https://a.example" + path + "/.." * len(rule) + target
    assert allowed(path, climbed) is allowed(path, "https://a.example" + target)


@given(SEGMENTS, st.text(alphabet="abcABC", min_size=1, max_size=6))
def test_hosts_compare_case_insensitively_and_paths_case_sensitively(rule: list[str], host: str) -> None:
    path = "/" + "/".join(rule)
    assert allowed(f"{host.lower()}.example{path}", f"https://{host.upper()}.EXAMPLE{path}")
    if path != path.swapcase():
        assert not allowed(path, "https://a.example" + path.swapcase())


@given(SEGMENTS, st.lists(SEGMENT, max_size=2), st.data())
def test_no_parameters_or_empty_segments_step_out_of_an_exclude_rule(
    rule: list[str], below: list[str], data: st.DataObject
) -> None:
    # Given an exclude rule and a page under it, spelled with path parameters and repeated slashes
    segments = rule + below
    spelled = "".join(
        "/" * data.draw(st.integers(1, 3)) + segment + data.draw(st.sampled_from(["", ";", ";jsessionid=A1", ";a=b;c"]))
        for segment in segments
    )
    survey = replace(SURVEY, url_exclude=("/" + "/".join(rule),))
    # Then the page is excluded as its plain spelling is
    assert not url_allowed(survey, "https://a.example" + spelled)
    assert normalise_path(spelled) == "/" + "/".join(segments)
