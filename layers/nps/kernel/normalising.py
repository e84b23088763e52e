"""Text that looks the same counts the same: Unicode Normalization Form C for values people type.

``Zürich`` may arrive precomposed (U+00FC) from one system and decomposed (``u`` + U+0308) from another
(macOS file names, some CRMs); both display alike but compare unequal. Segment values and attribute
names go through :func:`nfc` wherever they enter (contact import, the values copied onto an invite), so
they aggregate as one. Source: Unicode Standard Annex #15.
"""

from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    """``text`` in NFC (ASCII text is returned as is, without the normalisation call)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)
