"""The digest as people read it: ``templates/email/digest.html`` and ``digest.txt`` (Jinja2, HTML
autoescaped) and the raw MIME message that carries both, with the HTML report attached.

The message is built with Python's :mod:`email` package (``multipart/mixed``: a ``multipart/alternative``
of text and HTML, then the report as ``text/html`` attachment). SES accepts raw messages of at most 10 MB
(SES developer guide, "Service quotas": maximum message size including attachments); a report that would
pass :data:`nps.digests.service.MAX_MESSAGE_BYTES` once encoded is left out, and the digest then links ``report_url`` or
names the ``nps html`` command that writes the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

from nps.kernel import formatting
from nps.kernel.locales import catalog, text_direction
from nps.kernel.rendering import render
from nps.sending.messages import HEADER_POLICY
from nps.sending.surveys import DigestSettings, Survey, forbidden_header_character

if TYPE_CHECKING:
    from nps.digests.content import DigestContent


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    html: str
    text: str
    #: The attached report's file name (None: not attached).
    attachment_name: str | None


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(text: str, **values: object) -> str:
    """``text`` with each ``{name}`` of ``values`` replaced in one pass (a value holding ``{period}`` stays
    as written); catalog placeholders only, values escaped where rendered."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def report_command(content: DigestContent) -> str:
    """The command that writes the period's HTML report (the fallback when nothing else gives it)."""
    period = content.period
    return f"nps html {content.survey_id} --from {period.first.isoformat()} --to {period.last.isoformat()}"


def attachment_name(content: DigestContent) -> str:
    """``<survey>-report-<first day>.html`` (ids are ``A-Za-z0-9_-``: a safe file name)."""
    return f"{content.survey_id}-report-{content.period.first.isoformat()}.html"


def _context(content: DigestContent, survey: Survey, settings: DigestSettings, attached: str | None) -> dict[str, Any]:
    t = catalog(settings.locale)
    change = content.change
    if content.difference is None or change.difference is None:
        change_sentence, significance = t["digest_change_none"], ""
    else:
        key = {"up": "digest_change_up", "down": "digest_change_down", "flat": "digest_change_flat"}[content.direction]
        change_sentence = fill(t[key], difference=formatting.fixed(abs(content.difference)))
        p_value = "–" if change.p_value is None else f"{change.p_value:.3f}"
        significance = fill(t["digest_significant" if change.significant else "digest_not_significant"], p=p_value)
    current, previous = content.current, content.previous
    figures = [
        (t["digest_nps"], formatting.signed(current.estimate.nps), formatting.signed(previous.estimate.nps)),
        (t["digest_responses"], str(current.counts.n), str(previous.counts.n)),
        (
            t["digest_response_rate"],
            formatting.percent(current.response_rate),
            formatting.percent(previous.response_rate),
        ),
        (t["digest_invites_sent"], str(current.invites_sent), str(previous.invites_sent)),
    ]
    return {
        "content": content,
        "current": current,
        "brand_name": survey.brand_name,
        "dir": text_direction(settings.locale),
        "change_sentence": change_sentence,
        "significance_sentence": significance,
        "figures": figures,
        "category_words": {c: t[f"digest_category_{c}"] for c in ("detractor", "passive", "promoter")},
        "report_url": settings.report_url,
        "attachment_name": attached,
        "report_command": report_command(content),
        "fill": fill,
        "signed": formatting.signed,
    }


def subject(content: DigestContent, settings: DigestSettings) -> str:
    """The subject line: the survey's name (a header-safe line, checked when saved) and the period."""
    return fill(catalog(settings.locale)["digest_subject"], title=content.title, period=content.period.label())


def render_digest(
    content: DigestContent, survey: Survey, settings: DigestSettings, attached: bool = True
) -> RenderedDigest:
    """The digest's subject, HTML and text; ``attached`` says whether the report goes with it."""
    name = attachment_name(content) if attached else None
    context = _context(content, survey, settings, name)
    title = subject(content, settings)
    html = render("email/digest.html", settings.locale, subject=title, **context)
    text = render("email/digest.txt", settings.locale, subject=title, **context)
    return RenderedDigest(title, html, text, name)


def mime_digest(
    survey: Survey, recipient: str, rendered: RenderedDigest, report_html: str | None, *, domain: str = "nps.invalid"
) -> bytes:
    """The raw message to ``recipient``: From the survey's sender (display name: sender name or brand),
    text and HTML alternatives, and ``report_html`` attached when given and ``rendered`` names the
    attachment. Raises ``ValueError`` when a header value holds a control or line-separator character."""
    for name, value in (("Subject", rendered.subject), ("From", survey.sender_name or survey.brand_name)):
        found = forbidden_header_character(value)
        if found is not None:
            raise ValueError(f"the {name} header would contain a forbidden character ({found})")
    message = EmailMessage(policy=HEADER_POLICY)
    message["From"] = Address(display_name=survey.sender_name or survey.brand_name, addr_spec=survey.sender)
    message["To"] = Address(addr_spec=recipient)
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, cte="base64")
    message.add_alternative(rendered.html, subtype="html", cte="base64")
    if report_html is not None and rendered.attachment_name is not None:
        message.make_mixed()
        message.add_attachment(
            report_html.encode("utf-8"),
            maintype="text",
            subtype="html",
            filename=rendered.attachment_name,
        )
    return message.as_bytes()
