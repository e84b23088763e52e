"""Argument types for the local tools (``python -m local.server``, ``python -m local.moto_server``,
``python -m local.demo``)."""

from __future__ import annotations

import argparse
import errno
import socket
from datetime import UTC, datetime


def positive_int(text: str) -> int:
    """An argparse type for a count of at least 1 (``--contacts 0`` would otherwise mean "the default")."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def port(text: str) -> int:
    """An argparse type for a TCP port, 0 (any free port) to 65535."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0–65535, not {number}")
    return number


def port_in_use(tool: str, number: int) -> str:
    """The one line printed when ``number`` is taken, with the fix."""
    return f"{tool}: port {number} is in use (another server?): stop it, or pass --port with a free port (0: any)"


def port_taken(number: int, host: str = "127.0.0.1") -> bool:
    """Whether another process listens on ``host:number`` (checked by binding it; 0 is never taken).

    moto's threaded server waits forever for a listener that failed to bind, so its tool asks first.
    """
    if number == 0:
        return False
    with socket.socket() as probe:
        try:
            probe.bind((host, number))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def utc_time(text: str) -> datetime:
    """An argparse type for an ISO 8601 time (``2026-12-31T23:50:00Z``; one without an offset is UTC), in UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
