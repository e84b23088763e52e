"""Accounts and advocates: which account a contact speaks for, in what role, and what the account's answers,
churn and referrals say. The pure domain core: no AWS clients, no clocks.

Owns :mod:`~nps.accounts.membership` (an invite's account, role and revenue, parsed from untrusted text;
the ``account_id=<id>`` aggregate slices and the decision makers' counters; no dependency but the kernel).

How the other capabilities use it: contacts import ``account_id``, ``role`` and ``revenue`` columns into a
:class:`~nps.accounts.membership.Membership`; the planner copies it onto the invite; a tap copies the
account id and role onto the response; the stream counts each answer of an account in its
``account_id=<id>`` slice (month and quarter, every channel together) and, for a decision maker, in the
``dm_*`` counters; reporting reads those slices back as account NPS and health.

Interface for other capabilities: every module above. May import: the kernel only (it sits right above
it, beside :mod:`nps.reasons`, so the stream, sending and reporting can all use it).
"""
