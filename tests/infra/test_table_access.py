"""Which function may do what on which table: the least-privilege matrix, read from the synthesized roles.

A change of access is a change of this table, reviewed as such. The permission test
(``tests/permissions``) proves each function's real calls fit inside its row; this test proves nothing
more was granted, and that every table access carries the key access it needs.
"""

from __future__ import annotations

import pytest

from nps.kernel.tables import ALL_TABLES
from tests.permissions.iam import Decision, Request, evaluate
from tests.permissions.template import DeployedTemplate, deployed_template

pytestmark = pytest.mark.infra

#: function → table → DynamoDB item actions (index grants are checked separately below).
ACCESS: dict[str, dict[str, set[str]]] = {
    "respond": {
        "Invites": {"GetItem", "UpdateItem"},
        "Responses": {"GetItem", "UpdateItem"},
        "Surveys": {"GetItem"},
    },
    "score": {"Aggregates": {"BatchGetItem", "ConditionCheckItem", "GetItem", "PutItem", "UpdateItem"}},
    "planner": {
        "Surveys": {"DeleteItem", "GetItem", "Query", "Scan", "UpdateItem"},
        "Contacts": {"GetItem", "Query"},
        "Suppressions": {"BatchGetItem"},
        "Invites": {"PutItem"},
    },
    "deliver": {
        "Contacts": {"ConditionCheckItem", "GetItem", "UpdateItem"},
        "Invites": {"DeleteItem", "GetItem", "UpdateItem"},
        "Aggregates": {"UpdateItem"},
        "Suppressions": {"DeleteItem", "GetItem", "PutItem"},
        "Surveys": {"GetItem", "PutItem"},
        "Responses": {"GetItem"},
    },
    "suppress": {"Invites": {"GetItem", "UpdateItem"}, "Suppressions": {"PutItem"}},
    "unsubscribe": {
        "Contacts": {"GetItem"},
        "Invites": {"GetItem"},
        "Suppressions": {"GetItem", "PutItem", "UpdateItem"},
    },
    # UpdateItem on Accounts: the account profiles (revenue) a contacts file names.
    "import_contacts": {"Contacts": {"UpdateItem"}, "Accounts": {"UpdateItem"}},
    "web": {
        "Invites": {"BatchGetItem", "GetItem", "PutItem", "UpdateItem"},
        "Contacts": {"BatchGetItem", "UpdateItem"},
        "Suppressions": {"BatchGetItem"},
        "Surveys": {"GetItem"},
        "Responses": {"GetItem", "UpdateItem"},
        "Aggregates": {"UpdateItem"},
    },
    "share": {
        "Invites": {"BatchGetItem", "UpdateItem"},
        "Contacts": {"BatchGetItem", "UpdateItem"},
        "Surveys": {"GetItem"},
        "Responses": {"BatchGetItem", "GetItem", "UpdateItem"},
    },
    # BatchGetItem on Responses: the follow-up answers and sentiment label of each listed response, which the
    # survey index does not project.
    "report": {
        "Aggregates": {"BatchGetItem", "Query"},
        "Responses": {"BatchGetItem"},
        "Accounts": {"BatchGetItem", "Query"},
    },
    "sweep_invites": {"Invites": {"UpdateItem"}},
    "follow_up": {
        "Followups": {"GetItem", "PutItem", "Query", "UpdateItem"},
        "Invites": {"GetItem", "PutItem"},
        "Contacts": {"GetItem"},
        "Responses": {"GetItem"},
        "Surveys": {"GetItem"},
        "Suppressions": {"BatchGetItem", "GetItem"},
    },
}
# A contact's timeline reads every store by key or by the contact's indexes; its erasure deletes (docs/privacy.md).
ACCESS["contact_timeline"] = {
    "Contacts": {"GetItem"},
    "Invites": {"BatchGetItem"},
    "Responses": {"BatchGetItem"},
    "Followups": {"Query"},
    "Suppressions": {"GetItem"},
    "Accounts": {"Query"},
    "Surveys": {"GetItem", "Query", "Scan"},
}
ACCESS["erase_contact"] = {
    "Contacts": {"DeleteItem", "GetItem", "PutItem"},
    "Invites": {"BatchGetItem", "DeleteItem", "UpdateItem"},
    "Responses": {"DeleteItem"},
    "Followups": {"DeleteItem", "Query"},
    "Suppressions": {"DeleteItem", "GetItem", "PutItem", "UpdateItem"},
    "Accounts": {"DeleteItem", "Query"},
    # Survey definitions and recorded waves: the unsent invites' ids are computed per wave (docs/privacy.md).
    "Surveys": {"Query", "Scan"},
}
ACCESS["follow_up_events"] = {table: set(actions) for table, actions in ACCESS["follow_up"].items()}
# The steps only: the promoter email's referral ask (marker + latest-ask pointer, referral_asked counters).
ACCESS["follow_up"] |= {"Accounts": {"PutItem"}, "Aggregates": {"UpdateItem"}}
# The referral redirect: the answer and the survey's target, the invite's markers and open log, the click's
# marker with referral_clicked on the answer's aggregates (docs/referrals.md).
ACCESS["referral"] = {
    "Responses": {"GetItem"},
    "Surveys": {"GetItem"},
    "Accounts": {"PutItem", "Query", "UpdateItem"},
    "Aggregates": {"UpdateItem"},
}
# Referral Joined: the contact's latest ask, the join's marker (and unasked joins' count), referral_joined.
ACCESS["referral_joins"] = {"Accounts": {"GetItem", "PutItem", "UpdateItem"}, "Aggregates": {"UpdateItem"}}
#: Optional (``-c commentSentiment=true``; the template read here has every optional function on): it reads
#: a response's comment and writes its analysis beside it.
ACCESS["comment_sentiment"] = {"Responses": {"GetItem", "UpdateItem"}}
#: Customer Churned: a contact's responses by key (after its invites' index), an account's quarter slices (a
#: Query of the aggregates table itself), the survey ids, and the churn markers and records.
ACCESS["churn"] = {
    "Responses": {"BatchGetItem"},
    "Aggregates": {"Query"},
    "Surveys": {"Scan"},
    "Accounts": {"GetItem", "PutItem", "UpdateItem"},
}
#: The team's digest: the definitions (scan) and its sent markers beside them (claim, settle, release); the
#: figures (aggregates, by query and the account items by key); the comments' answers by key; the account
#: profiles and the health it last published; the recipients' suppressions (docs/digest.md).
ACCESS["digest"] = {
    "Surveys": {"DeleteItem", "PutItem", "Scan", "UpdateItem"},
    "Aggregates": {"BatchGetItem", "Query"},
    "Responses": {"BatchGetItem"},
    "Accounts": {"BatchGetItem", "PutItem"},
    "Suppressions": {"BatchGetItem"},
}
ITEM_ACTIONS = {
    "BatchGetItem", "BatchWriteItem", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan",
    "UpdateItem",
}  # fmt: skip
READS = {"BatchGetItem", "ConditionCheckItem", "GetItem", "Query", "Scan"}


