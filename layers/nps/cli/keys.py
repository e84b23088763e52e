"""``nps keys``: the keyring secrets' key ids, and their rotation (docs/operations.md, docs/web-channel.md).

    nps --stack Nps-prod keys list --site                 # {"keyring": "site", "active": "s1", "key_ids": ["s1"]}
    nps --stack Nps-prod keys rotate --site [--kid s2]    # a new random key, made active; s1 stays valid
    nps --stack Nps-prod keys retire --site s1            # s1's tokens stop verifying
    nps --stack Nps-prod keys rotate --links              # the link-signing keyring, the same way

``--site`` is the web prompt's and share links' site keys (output ``SiteKeysSecretArn``: each survey's site
secret derives from the active key), ``--links`` the one-tap links' signing keys (``SigningSecretArn``).
Key values are never printed: ``nps survey site-secret`` prints a survey's derived secret. Exit status 1
for a rotation that cannot be made (the active id retired, an unknown or taken id, a secret that is not a
keyring), 3 when the target has no such secret or it cannot be read or written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from nps.cli.common import EXIT_REQUEST, EXIT_TARGET, CliError
from nps.cli.programs import _with as with_target
from nps.links.adapters.keyring import read_keyring_secret, write_keyring_secret
from nps.links.rotation import KeyIds, RotationError, retired, rotated
from nps.links.tokens import key_problem

if TYPE_CHECKING:
    from nps.cli.target import Target

#: ``--site`` / ``--links`` → the stack output naming the secret, and what the keys are for.
KEYRINGS = {
    "site": ("SiteKeysSecretArn", "the site keys (web prompt and share-link contact tokens)"),
    "links": ("SigningSecretArn", "the link-signing keys (one-tap, unsubscribe and follow-up links)"),
}
_NEXT_STEPS = {
    "site": (
        "run `nps survey site-secret SURVEY` for each survey and, after 5 minutes (the functions' cache), give "
        "the new secret to the backends that mint contact tokens; once none mints with {old}: "
        "`nps keys retire --site {old}`"
    ),
    "links": (
        "new links carry {new} within 5 minutes; after the longest link lifetime (and unsubscribe links' "
        "lifetime): `nps keys retire --links {old}`"
    ),
}


def _secret(target: Target, keyring: str) -> str:
    output, what = KEYRINGS[keyring]
    name = target.outputs.get(output)
    if not name:
        raise CliError(f"{target.description} has no {output} output for {what} (deploy this release)", EXIT_TARGET)
    return name


def _read(name: str) -> dict[str, object]:
    try:
        return read_keyring_secret(name)
    except ValueError as error:
        raise CliError(f"the keyring secret cannot be used: {error}", EXIT_REQUEST) from error


def _print(keyring: str, ids: KeyIds) -> None:
    print(json.dumps({"keyring": keyring, "active": ids.active, "key_ids": list(ids.key_ids)}))


def list_keys(keyring: str, name: str) -> int:
    """Print the active key id and every key id of the keyring (never a key)."""
    try:
        _print(keyring, KeyIds.of(_read(name)))
    except RotationError as error:
        raise CliError(str(error), EXIT_REQUEST) from error
    return 0


def rotate_keys(keyring: str, name: str, kid: str | None) -> int:
    """Add a random key under ``kid`` (or the next id) and make it active; the old keys stay valid."""
    secret = _read(name)
    try:
        old = KeyIds.of(secret).active
        new_secret = rotated(secret, kid)
    except RotationError as error:
        raise CliError(str(error), EXIT_REQUEST) from error
    write_keyring_secret(name, new_secret)
    ids = KeyIds.of(new_secret)
    _print(keyring, ids)
    print(f"  next: {_NEXT_STEPS[keyring].format(old=old, new=ids.active)}", file=sys.stderr)
    return 0


def retire_key(keyring: str, name: str, kid: str) -> int:
    """Remove the key ``kid`` (not the active one): tokens signed under it stop verifying."""
    try:
        new_secret = retired(_read(name), kid)
    except RotationError as error:
        raise CliError(str(error), EXIT_REQUEST) from error
    write_keyring_secret(name, new_secret)
    _print(keyring, KeyIds.of(new_secret))
    return 0


def key_id(value: str) -> str:
    """An argparse type: a key id (``[A-Za-z0-9_-]{1,16}``, not ``active``)."""
    if value == "active" or key_problem(value, b"k" * 32):
        raise argparse.ArgumentTypeError(f"{value!r} is not a key id (1-16 characters of A-Z a-z 0-9 _ -)")
    return value


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keys list|rotate|retire --site|--links`` to the ``nps`` parser."""
    keys = commands.add_parser("keys", help="the keyring secrets: key ids, rotation").add_subparsers(
        dest="action", required=True
    )

    def which(parser: argparse.ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--site", dest="keyring", action="store_const", const="site", help=KEYRINGS["site"][1])
        group.add_argument("--links", dest="keyring", action="store_const", const="links", help=KEYRINGS["links"][1])

    listing = keys.add_parser("list", help="the active key id and every key id (never a key)")
    which(listing)
    listing.set_defaults(
        handler=lambda args, target: with_target(target, lambda: list_keys(args.keyring, _secret(target, args.keyring)))
    )
    rotate = keys.add_parser("rotate", help="add a new random key and make it active (the old ones stay valid)")
    which(rotate)
    rotate.add_argument("--kid", type=key_id, help="the new key id (default: the next number, s1 -> s2)")
    rotate.set_defaults(
        handler=lambda args, target: with_target(
            target, lambda: rotate_keys(args.keyring, _secret(target, args.keyring), args.kid)
        )
    )
    retire = keys.add_parser("retire", help="remove a key id that is not active: its tokens stop verifying")
    which(retire)
    retire.add_argument("kid", metavar="KID", type=key_id, help="the key id to remove")
    retire.set_defaults(
        handler=lambda args, target: with_target(
            target, lambda: retire_key(args.keyring, _secret(target, args.keyring), args.kid)
        )
    )
