"""``nps``: surveys, contacts, waves and reports from the command line, for a deployed stack or locally.

Exit status: 0 success, 1 the request cannot be served (unknown survey or segment, bad range, a file
that cannot be read or written), 2 usage error, 3 the target cannot be reached (stack, region,
credentials, permissions, local server). Every failure is one line on stderr, saying what to do, with no
traceback. Arguments (files, folders, dates, URLs) are checked before any network call: a command
registers a ``check`` default, run before the target is resolved.

Command groups live in their own modules (``nps.cli.reports`` …); each has a ``register`` function
that adds its subcommands, so surveys, contacts and waves plug in the same way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from nps import __version__
from nps.cli import (
    accounts,
    churn,
    contacts,
    digests,
    invites,
    keys,
    programs,
    referrals,
    reports,
    smoke,
    suppressions,
)
from nps.cli.common import EXIT_REQUEST, EXIT_TARGET, EXIT_USAGE, CliError, check_endpoints, region, stack_name
from nps.cli.failures import explain
from nps.cli.target import LOCAL_PREFIX, Target, TargetError, from_stack, local
from nps.cli.terminal import sanitised
from nps.kernel import aws

#: ``suppressions`` adds to the ``contacts`` group ``programs`` creates, so it comes after it.
COMMAND_GROUPS: tuple[ModuleType, ...] = (
    reports,
    accounts,
    churn,
    referrals,
    digests,
    programs,
    invites,
    smoke,
    suppressions,
    contacts,
    keys,
)

Command = Callable[[argparse.Namespace, Target], int]
#: Checks a command's arguments before the target is resolved; raises :class:`CliError`.
Check = Callable[[argparse.Namespace], None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nps",
        description="Net Promoter Score platform: surveys, contacts, waves and reports.",
        epilog="Exit status: 0 ok, 1 request cannot be served, 2 usage error, 3 target unreachable.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--stack", metavar="NAME", type=stack_name, help="a deployed stack, e.g. Nps-prod (uses your AWS credentials)"
    )
    where.add_argument("--local", action="store_true", help="the local moto environment (make moto)")
    parser.add_argument(
        "--region",
        type=region,
        help="AWS region of the stack, for every call (default: AWS_REGION or your profile's region)",
    )
    parser.add_argument(
        "--prefix",
        default=LOCAL_PREFIX,
        help=f"table prefix of the local environment (default {LOCAL_PREFIX})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def check_where(args: argparse.Namespace) -> None:
    """The target options make sense together (no network call); raises :class:`CliError` (usage)."""
    if not args.stack and not args.local:
        raise CliError("say where to read from: --stack NAME (a deployed stack) or --local", EXIT_USAGE)
    if args.local and args.region:
        raise CliError("--region is for --stack; the local environment has its own region", EXIT_USAGE)


def resolve_target(args: argparse.Namespace, in_process: bool) -> Target:
    """The stack or local environment the options name (``--region`` applies to every later client)."""
    check_where(args)
    if args.stack:
        if args.region:
            aws.use_region(args.region)
        return from_stack(args.stack)
    return local(args.prefix, in_process=in_process)


def main(argv: Sequence[str] | None = None, *, in_process: bool = False) -> int:
    """Run one command; ``in_process`` is for callers that already run inside a local mock (the demo).

    Everything the command prints passes through :func:`nps.cli.terminal.printable` (no escape
    sequences or control characters from stored or imported data reach the terminal).
    """
    with sanitised():
        return _run(argv, in_process=in_process)


def _run(argv: Sequence[str] | None, *, in_process: bool) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_where(args)
        check: Check | None = getattr(args, "check", None)
        if check is not None:
            check(args)
        check_endpoints()
        target = resolve_target(args, in_process)
        command: Command = args.handler
        return command(args, target)
    except CliError as error:
        print(f"nps: {error}", file=sys.stderr)
        for line in error.details:
            print(f"  {line}", file=sys.stderr)
        return error.status
    except TargetError as error:
        print(f"nps: {error}", file=sys.stderr)
        return EXIT_TARGET
    except OSError as error:  # writing a file named on the command line: a full disk, no access
        where = f"{error.filename}: " if error.filename else ""
        print(f"nps: {where}cannot write the file ({error.strerror or 'failed'})", file=sys.stderr)
        return EXIT_REQUEST
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # an AWS SDK failure anywhere in a command: one line with the fix
        failure = aws.classify_failure(error)
        if failure is None:
            raise
        print(f"nps: {explain(failure, local=bool(args.local))}", file=sys.stderr)
        return EXIT_TARGET


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
