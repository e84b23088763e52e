"""Rendering customer-facing pages with Jinja2 (autoescape on; compiled templates cached per process), and
the security headers every page carries (no external assets, no framing, no caching)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nps.kernel.branding import LOGO_HEIGHT, LOGO_WIDTH, NEUTRAL_BRAND, PageBrand
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


def page_policy(brand: PageBrand = NEUTRAL_BRAND, *directives: str) -> str:
    """The Content-Security-Policy of a page showing ``brand``: :data:`BASE_POLICY`, then ``directives``
    (a script's hash, ``connect-src 'self'``), then ``img-src <logo address>`` when the brand has a logo.

    The source expression is the logo's full address (validated by
    :func:`nps.kernel.branding.logo_url_problem`), which matches that one file and no other image, not
    even from the same host (W3C CSP Level 3, §6.7.2.12 "Does url match expression in origin with
    redirect count?": a path without a trailing ``/`` must match exactly).
    """
    parts = [BASE_POLICY, *directives]
    if brand.logo_url:
        parts.append(f"img-src {brand.logo_url}")
    return "; ".join(parts)


def page_headers(brand: PageBrand = NEUTRAL_BRAND, *directives: str) -> dict[str, str]:
    """:data:`PAGE_HEADERS` with the policy of :func:`page_policy`."""
    return PAGE_HEADERS | {"Content-Security-Policy": page_policy(brand, *directives)}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The process's template environment, made on first use (so a function that renders nothing never
    loads Jinja2)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.update(logo_width=LOGO_WIDTH, logo_height=LOGO_HEIGHT)
    return env


def render(template: str, locale: str, brand: PageBrand = NEUTRAL_BRAND, **context: Any) -> str:
    """Render ``template`` in ``locale`` (its messages are available as ``t``) for ``brand``."""
    return environment().get_template(template).render(t=catalog(locale), locale=locale, brand=brand, **context)
