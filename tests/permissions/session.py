"""The session-wide recorder: every test's AWS calls are judged against the synthesized roles and the
service limits moto does not enforce.

``tests/conftest.py`` installs it before any client exists; at the end of the run a call its role does
not allow fails the session and is listed with the missing permission, and the permissions granted but
never used by the exercised principals are printed.

Under pytest-xdist (``make test`` runs the suite over the machine's cores) every worker records and judges
its own calls against its own synthesized template, and hands the controller a :class:`Findings` (plain
lists and dicts, as execnet carries them); the controller merges them, so the verdict and the summary are
the same as in one process: a grant is unused when no worker used it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.permissions.recorder import Recorder
from tests.permissions.template import deployed_template

RECORDER = Recorder(deployed_template)


@dataclass
class Findings:
    """What one process recorded and concluded: distinct uses (as tuples), the calls not allowed (lines),
    the recorder's own failures, calls over a service limit (limit → where first seen), and per exercised
    principal the grants it did not use (lines)."""

    uses: set[tuple[str, ...]] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    over_limits: dict[str, str] = field(default_factory=dict)
    unused: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, recorder: Recorder) -> Findings:
        """Judge ``recorder``'s uses (synthesizes the template if it has not been yet)."""
        if not recorder.uses and not recorder.errors and not recorder.over_limits:
            return cls()
        unused: dict[str, set[str]] = {use.principal: set() for use in recorder.uses}
        for line in recorder.unused_grants():
            unused.setdefault(line.split(": ", 1)[0], set()).add(line)
        return cls(
            uses={(u.principal, u.operation, u.action, u.resource) for u in recorder.uses},
            violations=[str(v) for v in recorder.violations()],
            errors=list(recorder.errors),
            over_limits=dict(recorder.over_limits),
            unused=unused,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "uses": sorted(list(u) for u in self.uses),
            "violations": self.violations,
            "errors": self.errors,
            "over_limits": self.over_limits,
            "unused": {principal: sorted(lines) for principal, lines in self.unused.items()},
        }

    def merge(self, wire: dict[str, Any]) -> None:
        """Add a worker's findings: a grant stays unused only if every worker that exercised its principal
        left it unused."""
        self.uses.update(tuple(u) for u in wire["uses"])
        self.violations.extend(v for v in wire["violations"] if v not in self.violations)
        self.errors.extend(wire["errors"])
        for limit, where in wire["over_limits"].items():
            self.over_limits.setdefault(limit, where)
        for principal, lines in wire["unused"].items():
            if principal in self.unused:
                self.unused[principal] &= set(lines)
            else:
                self.unused[principal] = set(lines)

    @property
    def failed(self) -> bool:
        return bool(self.violations or self.errors or self.over_limits)


#: The controller's merge of its workers' findings (None when the run is not distributed).
_MERGED: Findings | None = None
_FOUND: Findings = Findings()

WIRE_KEY = "nps_permissions"


def worker_finished(wire: dict[str, Any] | None) -> None:
    """Controller side: fold one worker's findings in (``None``: the worker recorded nothing or crashed)."""
    global _MERGED
    if _MERGED is None:
        _MERGED = Findings()
    if wire:
        _MERGED.merge(wire)


def load_template_now() -> None:
    """Synthesize the template the recorder judges against now, not at the first recorded call: a test
    whose calls run in a server's request threads would otherwise spend that call's client timeout on a
    synthesis (seconds)."""
    _ = RECORDER.template


def session_finished(session: Any) -> None:
    """Judge what was recorded (here, or by the workers); a violation makes the session fail. On an xdist
    worker, hand the findings to the controller instead."""
    global _FOUND
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WIRE_KEY] = Findings.of(RECORDER).to_wire()
        return
    _FOUND = _MERGED if _MERGED is not None else Findings.of(RECORDER)
    if _FOUND.failed and session.exitstatus == 0:
        session.exitstatus = 1


def summary(reporter: Any) -> None:
    """The permission section of the terminal summary."""
    found = _FOUND
    if not found.uses and not found.errors:
        return
    principals = sorted({use[0] for use in found.uses})
    reporter.section("AWS permissions (calls checked against the synthesized roles)")
    reporter.write_line(
        f"{len(found.uses)} distinct permission uses by {len(principals)} principals: {', '.join(principals)}"
    )
    for limit, where in found.over_limits.items():
        reporter.write_line(f"OVER A SERVICE LIMIT: {limit} (first seen in {where})", red=True)
    for error in found.errors[:10]:
        reporter.write_line(f"the permission recorder failed: {error}", red=True)
    if found.violations:
        reporter.write_line(f"{len(found.violations)} calls NOT ALLOWED as deployed:", red=True)
        for violation in found.violations:
            reporter.write_line(f"  {violation}", red=True)
    unused = sorted(line for lines in found.unused.values() for line in lines)
    if unused:
        reporter.write_line(f"{len(unused)} permissions granted but never used in this run:")
        for line in unused:
            reporter.write_line(f"  {line}")
