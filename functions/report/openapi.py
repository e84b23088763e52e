"""Write the reporting API's OpenAPI document: ``python -m functions.report.openapi [--check]``.

The document is generated from the resolver's routes and pydantic models and kept in the repository
(``docs/openapi/report.json``); ``--check`` exits 1 when the committed copy has drifted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from functions.openapi_files import write_or_check

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
    description = (__doc__ or "").splitlines()[0]
    return write_or_check(DOCUMENT, document(), argv, description, "python -m functions.report.openapi")


if __name__ == "__main__":
    sys.exit(main())
