"""Referral KPIs in motion: the signed referral/review redirect and the ``Referral Joined`` consumer.

The counting rules and the KPIs are :mod:`nps.accounts.referrals` (pure); the records are
:mod:`nps.accounts.adapters.referrals`. docs/referrals.md.
"""
