"""What every command group shares: exit statuses, the user-facing error, and argument types."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

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

    Raises :class:`CliError` (exit status 1) with the path and the reason.
    """
    if path.is_dir():
        raise CliError(f"{path}: is a folder, not a file")
    try:
        with path.open("rb"):
            pass
    except OSError as failure:
        raise CliError(f"{path}: cannot read the file ({failure.strerror or 'unreadable'})") from None
