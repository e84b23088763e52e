"""nps.reasons.scales: the ids the reasons use are the event contract's ids."""

from __future__ import annotations

from nps.events.names import ID_PATTERN
from nps.reasons.scales import REASON_ID_PATTERN, RESERVED_DIMENSIONS


def test_driver_and_theme_ids_follow_the_contracts_id_pattern() -> None:
    # Repeated below the event contract; they must not drift apart.
    assert REASON_ID_PATTERN == ID_PATTERN


def test_the_reserved_dimensions_are_the_drivers_and_the_themes() -> None:
    assert frozenset({"driver", "theme"}) == RESERVED_DIMENSIONS
