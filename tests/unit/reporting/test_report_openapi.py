"""The committed OpenAPI document of the reporting API is the one the resolver generates."""

from __future__ import annotations

import json

from functions.report.openapi import DOCUMENT, document


def test_the_committed_openapi_document_has_not_drifted_from_the_code() -> None:
    # Given the resolver's routes and models / When the document is generated
    generated = document()
    # Then it is byte-for-byte the committed one (regenerate: python -m functions.report.openapi)
    assert DOCUMENT.read_text(encoding="utf-8") == generated


def test_the_document_lists_every_report_route_with_json_errors() -> None:
    paths = json.loads(document())["paths"]
    assert set(paths) == {
        f"/reports/{{survey_id}}/{name}"
        for name in (
            "summary",
            "trend",
            "segments",
            "channels",
            "comments",
            "export",
            "drivers",
            "accounts",
            "churn",
            "referrals",
        )
    }
    for path in paths.values():
        responses = path["get"]["responses"]
        assert {"400", "404", "422"} <= set(responses)
