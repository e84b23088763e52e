"""The team's digest: a scheduled summary of a survey by email (docs/digest.md).

Owns when a digest is due (:mod:`~nps.digests.schedule`), what it says (:mod:`~nps.digests.content`:
NPS with its change and significance, responses and response rate, accounts newly at risk, notable
comments), how it reads (:mod:`~nps.digests.message`: ``templates/email/digest.html``/``.txt`` and the
MIME message with the HTML report attached), the run that sends every due digest once
(:mod:`~nps.digests.service`) and its stores (:mod:`~nps.digests.adapters`: the per-recipient sent
markers in the surveys table and each account's last published health in the accounts table).

Interface for other capabilities: none (used by the digest function, the CLI and the demo). May import:
reporting (its figures, comments reader and HTML report), sending (survey definitions, suppression keys,
the SES mailer), links (the id key), events (``NPS Account Health Changed``), accounts, the kernel.
"""
