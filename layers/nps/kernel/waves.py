"""Which waves' answers the NPS counts: every wave's but a follow-up's re-survey.

A detractor follow-up re-surveys the contact after the loop is closed, in a wave of its own whose id starts
with :data:`RESURVEY_WAVE_PREFIX` (``fu-<follow-up id>``). The answer resolves that follow-up (saying
whether the contact moved category) and stays out of the NPS aggregates: the contact already counts once in
the period, and a second answer would weigh them twice. Every figure read beside the aggregates (a churn's
last category, a rate's numerator) follows the same rule, so it lives here, below every capability.
"""

from __future__ import annotations

#: Wave ids of re-survey invites sent by a follow-up start with this prefix.
RESURVEY_WAVE_PREFIX = "fu-"


def is_resurvey_wave(wave_id: str) -> bool:
    """Whether ``wave_id`` is a follow-up's re-survey: its answers resolve the follow-up and stay out of the
    NPS aggregates (the contact already counts once in the period; a second answer would weigh them twice)."""
    return wave_id.startswith(RESURVEY_WAVE_PREFIX)
