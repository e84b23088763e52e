"""Brand colour legibility: which text colour goes on a survey's brand colour, and whether the brand
colour itself can be text on the white email card.

Contrast is the WCAG 2.x ratio ``(L1 + 0.05) / (L2 + 0.05)`` of relative luminances (W3C WCAG 2.1,
success criterion 1.4.3 "Contrast (Minimum)" and its definitions of *relative luminance* and *contrast
ratio*); normal-size text needs at least 4.5:1.

**Decision: choose, do not refuse.** A brand colour is the team's brand; yellow (``#facc15``) or white
are legitimate brands. Rather than refuse them, the score digits and call-to-action labels on the brand
colour take the first of white, near-black and black that reaches 4.5:1 (one of white and black always
does: the worst case, a mid grey, still gives 4.58:1 with black), and the brand name heading on the
white card uses the brand colour only when it reaches 4.5:1 against white, else near-black. In dark
mode (clients that honour ``prefers-color-scheme``) the card is :data:`DARK_CARD` and the same rule
picks the brand colour or white there.
"""

from __future__ import annotations

from functools import lru_cache

#: WCAG 2.1 §1.4.3: the minimum contrast ratio for normal-size text.
MIN_CONTRAST = 4.5
WHITE = "#ffffff"
NEAR_BLACK = "#1a1a1a"  # the emails' body text colour
BLACK = "#000000"
#: The emails' dark-mode card and page backgrounds (``templates/email/layout.html``).
DARK_CARD = "#1f2937"
DARK_PAGE = "#111827"
_TEXT_ON_BRAND = (WHITE, NEAR_BLACK, BLACK)


def _channel(value: int) -> float:
    """sRGB channel (0–255) to linear light, per the WCAG 2.1 relative luminance definition."""
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """Relative luminance (0.0 black – 1.0 white) of a ``#rrggbb`` colour.

    Raises ``ValueError`` when ``colour`` is not ``#`` followed by six hexadecimal digits.
    """
    if len(colour) != 7 or colour[0] != "#":
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours, from 1.0 (same) to 21.0 (black on white)."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@lru_cache(maxsize=256)
def text_colour_on(background: str) -> str:
    """The colour of text on ``background`` (the score digits on the brand colour): white, else
    near-black, else black, whichever comes first at 4.5:1 or more. Always reaches 4.5:1."""
    for candidate in _TEXT_ON_BRAND:
        if contrast_ratio(candidate, background) >= MIN_CONTRAST:
            return candidate
    return BLACK  # unreachable: black reaches 4.58:1 wherever white falls short


@lru_cache(maxsize=256)
def brand_text_colour(brand_colour: str, card: str = WHITE) -> str:
    """The colour of the brand name on the email card (white, or :data:`DARK_CARD` in dark mode): the
    brand colour when it reaches 4.5:1 against the card, else the card's own text colour (near-black on
    white, white on dark), so a yellow brand on white or a navy brand on the dark card stays readable."""
    if contrast_ratio(brand_colour, card) >= MIN_CONTRAST:
        return brand_colour
    return text_colour_on(card)
