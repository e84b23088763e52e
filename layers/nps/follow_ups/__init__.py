"""Follow-ups: closing the loop — thank promoters, ask passives, get detractors to a human fast.

Owns the steps of the follow-up workflows (:mod:`~nps.follow_ups.steps`, plain functions over small
interfaces), their wiring over the real stores (:mod:`~nps.follow_ups.wiring`) and the follow-ups table,
task queue and task tokens (:mod:`~nps.follow_ups.adapters.store`).

Interface for other capabilities: none (used by the follow-up functions and the CLI). May import: sending,
responding's responses adapter, links, events, the kernel.
"""
