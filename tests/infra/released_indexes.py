"""The global secondary indexes each table had in the last release: what an existing stack has deployed.

CloudFormation creates or deletes at most one global secondary index per table in one stack update (a
second one fails the update and rolls it back), and an index's keys or projection cannot change in place
(that is a delete and a create). ``tests/infra/test_index_changes.py`` holds each release to that against
this record. When a release is cut, set every table here to the indexes it ships (docs/operations.md,
"Changing a table's indexes").
"""

from __future__ import annotations

#: Table (``nps.kernel.tables`` logical name) → index name → (partition key, sort key, projection, included
#: attributes), as in the last release's template.
RELEASED: dict[str, dict[str, tuple[str, str | None, str, tuple[str, ...]]]] = {
    "invites": {
        "in_flight": (
            "delivery_state",
            "delivery_state_at",
            "INCLUDE",
            ("survey_id", "wave_id", "channel", "status", "reminder_status", "delivery_kind", "unknown_reason"),
        ),
    },
    "responses": {"by_survey": ("survey_id", "first_answered_at", "ALL", ())},
    "aggregates": {"by_survey": ("survey_id", "granularity", "INCLUDE", ("segment", "channel"))},
    "surveys": {},
    "contacts": {},
    "suppressions": {},
    "followups": {},
    # New in this release (no indexes): nothing to change on an existing stack.
    "accounts": {},
}
