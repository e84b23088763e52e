"""What every command group shares: exit statuses, the user-facing error, and argument types."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from nps.events.names import ID_PATTERN

EXIT_OK = 0
EXIT_REQUEST = 1
EXIT_USAGE = 2
EXIT_TARGET = 3


class CliError(Exception):
    """A failure the user can act on: printed as one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_REQUEST, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        #: Indented lines printed after the message (each problem of an invalid survey file, say).
        self.details = tuple(details)


def day(text: str) -> date:
    """An argparse type for ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


# Partition-wide shapes: us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1, ap-southeast-5.
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


def region(text: str) -> str:
    """An argparse type for an AWS region name (``eu-west-1``); a typo is a usage error, not a network call."""
    if not _REGION.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not an AWS region name (like eu-west-1): {text!r}")
    return text


_ID = re.compile(ID_PATTERN)


def identifier(what: str) -> Callable[[str], str]:
    """An argparse type for an id with the survey model's shape (:data:`nps.events.names.ID_PATTERN`:
    1–64 of ``A-Z a-z 0-9 _ -``); ``what`` names it in the usage error (``a survey id``).

    An id no survey can have is refused before any call, instead of reaching AWS as an invalid key.
    """

    def check(text: str) -> str:
        if not _ID.fullmatch(text):
            raise argparse.ArgumentTypeError(f"{what} is 1–64 of A-Z a-z 0-9 _ -, not {text!r}")
        return text

    return check


# CloudFormation's rule for a stack name (CreateStack: StackName), or the stack's ARN.
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
_STACK_ARN = re.compile(r"arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack/[A-Za-z][A-Za-z0-9-]{0,127}/[\w-]+")


def stack_name(text: str) -> str:
    """An argparse type for a CloudFormation stack name (a letter, then up to 127 letters, digits or
    hyphens) or a stack ARN."""
    if not (_STACK_NAME.fullmatch(text) or _STACK_ARN.fullmatch(text)):
        raise argparse.ArgumentTypeError(
            f"a stack name is a letter then up to 127 letters, digits or hyphens (like Nps-prod), not {text!r}"
        )
    return text


def file_path(text: str) -> Path:
    """An argparse type for a file path; an empty one is a usage error (it would mean the working folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: give a file name")
    return Path(text)


def check_endpoints(environ: Mapping[str, str] | None = None) -> None:
    """Refuse, before any call, an ``AWS_ENDPOINT_URL`` (or a service's ``AWS_ENDPOINT_URL_<SERVICE>``)
    that is not an http(s) URL with a host and a port in 1–65535.

    Raises :class:`CliError` with exit status 3 (the target cannot be reached as configured) naming the
    variable and what is wrong with its value.
    """
    for name, value in sorted((environ if environ is not None else os.environ).items()):
        if name != "AWS_ENDPOINT_URL" and not name.startswith("AWS_ENDPOINT_URL_"):
            continue
        problem = _endpoint_problem(value)
        if problem is not None:
            raise CliError(f"{name} {value!r} {problem}: fix or unset it (e.g. http://127.0.0.1:5000)", EXIT_TARGET)


def _endpoint_problem(value: str) -> str | None:
    """Why ``value`` is not a usable endpoint URL, or None when it is."""
    try:
        parts = urlsplit(value)
    except ValueError:  # an unbalanced IPv6 bracket
        return "is not a URL"
    if parts.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    if not parts.hostname:
        return "has no host"
    try:
        port = parts.port
    except ValueError:
        return "has a port outside 1–65535"
    if port == 0:
        return "has a port outside 1–65535"
    return None


def output_file(path: Path, option: str) -> None:
    """Refuse, before any network call, a file to write into a missing folder or that is a folder.

    Raises :class:`CliError` (exit status 1); the folder is never created, so a typo in a path does not
    leave folders behind.
    """
    if path.is_dir():
        raise CliError(f"{path}: is a folder; give {option} a file name")
    if not path.parent.is_dir():
        raise CliError(f"{path.parent}: no such folder; create it first or give {option} another path")


def input_file(path: Path) -> None:
    """Refuse, before any network call, a file that cannot be read (missing, a folder, no access).

    Raises :class:`CliError` (exit status 1) worded as :func:`unreadable`.
    """
    read_bytes(path)


def unreadable(path: Path | str, reason: str) -> CliError:
    """The one wording of every input file the CLI cannot read: ``<path>: cannot read the file (<reason>)``
    and the fix."""
    return CliError(f"{path}: cannot read the file ({reason}): check the path, or give the path of a readable file")


def read_bytes(path: Path) -> bytes:
    """The bytes of ``path``; raises :class:`CliError` (exit status 1) for a missing file, a folder or no access."""
    if path.is_dir():
        raise unreadable(path, "it is a folder")
    try:
        return path.read_bytes()
    except OSError as failure:
        raise unreadable(path, failure.strerror or "unreadable") from None


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path`` (a byte order mark allowed); raises :class:`CliError` (exit status 1) for
    a file :func:`read_bytes` refuses or one that is not UTF-8, naming the file and the first bad byte."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        reason = f"not UTF-8 text: byte 0x{byte:02X} at offset {error.start}"
        raise CliError(f"{path}: cannot read the file ({reason}): save it as UTF-8") from None
