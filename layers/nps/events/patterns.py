"""EventBridge patterns of the platform's own rules (shared by the CDK app and the local environment).

Follow-ups start once per answer that puts a contact in a category: a first answer, or a changed score
that moves the response to another category (3 → 5 starts nothing new; 8 → 3 starts a detractor
follow-up). Answers to a follow-up's own re-survey (waves whose id starts with ``fu-``) never start one:
they resolve the follow-up that sent them (``RESURVEY_ANSWERED``).
"""

from __future__ import annotations

from typing import Any

from nps.events.names import (
    COMMENT_RECEIVED,
    CUSTOMER_CHURNED,
    EVENT_SOURCE,
    FOLLOW_UP_ALERT,
    FOLLOW_UP_OPENED,
    FOLLOW_UP_RESOLVED,
    REFERRAL_JOINED,
    RESPONSE_RETRACTED,
    RESPONSE_SCORED,
)
from nps.kernel.waves import RESURVEY_WAVE_PREFIX as RESURVEY_WAVE_PREFIX  # re-exported
from nps.kernel.waves import is_resurvey_wave as is_resurvey_wave  # re-exported

FOLLOW_UP_CATEGORIES = ("detractor", "passive", "promoter")


def scored_pattern(category: str) -> dict[str, Any]:
    """Every ``NPS Response Scored`` event whose (new) category is ``category``."""
    return {"source": [EVENT_SOURCE], "detail-type": [RESPONSE_SCORED], "detail": {"category": [category]}}


def follow_up_pattern(category: str) -> dict[str, Any]:
    """Answers that start the ``category`` follow-up: first answers and category changes, not re-surveys."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [RESPONSE_SCORED],
        "detail": {
            "category": [category],
            "wave_id": [{"anything-but": {"prefix": RESURVEY_WAVE_PREFIX}}],
            "category_entered": [True],
        },
    }


#: The workflow each category's rule starts.
FOLLOW_UP_STARTS: dict[str, dict[str, Any]] = {c: follow_up_pattern(c) for c in FOLLOW_UP_CATEGORIES}
DETRACTOR_FOLLOW_UP = FOLLOW_UP_STARTS["detractor"]
PROMOTER_FOLLOW_UP = FOLLOW_UP_STARTS["promoter"]
PASSIVE_FOLLOW_UP = FOLLOW_UP_STARTS["passive"]

#: A comment on a detractor's answer: appended to its open follow-up.
DETRACTOR_COMMENT: dict[str, Any] = {
    "source": [EVENT_SOURCE],
    "detail-type": [COMMENT_RECEIVED],
    "detail": {"category": ["detractor"]},
}
#: A retracted answer (a mail scanner's click): closes the follow-up it opened, whatever its category.
RETRACTED: dict[str, Any] = {"source": [EVENT_SOURCE], "detail-type": [RESPONSE_RETRACTED]}
#: An answer to a follow-up's re-survey: resolves that follow-up, saying whether the contact moved.
RESURVEY_ANSWERED: dict[str, Any] = {
    "source": [EVENT_SOURCE],
    "detail-type": [RESPONSE_SCORED],
    "detail": {"wave_id": [{"prefix": RESURVEY_WAVE_PREFIX}]},
}
#: Events the follow-up consumer (a queue and the follow-up function) handles, by rule name.
FOLLOW_UP_EVENTS: dict[str, dict[str, Any]] = {
    "DetractorComment": DETRACTOR_COMMENT,
    "Retracted": RETRACTED,
    "ResurveyAnswered": RESURVEY_ANSWERED,
}

#: A follow-up opened or resolved (what a subscriber, a dashboard or the webhook rule listens to).
FOLLOW_UP_LIFECYCLE: dict[str, Any] = {"source": [EVENT_SOURCE], "detail-type": [FOLLOW_UP_OPENED, FOLLOW_UP_RESOLVED]}
#: The team's alert about a detractor (sent with the SNS alert): the optional webhook (Slack or any URL).
FOLLOW_UP_ALERTED: dict[str, Any] = {"source": [EVENT_SOURCE], "detail-type": [FOLLOW_UP_ALERT]}

# Business events that may start a transactional invite (which survey, contact and delay is data: each
# survey's ``triggers``). Anything but our own events, so an NPS event can never trigger a survey.
DEFAULT_TRIGGER_DETAIL_TYPES: tuple[str, ...] = ("Ticket Closed", "Order Delivered")


def business_event_pattern(detail_types: tuple[str, ...] = DEFAULT_TRIGGER_DETAIL_TYPES) -> dict[str, Any]:
    return {"source": [{"anything-but": [EVENT_SOURCE]}], "detail-type": list(detail_types)}


BUSINESS_EVENTS = business_event_pattern()

#: Every comment (any category, re-survey answers too): its sentiment and key phrases, when the stack is
#: deployed with ``-c commentSentiment=true`` (docs/comment-sentiment.md).
COMMENT_SENTIMENT: dict[str, Any] = {"source": [EVENT_SOURCE], "detail-type": [COMMENT_RECEIVED]}

#: ``Customer Churned`` from the team's own services (any source but ours, so nothing the platform publishes
#: can record a churn): queued for the ``churn`` function (docs/churn.md).
CUSTOMER_CHURNED_EVENTS: dict[str, Any] = {
    "source": [{"anything-but": [EVENT_SOURCE]}],
    "detail-type": [CUSTOMER_CHURNED],
}
#: ``Referral Joined`` from the team's referral program (any source but ``nps``): the referral joins consumer
#: (docs/referrals.md).
REFERRAL_JOINS: dict[str, Any] = {"source": [{"anything-but": [EVENT_SOURCE]}], "detail-type": [REFERRAL_JOINED]}
