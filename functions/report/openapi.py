"""Write the reporting API's OpenAPI document: ``python -m functions.report.openapi [--check]``.

The document is generated from the resolver's routes and pydantic models and kept in the repository
(``docs/openapi/report.json``); ``--check`` exits 1 when the committed copy has drifted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "report.json"


def document() -> str:
    from functions.report.handler import validating_resolver

    app = validating_resolver()

    schema = app.get_openapi_json_schema(
        title="NPS reporting API",
        version="1.0.0",
        description=(
            "IAM-authorised (SigV4) reports computed from the aggregates: NPS with its 95% interval, "
            "trends with the significance of each change, segment and channel comparisons, comments "
            'and CSV export. Errors are JSON: {"error": {"code", "message"}}.'
        ),
    )
    return json.dumps(json.loads(schema), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed document differs")
    args = parser.parse_args(argv)
    current = document()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != current:
            print(f"{DOCUMENT} is out of date: run python -m functions.report.openapi", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(current, encoding="utf-8")
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
