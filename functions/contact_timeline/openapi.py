"""Write the contact records API's OpenAPI document: ``python -m functions.contact_timeline.openapi [--check]``.

Both routes of a contact's records (the timeline's and the erasure's functions) in one document,
``docs/openapi/contacts.json``, generated from their resolvers; ``--check`` exits 1 when the committed copy
has drifted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from functions.openapi_files import write_or_check

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "contacts.json"


def document() -> str:
    from functions.contact_timeline.handler import resolver as timeline
    from functions.erase_contact.handler import resolver as erasure

    merged: dict[str, Any] = {}
    for app in (timeline(), erasure()):
        schema = json.loads(
            app.get_openapi_json_schema(
                title="NPS contact records API",
                version="1.0.0",
                description=(
                    "IAM-authorised (SigV4): a contact's timeline and its erasure from every store "
                    '(docs/privacy.md). Errors are JSON: {"error": {"code", "message"}}; 422 lists the fields at fault.'
                ),
            )
        )
        if not merged:
            merged = schema
            continue
        merged["paths"].update(schema.get("paths", {}))
        for kind, entries in schema.get("components", {}).items():
            merged.setdefault("components", {}).setdefault(kind, {}).update(entries)
    return json.dumps(merged, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    description = (__doc__ or "").splitlines()[0]
    return write_or_check(DOCUMENT, document(), argv, description, "python -m functions.contact_timeline.openapi")


if __name__ == "__main__":
    sys.exit(main())
