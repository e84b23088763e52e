"""Invite messages: the multipart email (HTML + text, RFC 8058 unsubscribe headers) and the SMS text.

Rendered from ``templates/email`` and ``templates/sms`` with the shared Jinja2 environment (autoescape
for HTML, compiled templates cached per process). Links carry signed tokens only: no PII in a URL.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate
from functools import lru_cache

from nps.kernel.locales import catalog
from nps.kernel.rendering import environment
from nps.links.tokens import Keyring, Purpose, sign
from nps.sending.surveys import PromoterFollowUp, Survey


@dataclass(frozen=True, slots=True)
class InviteLinks:
    score_links: tuple[str, ...]
    score_page: str
    unsubscribe: str
    #: A link hidden in the email that no person sees: only scanners follow it (docs/scanner-proof-responses.md).
    preview: str = ""


def invite_links(
    keyring: Keyring, base_url: str, invite_id: str, expires_at: int, unsubscribe_expires_at: int
) -> InviteLinks:
    """The 11 one-tap score links, the bare score-page link (SMS) and the unsubscribe link."""
    respond = sign(keyring, Purpose.RESPOND, invite_id, expires_at)
    page = f"{base_url}/r/{respond}"
    return InviteLinks(
        score_links=tuple(f"{page}?score={score}" for score in range(11)),
        score_page=page,
        unsubscribe=unsubscribe_link(keyring, base_url, invite_id, unsubscribe_expires_at),
        preview=f"{page}/p",
    )


def unsubscribe_link(keyring: Keyring, base_url: str, invite_id: str, expires_at: int) -> str:
    """The signed unsubscribe link of an invite (also in every follow-up email about its answer)."""
    return f"{base_url}/u/{sign(keyring, Purpose.UNSUBSCRIBE, invite_id, expires_at)}"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def _fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def render_email(survey: Survey, locale: str, links: InviteLinks, reminder: bool = False) -> RenderedEmail:
    """Subject, HTML and text of an invite (or its reminder) in ``locale``, branded for the survey."""
    t = catalog(locale)
    brand = survey.brand_name
    question = survey.question.get(locale) or _fill(t["email_question"], brand=brand)
    context = {
        "t": t,
        "locale": locale,
        "brand": brand,
        "brand_colour": survey.brand_colour,
        "subject": _fill(t["email_reminder_subject" if reminder else "email_subject"], brand=brand),
        "question": question,
        "intro": t["email_reminder_intro" if reminder else "email_intro"],
        "scale_low": t["scale_low"],
        "scale_high": t["scale_high"],
        "score_links": links.score_links,
        "score_labels": [_fill(t["score_label"], score=str(score)) for score in range(11)],
        "footer": _fill(t["email_footer"], brand=brand),
        "unsubscribe_link": links.unsubscribe,
        "preview_link": links.preview,
    }
    env = environment()
    return RenderedEmail(
        subject=str(context["subject"]),
        html=env.get_template("email/invite.html").render(context),
        text=env.get_template("email/invite.txt").render(context),
    )


def render_sms(survey: Survey, locale: str, links: InviteLinks, reminder: bool = False) -> str:
    """One short text with one signed link to the score page."""
    template = environment().get_template("sms/invite.txt")
    return template.render(t=catalog(locale), brand=survey.brand_name, link=links.score_page, reminder=reminder).strip()


def render_follow_up_email(survey: Survey, category: str, locale: str, unsubscribe_link: str) -> RenderedEmail:
    """A category's follow-up email: the apology, the "what would make it a 10?" ask, or the thank-you
    with the survey's referral and review links. The survey's own subject/body for ``locale`` replace
    the catalog's; the body is plain text (paragraphs split on blank lines), escaped like every value."""
    t = catalog(locale)
    brand = survey.brand_name
    settings = survey.follow_ups.for_category(category)
    subject = settings.subject.get(locale) or _fill(t[f"follow_up_{category}_subject"], brand=brand)
    body = settings.body.get(locale) or _fill(t[f"follow_up_{category}_body"], brand=brand)
    paragraphs = [" ".join(p.split()) for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    actions = []
    if isinstance(settings, PromoterFollowUp):
        for kind, url in (("referral", settings.referral_url), ("review", settings.review_url)):
            if url:
                intro = _fill(t[f"follow_up_{kind}_intro"], brand=brand)
                actions.append({"intro": intro, "label": t[f"follow_up_{kind}_cta"], "url": url})
    context = {
        "t": t,
        "locale": locale,
        "brand": brand,
        "brand_colour": survey.brand_colour,
        "subject": subject,
        "paragraphs": paragraphs,
        "actions": actions,
        "footer": _fill(t["follow_up_footer"], brand=brand),
        "unsubscribe_link": unsubscribe_link,
    }
    env = environment()
    return RenderedEmail(
        subject=subject,
        html=env.get_template("email/follow_up.html").render(context),
        text=env.get_template("email/follow_up.txt").render(context),
    )


def mime_message(survey: Survey, recipient: str, email: RenderedEmail, unsubscribe_link: str) -> bytes:
    """The raw MIME message: multipart/alternative (text, then HTML) with the RFC 8058 headers.

    Built directly rather than through :class:`email.message.EmailMessage`, whose content manager
    costs ~9 ms per message (it tries several transfer encodings); bodies are base64 (every client
    reads it, and no line-length or charset surprises), headers RFC 2047-encoded when not ASCII.
    Addresses were validated as ASCII without CR/LF, so no header can be injected.
    """
    boundary = f"=_nps_{secrets.token_hex(12)}"
    display = survey.sender_name or survey.brand_name
    headers = [
        f"From: {_from_header(display, survey.sender)}",
        f"To: {recipient}",
        f"Subject: {_header(email.subject)}",
        f"Date: {formatdate(usegmt=True)}",
        "MIME-Version: 1.0",
        f"List-Unsubscribe: <{unsubscribe_link}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Auto-Submitted: auto-generated",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    out = ["\r\n".join(headers), "\r\n\r\n"]
    for subtype, body in (("plain", email.text), ("html", email.html)):
        out.append(
            f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        )
        out.append(_base64_lines(body))
    out.append(f"--{boundary}--\r\n")
    return "".join(out).encode("ascii")


# Subjects and senders repeat across a wave (one per survey and locale): encode each once.
@lru_cache(maxsize=512)
def _header(text: str) -> str:
    return text if text.isascii() else Header(text, "utf-8").encode(linesep="\r\n")


@lru_cache(maxsize=128)
def _from_header(display: str, address: str) -> str:
    return formataddr((display, address), charset="utf-8")


def _base64_lines(body: str) -> str:
    """Base64 in 76-character CRLF lines (RFC 2045)."""
    encoded = base64.b64encode(body.encode("utf-8")).decode("ascii")
    return "".join(encoded[i : i + 76] + "\r\n" for i in range(0, len(encoded), 76))
