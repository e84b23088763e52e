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
#: Where an answer came from: an invite sent by email or SMS, the in-app / website prompt, or the survey's
#: shareable link (`link` with a contact token, `link_anonymous` without; docs/share-link.md).
Channel = Literal["email", "sms", "web", "link", "link_anonymous"]
#: The channels a wave sends on (a survey's ``channels``); the web prompt is asked on the page instead.
SendChannel = Literal["email", "sms"]
