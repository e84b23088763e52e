"""The team's digest: a scheduled summary of a survey by email."""
