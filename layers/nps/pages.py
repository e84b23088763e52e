"""Security headers every customer-facing HTML page carries (no external assets, no framing, no caching)."""

from __future__ import annotations

HTML = "text/html; charset=utf-8"
#: No script at all; a page that needs one adds ``script-src`` with the script's hash.
BASE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": BASE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}
