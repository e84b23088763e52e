"""Invite messages: the multipart email (HTML + text, RFC 8058 unsubscribe headers) and the SMS text.

Rendered from ``templates/email`` and ``templates/sms`` with the shared Jinja2 environment (autoescape
for HTML, compiled templates cached per process). Links carry signed tokens only: no PII in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

from nps.i18n import catalog
from nps.rendering import environment
from nps.surveys import Survey
from nps.tokens import Keyring, Purpose, sign

# CRLF line ends, and header lines up to RFC 5322's hard limit so the long List-Unsubscribe URL stays on
# one line (some unsubscribe parsers mishandle folded headers).
_POLICY = SMTP.clone(max_line_length=998)


@dataclass(frozen=True, slots=True)
class InviteLinks:
    score_links: tuple[str, ...]
    score_page: str
    unsubscribe: str


def invite_links(
    keyring: Keyring, base_url: str, invite_id: str, expires_at: int, unsubscribe_expires_at: int
) -> InviteLinks:
    """The 11 one-tap score links, the bare score-page link (SMS) and the unsubscribe link."""
    respond = sign(keyring, Purpose.RESPOND, invite_id, expires_at)
    unsubscribe = sign(keyring, Purpose.UNSUBSCRIBE, invite_id, unsubscribe_expires_at)
    page = f"{base_url}/r/{respond}"
    return InviteLinks(
        score_links=tuple(f"{page}?score={score}" for score in range(11)),
        score_page=page,
        unsubscribe=f"{base_url}/u/{unsubscribe}",
    )


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
    return template.render(
        t=catalog(locale), brand=survey.brand_name, link=links.score_page, reminder=reminder
    ).strip()


def mime_message(survey: Survey, recipient: str, email: RenderedEmail, links: InviteLinks) -> bytes:
    """The raw MIME message: multipart/alternative (text, then HTML) with the RFC 8058 headers."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = (
        str(Address(display_name=survey.sender_name or survey.brand_name, addr_spec=survey.sender))
        if survey.sender_name or survey.brand_name
        else formataddr(("", survey.sender))
    )
    message["To"] = recipient
    message["Subject"] = email.subject
    message["List-Unsubscribe"] = f"<{links.unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text, subtype="plain", charset="utf-8")
    message.add_alternative(email.html, subtype="html", charset="utf-8")
    return message.as_bytes()
