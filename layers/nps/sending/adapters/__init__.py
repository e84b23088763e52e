"""Sending's adapters: the surveys, contacts, invites and suppressions tables, schedules, SES, SNS and SQS."""
