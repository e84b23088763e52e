"""The signing keyring and the id key, read from Secrets Manager through Powertools parameters (cached).

A signing secret with a bad entry (a key id outside ``[A-Za-z0-9_-]{1,16}``, a key that is not a string
of at least 32 bytes) still yields a keyring of its good keys: the bad entries are logged by name and
reason and counted in the ``SigningKeysRejected`` metric (namespace ``NPS``, no dimensions), which the
stack alarms on. Only an unusable ``active`` key stops the function (:class:`~nps.links.tokens.KeyringError`).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from nps.kernel.metrics import NAMESPACE, SIGNING_KEYS_REJECTED
from nps.links.pseudonyms import IdKey, IdKeyError
from nps.links.tokens import Keyring, KeyringError

KEYRING_MAX_AGE_SECONDS = 300
#: The id key never changes in a stack's life; an hour of caching still notices a restored secret.
ID_KEY_MAX_AGE_SECONDS = 3600

logger = logging.getLogger(__name__)


def load_keyring(secret_name: str) -> Keyring:
    """The keyring stored as JSON ``{"active": "<kid>", "<kid>": "<key>", ...}`` in ``secret_name``.

    Raises :class:`~nps.links.tokens.KeyringError` when the secret is not a JSON object or its active
    key is unusable; skips (and reports once per secret version per process) any other bad entry.
    """
    # Imported here: parameters pulls in extra modules the cold start does not need until first use.
    from aws_lambda_powertools.utilities import parameters

    secret: Any = parameters.get_secret(secret_name, transform="json", max_age=KEYRING_MAX_AGE_SECONDS)
    if not isinstance(secret, dict):
        raise KeyringError("the signing secret must be a JSON object")
    return _keyring(json.dumps(secret, sort_keys=True))


@lru_cache(maxsize=4)
def _keyring(secret_json: str) -> Keyring:
    """Build (and report on) a keyring once per distinct secret content, not on every request."""
    ring = Keyring.from_secret(json.loads(secret_json))
    if ring.rejected:
        for rejected in ring.rejected:
            logger.error("signing key skipped: %s: %s", rejected.name, rejected.reason)
        report_rejected_keys(len(ring.rejected))
    return ring


def report_rejected_keys(count: int) -> None:
    """Emit ``SigningKeysRejected`` = ``count`` (CloudWatch embedded metric format, one log line)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=SIGNING_KEYS_REJECTED, unit=MetricUnit.Count, value=count, namespace=NAMESPACE) as metric:
        metric.service = ""  # no service dimension: one alarm covers every function


def load_id_key(secret_name: str) -> IdKey:
    """The id key stored as JSON ``{"key": "<random>"}`` in ``secret_name``; raises :class:`IdKeyError`."""
    from aws_lambda_powertools.utilities import parameters

    secret: Any = parameters.get_secret(secret_name, transform="json", max_age=ID_KEY_MAX_AGE_SECONDS)
    if not isinstance(secret, dict):
        raise IdKeyError("the id key secret must be a JSON object")
    return IdKey.from_secret(secret)


def read_keyring_secret(secret_name: str) -> dict[str, Any]:
    """The keyring secret's JSON object as stored, uncached (for rotation; ``ValueError`` when it is not a
    JSON object)."""
    from nps.kernel import aws

    text = aws.client("secretsmanager").get_secret_value(SecretId=secret_name)["SecretString"]
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("the secret is not a JSON object")
    return value


def write_keyring_secret(secret_name: str, secret: dict[str, Any]) -> None:
    """Store ``secret`` as the keyring secret's new current version, and forget this process's cached copy
    (functions see it within :data:`KEYRING_MAX_AGE_SECONDS`)."""
    from aws_lambda_powertools.utilities import parameters

    from nps.kernel import aws

    aws.client("secretsmanager").put_secret_value(SecretId=secret_name, SecretString=json.dumps(secret))
    parameters.clear_caches()  # type: ignore[no-untyped-call]
