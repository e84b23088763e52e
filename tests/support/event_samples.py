"""One valid sample ``detail`` per detail type (contract, routing and docs tests share them)."""

from __future__ import annotations

from typing import Any

from nps.events.models import (
    ACCOUNT_HEALTH_CHANGED,
    COMMENT_RECEIVED,
    CONTACT_ERASED,
    CONTACT_UNSUBSCRIBED,
    FOLLOW_UP_ALERT,
    FOLLOW_UP_OPENED,
    FOLLOW_UP_RESOLVED,
    INVITE_BOUNCED,
    REFERRAL_CLICKED,
    RESPONSE_RETRACTED,
    RESPONSE_SCORED,
)

_IDS = {
    "survey_id": "onboarding-q4",
    "wave_id": "wave-2026-11",
    "invite_id": "inv-00042",
    "contact_id": "contact-00042",
}
_SEGMENTS = {"plan": "enterprise", "region": "emea"}


def scored(score: int, category: str, *, previous: tuple[int, str] | None = None, **ids: str) -> dict[str, Any]:
    """An ``NPS Response Scored`` detail (a first answer unless ``previous`` is given)."""
    return {
        "schema_version": "1.0",
        "event_id": f"{ids.get('invite_id', _IDS['invite_id'])}:{2 if previous else 1}",
        **_IDS,
        **ids,
        "channel": "email",
        "locale": "en",
        "segments": dict(_SEGMENTS),
        "score": score,
        "category": category,
        "previous_score": previous[0] if previous else None,
        "previous_category": previous[1] if previous else None,
        "category_changed": bool(previous and previous[1] != category),
        "category_entered": not previous or previous[1] != category,
        "version": 2 if previous else 1,
        "first_answered_at": "2026-11-23T10:15:02.114000Z",
        "answered_at": "2026-11-23T10:16:40.981000Z",
    }


def comment(category: str = "detractor", score: int = 3) -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "event_id": "inv-00042:3",
        **_IDS,
        "channel": "email",
        "locale": "en",
        "segments": dict(_SEGMENTS),
        "score": score,
        "category": category,
        "comment_length": 42,
        "version": 3,
        "commented_at": "2026-11-23T10:17:11.000000Z",
    }


def retracted(previous_category: str = "detractor") -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "event_id": "inv-00042:4",
        **_IDS,
        "channel": "email",
        "locale": "en",
        "segments": dict(_SEGMENTS),
        "previous_score": 2,
        "previous_category": previous_category,
        "reason": "automated",
        "version": 4,
        "retracted_at": "2026-11-23T10:15:09.000000Z",
    }


SAMPLES: dict[str, dict[str, Any]] = {
    RESPONSE_SCORED: scored(3, "detractor"),
    COMMENT_RECEIVED: comment(),
    CONTACT_UNSUBSCRIBED: {
        "schema_version": "1.0",
        "event_id": "inv-00042:unsubscribed:one_click",
        "contact_id": "contact-00042",
        "survey_id": "onboarding-q4",
        "wave_id": "wave-2026-11",
        "invite_id": "inv-00042",
        "channel": "email",
        "method": "one_click",
        "unsubscribed_at": "2026-11-23T10:20:00.000000Z",
    },
    CONTACT_ERASED: {
        "schema_version": "1.0",
        "event_id": "contact-00042:erased:2026-12-01T12:00:00Z",
        "contact_id": "contact-00042",
        "erased_at": "2026-12-01T12:00:13Z",
        "counts": {
            "contacts": 1,
            "invites": 3,
            "responses": 2,
            "follow_ups": 1,
            "account_records": 0,
            "suppressions": 1,
            "mailbox_claims": 0,
            "web_states": 0,
            "import_report_rows": 0,
        },
        "suppression_kept": False,
    },
    INVITE_BOUNCED: {
        "schema_version": "1.0",
        "event_id": "bounce-inv-00042",
        **_IDS,
        "channel": "email",
        "bounce_type": "permanent",
        "suppressed": True,
        "bounced_at": "2026-11-23T09:01:00.000000Z",
    },
    RESPONSE_RETRACTED: retracted(),
    FOLLOW_UP_OPENED: {
        "schema_version": "1.0",
        "event_id": "inv-00042-1:opened",
        "follow_up_id": "inv-00042-1",
        **_IDS,
        "channel": "email",
        "locale": "en",
        "segments": dict(_SEGMENTS),
        "score": 3,
        "category": "detractor",
        "email_sent": True,
        "opened_at": "2026-11-23T10:16:45.000000Z",
    },
    FOLLOW_UP_RESOLVED: {
        "schema_version": "1.0",
        "event_id": "inv-00042-1:resolved",
        "follow_up_id": "inv-00042-1",
        **_IDS,
        "segments": dict(_SEGMENTS),
        "score": 3,
        "category": "detractor",
        "outcome": "re_surveyed",
        "resurvey_invite_id": "inv-00077",
        "new_score": 8,
        "new_category": "passive",
        "moved_category": True,
        "opened_at": "2026-11-23T10:16:45.000000Z",
        "resolved_at": "2026-12-08T09:00:00.000000Z",
    },
    FOLLOW_UP_ALERT: {
        "schema_version": "1.0",
        "event_id": "inv-00042-1:alert",
        "follow_up_id": "inv-00042-1",
        **_IDS,
        "channel": "email",
        "locale": "en",
        "segments": dict(_SEGMENTS),
        "score": 3,
        "category": "detractor",
        "alerted_at": "2026-11-23T10:16:44.000000Z",
    },
    REFERRAL_CLICKED: {
        "schema_version": "1.0",
        "event_id": "inv-00042:clicked:referral",
        **_IDS,
        "channel": "email",
        "locale": "en",
        "segments": dict(_SEGMENTS),
        "target": "referral",
        "clicked_at": "2026-11-24T08:02:11.000000Z",
    },
    ACCOUNT_HEALTH_CHANGED: {
        "schema_version": "1.0",
        "survey_id": "onboarding-q4",
        "account_id": "acme",
        "health": "at_risk",
        "reasons": ["decision_maker_detractor", "nps_fell"],
        "nps": -33.33,
        "n": 6,
        "period": "weekly:2026-11-23",
        "assessed_at": "2026-11-30T08:00:00Z",
    },
}
