"""Scoring: classifying responses and aggregating them exactly once by period × segment × channel.

Owns the pure aggregation (:mod:`~nps.scoring.aggregation`: transitions, aggregate keys, deltas), the stream
batch scorer (:mod:`~nps.scoring.stream`) and the aggregates table with its dedupe ledger
(:mod:`~nps.scoring.adapters.aggregates`).

Interface for other capabilities: ``aggregation`` (keys and counters that reporting reads and sending
counts into). ``stream`` and the adapters are for the score function. May import: events, the kernel.
"""
