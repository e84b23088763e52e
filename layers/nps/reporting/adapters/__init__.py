"""Reporting's adapters: aggregate counters by period, a survey's slices, comments and responses by time."""
