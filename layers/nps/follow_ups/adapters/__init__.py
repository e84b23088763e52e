"""Follow-ups' adapters: the follow-ups table, the team's task queue and Step Functions task tokens."""
