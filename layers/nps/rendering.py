"""Rendering customer-facing pages with Jinja2 (autoescape on; compiled templates cached per process)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from nps.i18n import catalog
from nps.templates_path import templates_dir


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
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
