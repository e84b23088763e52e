"""A contact's records across every store: the timeline of invites, answers and follow-ups, and erasure."""
