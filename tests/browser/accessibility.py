"""Accessibility checks shared by the browser tests: axe-core (Deque's rule engine, the WCAG 2.x A/AA
rules and best practices it runs by default) over a page open in Chromium."""

from __future__ import annotations

from typing import Any


def _targets(node: dict[str, Any]) -> str:
    # A target is a CSS selector, or a list of selectors when the node sits inside an iframe/shadow root.
    return " ".join(" > ".join(t) if isinstance(t, list) else str(t) for t in node.get("target", []))


def violation_lines(violations: list[dict[str, Any]]) -> list[str]:
    """One line per violated rule: its id, impact and the selectors of the offending nodes."""
    return [
        f"{v['id']} ({v.get('impact') or 'no impact'}): {v.get('help', '')} -> "
        + "; ".join(_targets(node) for node in v.get("nodes", []))
        for v in violations
    ]


def assert_accessible(page: Any) -> None:
    """Run axe-core on ``page`` (a Playwright sync ``Page``, JavaScript enabled) and fail listing every
    violation's rule id, impact and targets. Raises ``AssertionError`` when there is any violation."""
    from axe_playwright_python.sync_playwright import Axe

    violations: list[dict[str, Any]] = Axe().run(page).response["violations"]
    assert not violations, f"axe-core reports violations on {page.url}:\n" + "\n".join(violation_lines(violations))
