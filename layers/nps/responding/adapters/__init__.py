"""Responding's adapters: reading invites and recording responses (one item per invite)."""
