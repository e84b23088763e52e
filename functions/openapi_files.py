"""The command line of every OpenAPI document writer: write the document, or ``--check`` that the committed
copy is current (tooling only: no function imports this at run time)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def write_or_check(document: Path, text: str, argv: list[str] | None, description: str, command: str) -> int:
    """Write ``text`` to ``document`` (0), or with ``--check`` in ``argv`` compare them: 0 when equal, else 1
    with a line on stderr naming ``command``, which regenerates it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail if the committed document differs")
    args = parser.parse_args(argv)
    if args.check:
        if not document.exists() or document.read_text(encoding="utf-8") != text:
            print(f"{document} is out of date: run {command}", file=sys.stderr)
            return 1
        return 0
    document.parent.mkdir(parents=True, exist_ok=True)
    document.write_text(text, encoding="utf-8")
    print(f"wrote {document}")
    return 0
