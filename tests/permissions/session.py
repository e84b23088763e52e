"""The session-wide recorder: every test's AWS calls are judged against the synthesized roles and the
service limits moto does not enforce.

``tests/conftest.py`` installs it before any client exists; at the end of the run a call its role does
not allow fails the session and is listed with the missing permission, and the permissions granted but
never used by the exercised principals are printed.
"""

from __future__ import annotations

from typing import Any

from tests.permissions.recorder import Recorder, Violation
from tests.permissions.template import deployed_template

RECORDER = Recorder(deployed_template)
_FOUND: list[Violation] = []


def session_finished(session: Any) -> None:
    """Judge what was recorded; a violation makes the session fail."""
    if not RECORDER.uses and not RECORDER.errors and not RECORDER.over_limits:
        return
    _FOUND[:] = RECORDER.violations()
    if (_FOUND or RECORDER.errors or RECORDER.over_limits) and session.exitstatus == 0:
        session.exitstatus = 1


def summary(reporter: Any) -> None:
    """The permission section of the terminal summary."""
    if not RECORDER.uses and not RECORDER.errors:
        return
    principals = sorted({use.principal for use in RECORDER.uses})
    reporter.section("AWS permissions (calls checked against the synthesized roles)")
    reporter.write_line(
        f"{len(RECORDER.uses)} distinct permission uses by {len(principals)} principals: {', '.join(principals)}"
    )
    for limit, where in RECORDER.over_limits.items():
        reporter.write_line(f"OVER A SERVICE LIMIT: {limit} (first seen in {where})", red=True)
    for error in RECORDER.errors[:10]:
        reporter.write_line(f"the permission recorder failed: {error}", red=True)
    if _FOUND:
        reporter.write_line(f"{len(_FOUND)} calls NOT ALLOWED as deployed:", red=True)
        for violation in _FOUND:
            reporter.write_line(f"  {violation}", red=True)
    unused = RECORDER.unused_grants()
    if unused:
        reporter.write_line(f"{len(unused)} permissions granted but never used in this run:")
        for line in unused:
            reporter.write_line(f"  {line}")
