"""Metric names and dimensions shared by the functions that emit them and the CDK alarms that read them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from nps.aggregation import Transition
from nps.scoring import categorize

NAMESPACE = "NPS"
#: Net change in counted responses per category (a changed score moves one response: −1 old, +1 new).
RESPONSES_BY_CATEGORY = "ResponsesByCategory"
SURVEY_DIMENSION = "survey_id"
CATEGORY_DIMENSION = "category"


def category_deltas(transitions: Iterable[Transition]) -> Counter[tuple[str, str]]:
    """(survey, category) → net change in counted responses for a batch of committed transitions."""
    deltas: Counter[tuple[str, str]] = Counter()
    for transition in transitions:
        if not transition.moves_counts:
            continue
        if transition.old is not None and transition.old_score is not None:
            deltas[(transition.old.survey_id, categorize(transition.old_score).value)] -= 1
        if transition.new is not None and transition.new_score is not None:
            deltas[(transition.new.survey_id, categorize(transition.new_score).value)] += 1
    return Counter({key: value for key, value in deltas.items() if value})


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
