"""axe-core in the page under test: every rule it runs by default (WCAG 2.0–2.2 A and AA, best practices)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _axe() -> Any:
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def violations(page: Any) -> list[str]:
    """One line per axe-core violation on ``page``: its rule id, impact and the selectors of its targets."""
    response = _axe().run(page).response
    return [
        f"{violation['id']} ({violation.get('impact')}): "
        + ", ".join(" ".join(map(str, node.get("target", []))) for node in violation.get("nodes", []))
        for violation in response.get("violations", [])
    ]


def assert_accessible(page: Any) -> None:
    """Fail with every axe-core violation on ``page`` (rule id, impact, target selectors)."""
    found = violations(page)
    assert not found, f"axe-core violations on {page.url}:\n" + "\n".join(found)
