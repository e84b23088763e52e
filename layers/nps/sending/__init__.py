"""Sending: surveys, contacts, waves and every message that asks for a score.

Owns survey definitions (:mod:`~nps.sending.surveys`), contacts and their CSV import
(:mod:`~nps.sending.contacts`, :mod:`~nps.sending.importing`), contacts' phone numbers and time zones
(:mod:`~nps.sending.phones`, :mod:`~nps.sending.time_zones`), planning rules and waves
(:mod:`~nps.sending.planning`, :mod:`~nps.sending.waves`), delivery and messages
(:mod:`~nps.sending.delivery`, :mod:`~nps.sending.messages`), SMS segment counting (:mod:`~nps.sending.sms`,
for ``nps survey put`` only), suppression and unsubscribing (:mod:`~nps.sending.suppression`,
:mod:`~nps.sending.unsubscribing`), lifting and re-keying suppressions (:mod:`~nps.sending.lifting`,
:mod:`~nps.sending.rekeying`), the SES tags mail feedback reads (:mod:`~nps.sending.feedback`), invites whose
send is unknown (:mod:`~nps.sending.unknown_invites`), the sending settings, and the adapters of the surveys,
contacts, invites, suppressions and schedules stores and of the SES/SNS/SQS channels.

Interface for other capabilities: ``surveys``, ``contacts``, ``planning``, ``waves``, ``delivery``,
``messages``, ``suppression``, ``feedback``, ``lifting``, ``settings`` and the adapters (follow-ups send
through them). ``importing``, ``unsubscribing`` and ``unknown_invites`` are internal; ``sms`` is the
CLI's. May import: links, events, scoring's ``aggregation``, the kernel.
"""
