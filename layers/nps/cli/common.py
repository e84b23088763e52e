"""What every command group shares: exit statuses, the user-facing error, and argument types."""

from __future__ import annotations

import argparse
from datetime import date

EXIT_OK = 0
EXIT_REQUEST = 1
EXIT_USAGE = 2
EXIT_TARGET = 3


class CliError(Exception):
    """A failure the user can act on: printed as one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_REQUEST) -> None:
        super().__init__(message)
        self.status = status


def day(text: str) -> date:
    """An argparse type for ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
