"""Metric names and dimensions shared by the functions that emit them and the CDK alarms that read them.

The per-category counts the score function emits come from :func:`nps.scoring.aggregation.category_deltas`.
"""

from __future__ import annotations

NAMESPACE = "NPS"
#: Net change in counted responses per category (a changed score moves one response: −1 old, +1 new).
RESPONSES_BY_CATEGORY = "ResponsesByCategory"
SURVEY_DIMENSION = "survey_id"
CATEGORY_DIMENSION = "category"


# -- sends whose outcome is unknown (emitted by the sweep_invites function, service dimension below) --
SWEEP_SERVICE = "sweep_invites"
#: Claims older than the threshold the sweep found still in flight (per run).
STUCK_INVITES_FOUND = "StuckInvitesFound"
#: Of those, how many the sweep marked unknown (per run).
STUCK_INVITES_MARKED_UNKNOWN = "StuckInvitesMarkedUnknown"
#: Invites (or reminders) in the unknown state after a sweep: a gauge, alarmed while above zero.
INVITES_UNKNOWN_OUTSTANDING = "InvitesUnknownOutstanding"
#: Sends the deliver function marked unknown (per invocation; ``service`` = ``deliver``).
MESSAGES_UNKNOWN = "MessagesUnknown"


# -- keys (emitted by every function that loads the signing keyring; no dimensions) -----------------
#: Entries of the signing secret skipped because their key id or key is malformed (per keyring load).
SIGNING_KEYS_REJECTED = "SigningKeysRejected"
