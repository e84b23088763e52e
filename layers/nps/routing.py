"""EventBridge patterns of the platform's own rules (shared by the CDK app and the local environment)."""

from __future__ import annotations

from typing import Any

from nps.models import EVENT_SOURCE, RESPONSE_SCORED


def scored_pattern(category: str) -> dict[str, Any]:
    """Every ``NPS Response Scored`` event whose (new) category is ``category``."""
    return {"source": [EVENT_SOURCE], "detail-type": [RESPONSE_SCORED], "detail": {"category": [category]}}


DETRACTOR_FOLLOW_UP = scored_pattern("detractor")

# Business events that may start a transactional invite (which survey, contact and delay is data: each
# survey's ``triggers``). Anything but our own events, so an NPS event can never trigger a survey.
DEFAULT_TRIGGER_DETAIL_TYPES: tuple[str, ...] = ("Ticket Closed", "Order Delivered")


def business_event_pattern(detail_types: tuple[str, ...] = DEFAULT_TRIGGER_DETAIL_TYPES) -> dict[str, Any]:
    return {"source": [{"anything-but": [EVENT_SOURCE]}], "detail-type": list(detail_types)}


BUSINESS_EVENTS = business_event_pattern()