@pytest.fixture(scope="module")
def template() -> DeployedTemplate:
    return deployed_template()


def tables(template: DeployedTemplate) -> dict[str, str]:
    """Table name as in nps.kernel.tables (capitalised) → logical id."""
    return {lid.removeprefix("Storage")[:-8]: lid for lid, _ in template.of_type("AWS::DynamoDB::Table")}


@pytest.mark.parametrize("function", sorted(ACCESS))
def test_each_function_may_do_exactly_its_row_on_each_table(template: DeployedTemplate, function: str) -> None:
    principal = template.principals()[f"function:{function}"]
    granted: dict[str, set[str]] = {}
    for name, logical_id in tables(template).items():
        arn = template.attribute(logical_id, "Arn")
        allowed = {
            a for a in ITEM_ACTIONS if evaluate(principal.statements, Request(f"dynamodb:{a}", arn)) is Decision.ALLOWED
        }
        if allowed:
            granted[name] = allowed
    assert granted == ACCESS[function]


@pytest.mark.parametrize("function", sorted(ACCESS))
def test_each_table_access_carries_the_key_access_it_needs_and_no_more(
    template: DeployedTemplate, function: str
) -> None:
    principal = template.principals()[f"function:{function}"]
    (key,) = [k for k, _ in template.of_type("AWS::KMS::Key")]
    arn = template.attribute(key, "Arn")
    writes = any(actions - READS for actions in ACCESS[function].values())

    def may(action: str) -> bool:
        return evaluate(principal.statements, Request(action, arn)) is Decision.ALLOWED

    assert may("kms:Decrypt")
    assert may("kms:GenerateDataKey") == writes
    assert may("kms:Encrypt") == writes


def test_every_function_with_table_access_has_a_row(template: DeployedTemplate) -> None:
    with_access = set()
    for name, principal in template.principals().items():
        for logical_id in tables(template).values():
            arn = template.attribute(logical_id, "Arn")
            if any(
                evaluate(principal.statements, Request(f"dynamodb:{a}", arn)) is Decision.ALLOWED for a in ITEM_ACTIONS
            ):
                with_access.add(name.removeprefix("function:"))
    assert with_access == set(ACCESS)


#: function → the "<table>/<index>" its role may query. Reports query the sharded responses index and,
#: until it is removed, the previous one (for responses written before shards existed).
INDEX_QUERIES: dict[str, set[str]] = {
    "report": {"Aggregates/by_survey_period", "Responses/by_survey_shard", "Responses/by_survey"},
    "sweep_invites": {"Invites/in_flight"},
    "churn": {"Invites/by_contact"},
    "digest": {"Aggregates/by_survey_period", "Responses/by_survey_shard", "Responses/by_survey"},
    # A contact's records: its audiences, then its sent invites (docs/privacy.md).
    "contact_timeline": {"Contacts/by_contact_id", "Invites/by_contact"},
    "erase_contact": {"Contacts/by_contact_id", "Invites/by_contact"},
}


def test_each_function_may_query_exactly_its_indexes(template: DeployedTemplate) -> None:
    allowed: dict[str, set[str]] = {}
    for name, principal in template.principals().items():
        for table, logical_id in tables(template).items():
            spec = next(s for s in ALL_TABLES if s.logical_name.capitalize() == table)
            arn = template.attribute(logical_id, "Arn")
            for index in spec.indexes:
                request = Request("dynamodb:Query", f"{arn}/index/{index.name}")
                if evaluate(principal.statements, request) is Decision.ALLOWED:
                    allowed.setdefault(name.removeprefix("function:"), set()).add(f"{table}/{index.name}")
    assert allowed == INDEX_QUERIES
