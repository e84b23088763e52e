"""Rotating a keyring secret (``{"active": "<kid>", "<kid>": "<key>", ...}``): the link-signing keys and
the web prompt's site keys share the format and the procedure (pure: a secret's JSON object in, a new one
out; docs/operations.md, docs/web-channel.md).

* :func:`rotated` adds a key under a new key id and makes it active; every other entry stays, so tokens
  signed under the old ids keep verifying while they are in the secret (the overlap).
* :func:`retired` removes one key id that is not the active one: tokens signed under it stop verifying.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from nps.links.tokens import MIN_KEY_BYTES, key_problem

#: Characters of a new key: 48 random bytes in URL-safe base64 (64 characters, 384 bits).
NEW_KEY_BYTES = 48
_NUMBERED = re.compile(r"(.*?)(\d+)")


class RotationError(ValueError):
    """The rotation cannot be made: what is wrong, in one line (never a key's value)."""


@dataclass(frozen=True, slots=True)
class KeyIds:
    """What a keyring secret holds, without its keys: the active id and every key id, sorted."""

    active: str
    key_ids: tuple[str, ...]

    @classmethod
    def of(cls, secret: Mapping[str, object]) -> KeyIds:
        active = secret.get("active")
        if not isinstance(active, str) or active not in secret:
            raise RotationError("the secret has no usable 'active' key id: fix it before rotating")
        return cls(active, tuple(sorted(name for name in secret if name != "active")))


def next_key_id(secret: Mapping[str, object]) -> str:
    """The id after the active one: its prefix and one more than the highest number any id with that prefix
    has (``s1`` → ``s2``, ``k9`` with ``k10`` present → ``k11``, ``main`` → ``main2``)."""
    active = KeyIds.of(secret).active
    match = _NUMBERED.fullmatch(active)
    prefix = match.group(1) if match else active
    numbers = [int(m.group(2)) for name in secret if (m := _NUMBERED.fullmatch(name)) and m.group(1) == prefix]
    candidate = f"{prefix}{max(numbers, default=1) + 1}"
    if key_problem(candidate, b"k" * MIN_KEY_BYTES):
        raise RotationError(f"no next key id after {active!r} fits 16 characters: name one with --kid")
    return candidate


def rotated(secret: Mapping[str, object], new_kid: str | None = None, new_key: str | None = None) -> dict[str, object]:
    """``secret`` with a new key (random unless ``new_key``) under ``new_kid`` (or :func:`next_key_id`), made
    active. Raises :class:`RotationError` for an id already in the secret or not ``[A-Za-z0-9_-]{1,16}``."""
    KeyIds.of(secret)
    kid = new_kid or next_key_id(secret)
    if kid == "active" or kid in secret:
        raise RotationError(f"key id {kid!r} is already in the secret: choose another with --kid")
    key = new_key if new_key is not None else secrets.token_urlsafe(NEW_KEY_BYTES)
    problem = key_problem(kid, key.encode("utf-8"))
    if problem:
        raise RotationError(problem)
    return {**secret, kid: key, "active": kid}


def retired(secret: Mapping[str, object], kid: str) -> dict[str, object]:
    """``secret`` without the key ``kid``. Raises :class:`RotationError` for the active id (rotate first) or
    an id the secret does not hold."""
    ids = KeyIds.of(secret)
    if kid == ids.active:
        raise RotationError(f"{kid!r} is the active key: rotate to a new one first, then retire {kid!r}")
    if kid not in ids.key_ids:
        raise RotationError(f"the secret has no key id {kid!r} (it holds {', '.join(ids.key_ids)})")
    return {name: value for name, value in secret.items() if name != kid}
