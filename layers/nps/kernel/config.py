"""Function configuration read from the environment once, with a clear error when something is missing.

A frozen dataclass rather than a pydantic model: the respond function's cold start is budgeted and
pydantic is not on its hot path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Settings:
    invites_table: str
    responses_table: str
    aggregates_table: str
    event_bus_name: str
    signing_secret_name: str
    default_locale: str
    link_lifetime_days: int
    public_base_url: str
    edit_window_days: int
    #: The respond function reads its surveys' comment themes here (empty: comments are not tagged).
    surveys_table: str = ""
    #: Referral records (the referral redirect and the referral joins consumer; empty elsewhere).
    accounts_table: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        try:
            lifetime = int(os.environ.get("LINK_LIFETIME_DAYS", "30"))
            edit_window = int(os.environ.get("EDIT_WINDOW_DAYS", "7"))
        except ValueError as error:
            raise ConfigurationError("LINK_LIFETIME_DAYS and EDIT_WINDOW_DAYS must be integers") from error
        return cls(
            invites_table=os.environ.get("INVITES_TABLE", ""),
            responses_table=os.environ.get("RESPONSES_TABLE", ""),
            aggregates_table=os.environ.get("AGGREGATES_TABLE", ""),
            event_bus_name=os.environ.get("EVENT_BUS_NAME", ""),
            signing_secret_name=os.environ.get("SIGNING_SECRET_NAME", ""),
            default_locale=os.environ.get("DEFAULT_LOCALE", "en"),
            link_lifetime_days=lifetime,
            public_base_url=os.environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
            edit_window_days=edit_window,
            surveys_table=os.environ.get("SURVEYS_TABLE", ""),
            accounts_table=os.environ.get("ACCOUNTS_TABLE", ""),
        )

    def require(self, *names: str) -> Settings:
        """Raise :class:`ConfigurationError` unless every named setting is non-empty."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise ConfigurationError(f"missing configuration: {', '.join(sorted(missing))}")
        return self


def required_environment(names: Mapping[str, str]) -> dict[str, str]:
    """``{field: value}`` of the environment variables ``names`` maps fields to; raises
    :class:`ConfigurationError` naming every one that is missing or empty."""
    values = {field: os.environ.get(variable, "") for field, variable in names.items()}
    missing = sorted(variable for field, variable in names.items() if not values[field])
    if missing:
        raise ConfigurationError(f"missing configuration: {', '.join(missing)}")
    return values


def int_environment(variable: str, default: int, minimum: int = 0) -> int:
    """The integer in environment variable ``variable`` (``default`` when unset or empty); raises
    :class:`ConfigurationError` when it is not an integer of at least ``minimum``."""
    text = os.environ.get(variable, "").strip() or str(default)
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{variable} must be an integer") from None
    if value < minimum:
        raise ConfigurationError(f"{variable} must be at least {minimum}")
    return value


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    settings.cache_clear()


__all__ = [
    "ConfigurationError",
    "Settings",
    "int_environment",
    "required_environment",
    "reset_settings",
    "settings",
]
