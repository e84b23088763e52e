"""The brand of a survey's messages and response pages, and its colour's legibility: which text colour
goes on a survey's brand colour, and whether the brand colour itself can be text on the white card.

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

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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


#: The colour of pages and messages whose survey sets none (and of pages whose invite carries no brand).
DEFAULT_BRAND_COLOUR = "#1d4ed8"
#: Length caps of the page brand's fields (characters). They match the survey definition's, and keep the
#: brand copied onto every invite item under 2.5 KB (DynamoDB items may hold 400 KB).
MAX_BRAND_NAME = 80
MAX_QUESTION = 300
MAX_URL = 500
#: The logo's box on the response pages (CSS pixels): fixed, so the page does not move when it loads.
LOGO_WIDTH = 160
LOGO_HEIGHT = 48

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
# A logo is one image file at one https address: no credentials, query or fragment (where tracking ids
# travel), and none of the characters that would end or widen a CSP source expression (space ; , ' *).
_LOGO = rf"https://{_HOST}(?::[0-9]{{1,5}})?/[A-Za-z0-9._~%!$&()+=:@/-]*[A-Za-z0-9._~%!$&()+=:@-]"
_WEBSITE = rf"https://{_HOST}(?::[0-9]{{1,5}})?(?:[/?#][^\s<>\"'\\\x00-\x1f\x7f]*)?"


@lru_cache(maxsize=2)
def _address(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled on its first use (about 1.5 ms for these two): most pages and messages have
    no logo or website, so a cold start does not pay for them."""
    return re.compile(pattern)


def logo_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a survey's logo, or None when it can.

    Accepted: ``https://host[:port]/path/to/file`` of at most :data:`MAX_URL` characters, whose path names
    a file (not ending in ``/``) in letters, digits and ``. _ ~ % ! $ & ( ) + = : @ / -``. The response
    page's Content-Security-Policy allows exactly this address (``img-src <url>``), so it must be a valid
    CSP source expression that matches one file only (W3C CSP Level 3, §2.3.1 "Source Lists"). The host
    is a name, not an IPv4 literal or ``localhost``.
    """
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    if not url.startswith("https://"):
        return "must be an https:// address"
    if "?" in url or "#" in url:
        return "must not carry a query or fragment (they are how images track who opens a page)"
    if not _address(_LOGO).fullmatch(url):
        return (
            "must be https://host/path/to/image, in letters, digits and . _ ~ % ! $ & ( ) + = : @ / - (not ending in /)"
        )
    host = url[len("https://") :].split("/", 1)[0].rsplit(":", 1)[0].lower()
    if all(label.isdigit() for label in host.split(".")) or host == "localhost" or host.endswith(".localhost"):
        # Every person's browser would fetch it: an address inside their own network or machine is never
        # a brand's logo, and asking for one probes it.
        return "must name a public host, not an IP address or localhost"
    return None


def website_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a survey's website link, or None when it can (``https://`` and a host name,
    at most :data:`MAX_URL` characters, no spaces, quotes, angle brackets, control, invisible or
    text-direction characters)."""
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    if not _address(_WEBSITE).fullmatch(url):
        return "must be an https:// address with a host name, without spaces, quotes or angle brackets"
    if any(unicodedata.category(ch) in ("Cf", "Zl", "Zp") for ch in url):
        # Bidirectional controls and zero-width characters make a link read as another address.
        return "must not contain invisible or text-direction characters (such as U+200B or U+202E)"
    return None


@dataclass(frozen=True, slots=True)
class PageBrand:
    """What the response pages show of a survey in one locale: copied onto each invite when it is planned,
    so a tap reads no survey (the invite is read anyway).

    ``name`` None is the neutral brand of invites planned before brands were copied (and of pages with no
    invite at all): the pages then use the catalog's title and questions. ``question`` and
    ``follow_up_question`` are the survey's own wording for the invite's locale, None for the catalog's.
    """

    name: str | None = None
    colour: str = DEFAULT_BRAND_COLOUR
    logo_url: str | None = None
    website_url: str | None = None
    question: str | None = None
    follow_up_question: str | None = None

    @property
    def text_colour(self) -> str:
        """The colour of text on :attr:`colour` (buttons, the chosen score), at 4.5:1 or more."""
        return text_colour_on(self.colour)

    @property
    def heading_colour(self) -> str:
        """The colour of the brand name on the white card, at 4.5:1 or more."""
        return brand_text_colour(self.colour)

    def to_item(self) -> dict[str, Any]:
        """The brand as a DynamoDB map attribute value (``{"M": ...}``); absent fields are left out."""
        fields = {
            "name": self.name,
            "colour": self.colour,
            "logo_url": self.logo_url,
            "website_url": self.website_url,
            "question": self.question,
            "follow_up_question": self.follow_up_question,
        }
        return {"M": {key: {"S": value} for key, value in fields.items() if value}}

    @classmethod
    def from_item(cls, value: Mapping[str, Any] | None) -> PageBrand:
        """The brand stored by :meth:`to_item`; the neutral brand when there is none. A field that is not
        what a saved survey could hold (too long, a colour or address that fails the survey's rules) is
        dropped rather than shown: the address goes into the page's Content-Security-Policy header."""
        fields = (value or {}).get("M") or {}

        def text(key: str, limit: int) -> str | None:
            raw = (fields.get(key) or {}).get("S")
            return raw if isinstance(raw, str) and 0 < len(raw) <= limit else None

        colour = text("colour", 7)
        logo = text("logo_url", MAX_URL)
        website = text("website_url", MAX_URL)
        return cls(
            name=text("name", MAX_BRAND_NAME),
            colour=colour if colour and _COLOUR.fullmatch(colour) else DEFAULT_BRAND_COLOUR,
            logo_url=logo if logo and logo_url_problem(logo) is None else None,
            website_url=website if website and website_url_problem(website) is None else None,
            question=text("question", MAX_QUESTION),
            follow_up_question=text("follow_up_question", MAX_QUESTION),
        )


#: The brand of pages that know no survey: the catalog's texts and the default colour.
NEUTRAL_BRAND = PageBrand()
