"""Invite messages: the multipart email (HTML + text, RFC 8058 unsubscribe headers) and the SMS text.

Rendered from ``templates/email`` and ``templates/sms`` with the shared Jinja2 environment (autoescape
for HTML, compiled templates cached per process). Links carry signed tokens only: no PII in a URL.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.utils import formatdate
from functools import lru_cache
from typing import TYPE_CHECKING

from nps.kernel.branding import DARK_CARD, DARK_PAGE, brand_text_colour, text_colour_on
from nps.kernel.locales import catalog, text_direction
from nps.kernel.rendering import environment
from nps.links.tokens import Keyring, Purpose, sign

if TYPE_CHECKING:
    from nps.sending.surveys import Survey

#: Headers are folded by the ``email`` package (RFC 5322 §2.1.1, RFC 2047 §2): lines of at most 76
#: characters where a fold point exists (998 at most in any case), encoded words of at most 75.
HEADER_POLICY = policy.SMTP.clone(max_line_length=76)

#: The email's score buttons in two rows: eleven buttons of 40 px or more do not fit one row at a
#: 375 px viewport (the reasoning is in ``templates/email/invite.html``).
SCORE_ROWS: tuple[tuple[int, ...], ...] = (tuple(range(6)), tuple(range(6, 11)))


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
        "dir": text_direction(locale),
        "brand": brand,
        **_colours(survey),
        "subject": _fill(t["email_reminder_subject" if reminder else "email_subject"], brand=brand),
        "reminder": reminder,
        "question": question,
        "intro": t["email_reminder_intro" if reminder else "email_intro"],
        "scale_low": t["scale_low"],
        "scale_high": t["scale_high"],
        "score_links": links.score_links,
        "score_rows": SCORE_ROWS,
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


def _colours(survey: Survey) -> dict[str, str]:
    """The brand colour, the digits' colour on it and the brand name's colour on the white card and on
    the dark-mode card (each at 4.5:1 or more, see :mod:`nps.kernel.branding`)."""
    return {
        "brand_colour": survey.brand_colour,
        "on_brand_colour": text_colour_on(survey.brand_colour),
        "brand_text_colour": brand_text_colour(survey.brand_colour),
        "brand_text_colour_dark": brand_text_colour(survey.brand_colour, DARK_CARD),
        "dark_card": DARK_CARD,
        "dark_page": DARK_PAGE,
    }


def sms_template(survey: Survey, locale: str, reminder: bool = False) -> str:
    """The SMS text of ``locale`` with its ``{brand}`` and ``{link}`` placeholders: the survey's own
    text when it has one for the locale, else the catalog's."""
    custom = survey.sms_reminder_text if reminder else survey.sms_text
    text = custom.get(locale)
    if text is not None:
        return text
    t = catalog(locale)
    return str(t["sms_reminder" if reminder else "sms_invite"])


def render_sms(survey: Survey, locale: str, links: InviteLinks, reminder: bool = False) -> str:
    """One short text with one signed link to the score page."""
    return fill_sms(sms_template(survey, locale, reminder), survey.brand_name, links.score_page)


def fill_sms(template: str, brand: str, link: str) -> str:
    """An SMS template with its placeholders filled in one pass: what a placeholder is replaced by is
    never read again, so a brand written ``"Acme {link}"`` cannot add a second link."""
    values = {"brand": brand, "link": link}
    return _SMS_PLACEHOLDER.sub(lambda match: values[match.group(1)], template).strip()


_SMS_PLACEHOLDER = re.compile(r"\{(brand|link)\}")


