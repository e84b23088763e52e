"""Scoring's adapters: the aggregates table (counters, dedupe ledger, commit records)."""
