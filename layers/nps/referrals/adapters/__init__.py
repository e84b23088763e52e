"""Reads of the referral redirect: the promoter's answer (responses table) and the survey's targets."""
