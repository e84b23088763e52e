"""Channels: the in-app / website prompt (the ``web`` channel), beside the email and SMS invites of sending.

Owns :mod:`~nps.channels.site_tokens` (per-survey site secrets and the contact tokens a team's backend mints,
pure), :mod:`~nps.channels.eligibility` (whether to show the prompt, pure), :mod:`~nps.channels.service`
(eligibility, answers, comments and dismissals over the stores) and :mod:`~nps.channels.adapters.store`
(the web invites and their state in the invites table, the contact, suppression and survey reads).

Interface for other capabilities: none (used by the web function, the CLI and the local environment).
May import: sending's pure suppression keys and invite counters, responding's stores and comment rules,
links, events' field types and the kernel.
"""
