"""The contact records and erasure service from the environment (the functions and the CLI share this).

Variables: ``CONTACTS_TABLE``, ``INVITES_TABLE``, ``RESPONSES_TABLE``, ``FOLLOW_UPS_TABLE``,
``SUPPRESSIONS_TABLE``, ``ACCOUNTS_TABLE``, ``SURVEYS_TABLE``, ``IMPORT_BUCKET`` (optional),
``EVENT_BUS_NAME`` and ``ID_KEY_SECRET_NAME``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nps.contacts.adapters.records import DynamoContactRecords, Tables
from nps.contacts.erasure import ErasureService
from nps.events.publisher import EventPublisher
from nps.kernel.config import ConfigurationError
from nps.links.adapters.keyring import load_id_key

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey

_TABLES = {
    "contacts": "CONTACTS_TABLE",
    "invites": "INVITES_TABLE",
    "responses": "RESPONSES_TABLE",
    "followups": "FOLLOW_UPS_TABLE",
    "suppressions": "SUPPRESSIONS_TABLE",
    "accounts": "ACCOUNTS_TABLE",
}


def tables_from(environ: Mapping[str, str] | None = None) -> Tables:
    """The stores' names; raises :class:`ConfigurationError` naming a missing variable."""
    env = os.environ if environ is None else environ
    missing = [variable for variable in _TABLES.values() if not env.get(variable)]
    if missing:
        raise ConfigurationError(f"missing environment: {', '.join(missing)}")
    names = {field: env[variable] for field, variable in _TABLES.items()}
    return Tables(**names, surveys=env.get("SURVEYS_TABLE", ""), import_bucket=env.get("IMPORT_BUCKET", ""))


def records(environ: Mapping[str, str] | None = None) -> DynamoContactRecords:
    return DynamoContactRecords(tables_from(environ))


def id_key(environ: Mapping[str, str] | None = None) -> IdKey:
    """The stack's id key (suppression keys, mailbox claims); raises :class:`ConfigurationError` without one."""
    env = os.environ if environ is None else environ
    name = env.get("ID_KEY_SECRET_NAME", "")
    if not name:
        raise ConfigurationError("missing environment: ID_KEY_SECRET_NAME")
    return load_id_key(name)


def erasure_service(environ: Mapping[str, str] | None = None) -> ErasureService:
    env = os.environ if environ is None else environ
    bus = env.get("EVENT_BUS_NAME", "")
    if not bus:
        raise ConfigurationError("missing environment: EVENT_BUS_NAME")
    return ErasureService(records(env), EventPublisher(bus), lambda: id_key(env))
