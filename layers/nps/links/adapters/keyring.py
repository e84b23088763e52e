"""The signing keyring, read from Secrets Manager through Powertools parameters (cached for 5 minutes)."""

from __future__ import annotations

from typing import Any

from nps.links.tokens import Keyring

KEYRING_MAX_AGE_SECONDS = 300


def load_keyring(secret_name: str) -> Keyring:
    """The keyring stored as JSON ``{"active": "<kid>", "<kid>": "<key>", ...}`` in ``secret_name``."""
    # Imported here: parameters pulls in extra modules the cold start does not need until first use.
    from aws_lambda_powertools.utilities import parameters

    secret: Any = parameters.get_secret(secret_name, transform="json", max_age=KEYRING_MAX_AGE_SECONDS)
    if not isinstance(secret, dict):
        raise ValueError("the signing secret must be a JSON object")
    return Keyring.from_secret(secret)
