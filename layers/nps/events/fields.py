"""Constrained field types shared by the event models and the stored survey and contact models.

Apart from :mod:`nps.events.models` so a module that only needs an id or a channel type does not
define every event model when it is imported.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from nps.events.names import ID_PATTERN

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
SegmentValues = dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], str]
Channel = Literal["email", "sms"]
