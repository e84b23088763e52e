"""Rendering customer-facing pages with Jinja2 (autoescape on; compiled templates cached per process), and
the security headers every page carries (no external assets, no framing, no caching)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nps.kernel.locales import catalog, templates_dir

if TYPE_CHECKING:
    import jinja2

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


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The process's template environment, made on first use (so a function that renders nothing never
    loads Jinja2)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def render(template: str, locale: str, **context: Any) -> str:
    """Render ``template`` in ``locale`` (its messages are available as ``t``)."""
    return environment().get_template(template).render(t=catalog(locale), locale=locale, **context)
