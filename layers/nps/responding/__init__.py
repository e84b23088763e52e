"""Responding: the one-tap service behind every score link, and telling people from mail scanners.

Owns :mod:`~nps.responding.service` (verify the link, record the score, save the comment),
:mod:`~nps.responding.scanners` (scanner detection) and the invites/responses adapters it reads and writes.

Interface for other capabilities: ``scanners`` and the responses adapter. ``service`` is for the respond
function. May import: links, events, the kernel.
"""
