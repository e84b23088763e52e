"""EventBridge patterns of the platform's own rules (shared by the CDK app and the local environment)."""

from __future__ import annotations

from typing import Any

from nps.models import EVENT_SOURCE, RESPONSE_SCORED


def scored_pattern(category: str) -> dict[str, Any]:
    """Every ``NPS Response Scored`` event whose (new) category is ``category``."""
    return {"source": [EVENT_SOURCE], "detail-type": [RESPONSE_SCORED], "detail": {"category": [category]}}


DETRACTOR_FOLLOW_UP = scored_pattern("detractor")
