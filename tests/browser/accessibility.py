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


#: Resolves once every animation with an end (not an infinite spinner) has finished or been cancelled, in
#: the document and in every open shadow root (``document.getAnimations()`` leaves shadow trees out).
SETTLE_ANIMATIONS = """() => {
  const roots = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const element of roots[i].querySelectorAll('*')) {
      if (element.shadowRoot) roots.push(element.shadowRoot);
    }
  }
  return Promise.all(roots.flatMap(root => root.getAnimations())
    .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
    .map(a => a.finished.catch(() => null)));
}"""


def assert_accessible(page: Any) -> None:
    """Run axe-core on ``page`` (a Playwright sync ``Page``, JavaScript enabled) and fail listing every
    violation's rule id, impact and targets. Raises ``AssertionError`` when there is any violation.

    Waits first for every finite animation on the page (shadow trees included) to finish: axe measures
    colours as rendered, so text caught mid-fade would be reported for a contrast it never has at rest.
    """
    from axe_playwright_python.sync_playwright import Axe

    page.evaluate(SETTLE_ANIMATIONS)
    violations: list[dict[str, Any]] = Axe().run(page).response["violations"]
    assert not violations, f"axe-core reports violations on {page.url}:\n" + "\n".join(violation_lines(violations))
