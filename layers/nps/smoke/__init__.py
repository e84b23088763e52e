"""``nps smoke``: one survey through a deployed platform, step by step, checked and then removed.

Owns the checks (:mod:`~nps.smoke.checks`) and what they need from AWS beyond the capabilities' own
adapters (:mod:`~nps.smoke.adapters.stack`).

Interface for other capabilities: none (used by the CLI). May import: sending, responding, scoring,
events, links and the kernel (not follow-ups or reporting).
"""
