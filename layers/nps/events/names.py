"""The names of the event contract: the bus ``source`` and every ``detail-type``, with no dependency.

Kept apart from :mod:`nps.events.models` (pydantic) so the routing patterns and the publisher, which
need only the names, do not load pydantic when a function starts.
"""

from __future__ import annotations

#: Survey, audience, wave and contact ids: 1–64 of ``A-Z a-z 0-9 _ -`` (the events' and stores' id type).
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
EVENT_SOURCE = "nps"
RESPONSE_SCORED = "NPS Response Scored"
COMMENT_RECEIVED = "NPS Comment Received"
CONTACT_UNSUBSCRIBED = "NPS Contact Unsubscribed"
INVITE_BOUNCED = "NPS Invite Bounced"
RESPONSE_RETRACTED = "NPS Response Retracted"
FOLLOW_UP_OPENED = "NPS Follow-up Opened"
FOLLOW_UP_RESOLVED = "NPS Follow-up Resolved"
FOLLOW_UP_ALERT = "NPS Follow-up Alert"
REFERRAL_CLICKED = "NPS Referral Clicked"
#: An account's health (at risk or not) changed since the previous digest of a survey (nps.digests).
ACCOUNT_HEALTH_CHANGED = "NPS Account Health Changed"
#: A contact was erased from every store (counts only, no address): subscribers erase their copies too.
CONTACT_ERASED = "NPS Contact Erased"
#: An inbound business event from the team's referral program (its own ``source``, never ``nps``).
REFERRAL_JOINED = "Referral Joined"

# Business events the platform consumes (any source but ``nps``; other services publish them).
CUSTOMER_CHURNED = "Customer Churned"
