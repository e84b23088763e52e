"""``NPS Contact Unsubscribed`` from a suppression record: which records carry an opt-out, and the event."""

from __future__ import annotations

from typing import Any

import pytest

from nps.events.models import CONTACT_UNSUBSCRIBED
from nps.events.publisher import detail_json
from nps.sending.unsubscribing import MalformedOptOut, opt_out_event

OPT_OUT: dict[str, Any] = {
    "address_hash": "ab" * 32,
    "reason": "unsubscribed",
    "suppressed_at": "2026-11-23T10:20:00.000000Z",
    "contact_id": "contact-00042",
    "invite_id": "inv-00042",
    "survey_id": "onboarding-q4",
    "wave_id": "wave-2026-11",
    "channel": "email",
    "method": "one_click",
}


def test_an_unsubscribes_suppression_becomes_one_event_with_a_stable_id_and_the_suppressions_time() -> None:
    event = opt_out_event(OPT_OUT)
    assert event is not None
    assert event.detail_type == CONTACT_UNSUBSCRIBED
    assert detail_json(event.detail) == {
        "schema_version": "1.0",
        "event_id": "inv-00042:unsubscribed:one_click",
        "contact_id": "contact-00042",
        "survey_id": "onboarding-q4",
        "wave_id": "wave-2026-11",
        "invite_id": "inv-00042",
        "channel": "email",
        "method": "one_click",
        "unsubscribed_at": "2026-11-23T10:20:00Z",
    }
    # The same record delivered again is the same event
    assert opt_out_event(dict(OPT_OUT)) == event


@pytest.mark.parametrize(
    "item",
    [
        {**OPT_OUT, "reason": "bounced"},  # bounces publish NPS Invite Bounced themselves
        {**OPT_OUT, "reason": "complained"},  # complaints publish their own NPS Contact Unsubscribed
        {k: v for k, v in OPT_OUT.items() if k not in ("method", "invite_id", "survey_id", "wave_id", "channel")},
    ],
    ids=["bounce", "complaint", "second address of the same unsubscribe"],
)
def test_suppressions_without_an_opt_out_publish_nothing(item: dict[str, Any]) -> None:
    assert opt_out_event(item) is None


@pytest.mark.parametrize("broken", [{"contact_id": None}, {"channel": "fax"}, {"method": "telepathy"}])
def test_a_broken_opt_out_is_refused_with_the_fields_named(broken: dict[str, Any]) -> None:
    with pytest.raises(MalformedOptOut, match=next(iter(broken))):
        opt_out_event({**OPT_OUT, **broken})
