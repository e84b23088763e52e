"""Text that looks the same counts the same: Unicode Normalization Form C for values people type.

``Zürich`` may arrive precomposed (U+00FC) from one system and decomposed (``u`` + U+0308) from another
(macOS file names, some CRMs); both display alike but compare unequal. Segment values and attribute
names go through :func:`nfc` wherever they enter (contact import, the values copied onto an invite), so
they aggregate as one. Source: Unicode Standard Annex #15.
"""

from __future__ import annotations

import unicodedata

#: The bidirectional formatting characters of Unicode Standard Annex #9 (embeddings, overrides, isolates
#: and the implicit marks): they reorder how a line reads (``\u202eevil``) without showing themselves.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def nfc(text: str) -> str:
    """``text`` in NFC (ASCII text is returned as is, without the normalisation call)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)
