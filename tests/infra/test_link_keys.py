"""The id key, link keyring and site keys secrets (who reads them) and the signing-key alarm in the synthesized
stack."""

from __future__ import annotations

import pytest

from nps.kernel.metrics import NAMESPACE, SIGNING_KEYS_REJECTED
from tests.permissions.iam import Decision, Request, evaluate
from tests.permissions.template import DeployedTemplate, deployed_template

pytestmark = pytest.mark.infra

#: The functions that compute invite ids or suppression keys, and only they, read the id key.
# web: web invite, state and rate-counter ids; share: anonymous and identified response ids; digest: the
# suppression keys of the team's addresses and its per-recipient sent markers.
#: ``contact_timeline`` and ``erase_contact`` key a contact's addresses to find its suppressions (docs/privacy.md).
ID_KEY_READERS = {
    "planner", "deliver", "suppress", "unsubscribe", "follow_up", "web", "share", "digest", "contact_timeline",
    "erase_contact",
}  # fmt: skip


@pytest.fixture(scope="module")
def template() -> DeployedTemplate:
    return deployed_template()


def _id_key(template: DeployedTemplate) -> str:
    (logical_id,) = [
        lid for lid, _ in template.of_type("AWS::SecretsManager::Secret") if lid.startswith("StorageIdKey")
    ]
    return logical_id


def test_the_id_key_is_a_retained_secret_encrypted_with_the_stack_key(template: DeployedTemplate) -> None:
    resource = template.resources[_id_key(template)]
    (key,) = [k for k, _ in template.of_type("AWS::KMS::Key")]
    assert template.encryption_key(_id_key(template)) == key
    assert resource["DeletionPolicy"] == "Retain"
    generated = resource["Properties"]["GenerateSecretString"]
    assert (generated["GenerateStringKey"], generated["PasswordLength"]) == ("key", 64)


def test_only_the_functions_that_hash_ids_may_read_the_id_key(template: DeployedTemplate) -> None:
    arn = template.attribute(_id_key(template), "Ref")
    readers = {
        name.removeprefix("function:")
        for name, principal in template.principals().items()
        if evaluate(principal.statements, Request("secretsmanager:GetSecretValue", arn)) is Decision.ALLOWED
    }
    assert readers == ID_KEY_READERS


#: The functions that sign or verify one-tap and unsubscribe links read the link keyring; the web
#: function does not (its ask tokens are signed with keys derived from the site keys).
#: ``referral`` verifies the promoter email's signed referral/review links (docs/referrals.md).
LINK_KEYRING_READERS = {"respond", "deliver", "unsubscribe", "follow_up", "follow_up_events", "referral"}
#: The functions that verify contact tokens (and sign the web prompt's ask tokens) read the site keys.
SITE_KEYS_READERS = {"web", "share"}


def _readers(template: DeployedTemplate, prefix: str) -> set[str]:
    (logical_id,) = [lid for lid, _ in template.of_type("AWS::SecretsManager::Secret") if lid.startswith(prefix)]
    arn = template.attribute(logical_id, "Ref")
    return {
        name.removeprefix("function:")
        for name, principal in template.principals().items()
        if evaluate(principal.statements, Request("secretsmanager:GetSecretValue", arn)) is Decision.ALLOWED
    }


def test_the_web_function_cannot_read_the_link_keyring(template: DeployedTemplate) -> None:
    assert _readers(template, "ResponseApiLinkSigningKeys") == LINK_KEYRING_READERS
    assert _readers(template, "WebSiteKeys") == SITE_KEYS_READERS


def test_a_rejected_signing_key_raises_an_alarm(template: DeployedTemplate) -> None:
    alarms = [
        r["Properties"]
        for _, r in template.of_type("AWS::CloudWatch::Alarm")
        if r["Properties"].get("MetricName") == SIGNING_KEYS_REJECTED
    ]
    (alarm,) = alarms
    assert alarm["Namespace"] == NAMESPACE
    assert "Dimensions" not in alarm  # the functions emit it without dimensions
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["AlarmActions"]