def render_follow_up_email(
    survey: Survey,
    category: str,
    locale: str,
    unsubscribe_link: str,
    action_links: Mapping[str, str] | None = None,
) -> RenderedEmail:
    """A category's follow-up email: the apology, the "what would make it a 10?" ask, or the thank-you
    with the survey's referral and review links. The survey's own subject/body for ``locale`` replace
    the catalog's; the body is plain text (paragraphs split on blank lines), escaped like every value.

    ``action_links`` (``{"referral": ..., "review": ...}``) are the signed redirect links that stand for
    the survey's addresses (a kind is offered only when the survey has its address)."""
    from nps.sending.surveys import PromoterFollowUp  # loaded with the Survey it is given

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
                link = (action_links or {}).get(kind, url)
                actions.append({"intro": intro, "label": t[f"follow_up_{kind}_cta"], "url": link})
    context = {
        "t": t,
        "locale": locale,
        "dir": text_direction(locale),
        "brand": brand,
        **_colours(survey),
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

    The body is assembled directly rather than through :class:`email.message.EmailMessage`, whose
    content manager costs ~9 ms per message (it tries several transfer encodings); bodies are base64
    (every client reads it, and no line-length or charset surprises). The headers whose values come
    from people (From, To, Subject) are folded by :data:`HEADER_POLICY` (RFC 2047 encoded words of at
    most 75 characters, lines of at most 76). Raises ``ValueError`` when a header value holds a control
    or line-separator character (surveys refuse them when saved; this keeps a message from ever being
    sent with an injected header).
    """
    boundary = f"=_nps_{secrets.token_hex(12)}"
    display = survey.sender_name or survey.brand_name
    headers = [
        _from_header(display, survey.sender),
        _folded("To", recipient),
        _folded("Subject", email.subject),
        f"Date: {formatdate(usegmt=True)}\r\n",
        "MIME-Version: 1.0\r\n",
        # Our own ASCII link (about 140 characters, below 998): one line, as mail providers parse it.
        f"List-Unsubscribe: <{unsubscribe_link}>\r\n",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        "Auto-Submitted: auto-generated\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
    ]
    out = ["".join(headers), "\r\n"]
    for subtype, body in (("plain", email.text), ("html", email.html)):
        out.append(
            f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        )
        out.append(_base64_lines(body))
    out.append(f"--{boundary}--\r\n")
    return "".join(out).encode("ascii")


def _checked(name: str, value: str) -> str:
    # The surveys module (pydantic) is loaded by whoever holds a Survey to send; not at import.
    from nps.sending.surveys import forbidden_header_character

    found = forbidden_header_character(value)
    if found is not None:
        raise ValueError(f"the {name} header would contain a control or line-separator character ({found})")
    return value


# Subjects and senders repeat across a wave (one per survey and locale): fold each once.
@lru_cache(maxsize=512)
def _folded(name: str, value: str) -> str:
    """``Name: value\\r\\n``, folded to :data:`HEADER_POLICY`'s line length.

    ASCII values go through the policy's folder. Non-ASCII values become RFC 2047 encoded words with
    :class:`email.header.Header` told the header's name and line length, so every word stays within
    75 characters: Python 3.11's policy folder can move the space between two words outside the
    encoded words, where RFC 2047 §6.2 makes readers drop it ("Müşteri Başarısı" → "MüşteriBaşarısı").
    """
    value = _checked(name, value)
    if not value.isascii():
        encoded = Header(value, "utf-8", maxlinelen=HEADER_POLICY.max_line_length, header_name=name)
        return _one_header(name, f"{name}: {encoded.encode(linesep=HEADER_POLICY.linesep)}{HEADER_POLICY.linesep}")
    # Through the header factory: ``policy.fold`` alone passes a short value through unfolded.
    folded: str = HEADER_POLICY.header_factory(name, value).fold(policy=HEADER_POLICY)
    return _one_header(name, folded)


def _one_header(name: str, folded: str) -> str:
    """``folded`` when it is exactly one header: every line break but the last is a fold (followed by a
    space or tab). Raises ValueError otherwise, whatever produced it (the factory decodes encoded words)."""
    lines = folded.removesuffix(HEADER_POLICY.linesep).split(HEADER_POLICY.linesep)
    if any(line[:1] not in (" ", "\t") for line in lines[1:]) or any(c in line for line in lines for c in "\r\n"):
        raise ValueError(f"the {name} header would not be one header once folded")
    return folded


@lru_cache(maxsize=128)
def _from_header(display: str, address: str) -> str:
    """The From header: the display name quoted or encoded as needed, then the address."""
    display = _checked("From", display)
    if not display.isascii():
        encoded = _folded("From", display).removesuffix(HEADER_POLICY.linesep)
        return f"{encoded}{HEADER_POLICY.linesep} <{address}>{HEADER_POLICY.linesep}"
    folded: str = HEADER_POLICY.header_factory("From", str(Address(display, addr_spec=address))).fold(
        policy=HEADER_POLICY
    )
    return _one_header("From", folded)


def _base64_lines(body: str) -> str:
    """Base64 in 76-character CRLF lines (RFC 2045)."""
    encoded = base64.b64encode(body.encode("utf-8")).decode("ascii")
    return "".join(encoded[i : i + 76] + "\r\n" for i in range(0, len(encoded), 76))
