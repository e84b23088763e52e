"""Text that looks the same counts the same: Unicode Normalization Form C for values people type.

``Zürich`` may arrive precomposed (U+00FC) from one system and decomposed (``u`` + U+0308) from another
(macOS file names, some CRMs); both display alike but compare unequal. Segment values and attribute
names go through :func:`nfc` wherever they enter (contact import, the values copied onto an invite), so
they aggregate as one. Source: Unicode Standard Annex #15.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

#: The bidirectional formatting characters of Unicode Standard Annex #9 (embeddings, overrides, isolates
#: and the implicit marks): they reorder how a line reads (``\u202eevil``) without showing themselves.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def nfc(text: str) -> str:
    """``text`` in NFC (ASCII text is returned as is, without the normalisation call)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def segment_values(dimensions: Iterable[str], attributes: Mapping[str, str]) -> dict[str, str]:
    """The values of ``dimensions`` among ``attributes`` (a dimension without a value is left out), in NFC:
    what an answer copies as its segments, on every channel (email and SMS invites, the web prompt, the
    share link), so values that look the same aggregate as one."""
    return {d: nfc(attributes[d]) for d in dimensions if attributes.get(d)}
