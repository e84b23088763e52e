"""Reliability suite: properties that must survive hostile input, replays, concurrency and faults."""
