"""referral λ: the promoter follow-up's signed referral and review links, ``/g/{token}``.

* ``GET``: a small page that continues by itself with a ``POST`` (its script, whose hash the page's CSP
  allows, or its "Continue" button without scripts); the fetch is logged, nothing is recorded.
* ``HEAD``: ``200`` for a good link (the link's status otherwise), no body, nothing logged or recorded.
* ``POST``: the click is recorded once per invite and target when it looks like a person's, then ``303``
  to the survey's referral or review address (never an address from the link or the query).

Refusals are human pages: ``400`` link invalid, ``410`` link expired (with the brand's website when the
survey has one), ``404`` no such invite, survey or target. The domain is :mod:`nps.referrals.redirect`.

One door: requests for ``/g/<token>`` are answered without the Powertools resolver (the function's cold
start stays small: no resolver, no pydantic; tests/architecture/test_import_budget.py); any other request
is the 404 page.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from markupsafe import Markup

from nps.accounts.adapters.referrals import DynamoReferralLedger
from nps.accounts.referrals import target_origin
from nps.events.publisher import EventPublisher
from nps.kernel import replies
from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.config import settings
from nps.kernel.locales import accept_language, resolve_locale, templates_dir
from nps.kernel.rendering import HTML, PAGE_HEADERS, page_headers, render
from nps.kernel.replies import Reply
from nps.kernel.request_bodies import lower_headers
from nps.links.adapters.keyring import load_keyring
from nps.referrals.adapters.answers import DynamoAnswers, DynamoDefinitions
from nps.referrals.redirect import LinkExpired, LinkInvalid, RedirectService, TargetNotFound

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="referral")

_LINK_PATH = re.compile(r"/g/([A-Za-z0-9_.~-]+)")


@lru_cache(maxsize=1)
def service() -> RedirectService:
    config = settings().require(
        "responses_table",
        "surveys_table",
        "aggregates_table",
        "accounts_table",
        "event_bus_name",
        "signing_secret_name",
    )
    return RedirectService(
        keyring=lambda: load_keyring(config.signing_secret_name),
        answers=DynamoAnswers(config.responses_table),
        definitions=DynamoDefinitions(config.surveys_table),
        ledger=DynamoReferralLedger(config.accounts_table, config.aggregates_table),
        publisher=EventPublisher(config.event_bus_name),
    )


@lru_cache(maxsize=1)
def continue_script() -> tuple[Markup, str]:
    """The landing page's script and the CSP hash that lets exactly it run."""
    script = (templates_dir() / "pages" / "referral.js").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return Markup(script), f"'sha256-{digest}'"  # noqa: S704 - our own static file, hashed into the CSP


def _locale(headers: dict[str, str], preferred: str | None = None) -> str:
    return resolve_locale(preferred, *accept_language(headers.get("accept-language")), settings().default_locale)


def _message(
    headers: dict[str, str], message: str, status: int, brand: PageBrand = NEUTRAL_BRAND, locale: str | None = None
) -> Reply:
    body = render("pages/message.html", _locale(headers, locale), brand, message=message)
    return Reply(status, HTML, body, page_headers(brand))


# -- routes ----------------------------------------------------------------------------------------------
def landing_page(token: str, headers: dict[str, str]) -> Reply:
    landing = service().open(token, headers)
    script, script_hash = continue_script()
    body = render(
        "pages/referral.html",
        _locale(headers, landing.locale),
        landing.brand,
        action=f"/g/{token}",
        script=script,
    )
    policy_headers = page_headers(landing.brand, f"script-src {script_hash}")
    # A form's redirect is checked against form-action too: allow the one origin the survey names.
    policy = policy_headers["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {target_origin(landing.url)}", 1
    )
    return Reply(200, HTML, body, policy_headers | {"Content-Security-Policy": policy})


def head(token: str, headers: dict[str, str]) -> Reply:
    service().land(token)
    return Reply(200, HTML, "", dict(PAGE_HEADERS))


def follow(token: str, headers: dict[str, str]) -> Reply:
    followed = service().follow(token, headers)
    logger.info(
        "referral link followed",
        extra={"recorded": followed.recorded, "automated": list(followed.automated)},
    )
    return Reply(303, "text/plain; charset=utf-8", "", dict(PAGE_HEADERS) | {"Location": followed.url})


Route = Callable[[str, dict[str, str]], Reply]
_ROUTES: dict[str, Route] = {"GET": landing_page, "HEAD": head, "POST": follow}


def _refusal(error: Exception, headers: dict[str, str]) -> Reply:
    if isinstance(error, LinkInvalid):
        logger.info("referral link refused", extra={"reason": "link_invalid"})
        return _message(headers, "link_invalid", 400)
    if isinstance(error, LinkExpired):
        logger.info("referral link refused", extra={"reason": "link_expired"})
        return _message(headers, "referral_expired", 410, error.brand, error.locale)
    if isinstance(error, TargetNotFound):
        logger.info("referral link refused", extra={"reason": "not_found"})
        return _message(headers, "not_found", 404)
    logger.exception("unexpected error on a referral link")
    return _message(headers, "server_error", 500)


def answer(event: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API (payload 2.0) answer to ``event``."""
    headers = lower_headers(event.get("headers"))
    context = event.get("requestContext") or {}
    method = (context.get("http") or {}).get("method")
    match = _LINK_PATH.fullmatch(event.get("rawPath") or "")
    if match is None or method not in _ROUTES or context.get("stage") != "$default":
        return replies.payload(_message(headers, "not_found", 404))
    try:
        reply = _ROUTES[method](match[1], headers)
    except Exception as error:  # every error has its page (500 for the unexpected)
        reply = _refusal(error, headers)
    if method == "HEAD":
        reply = Reply(reply.status, reply.content_type, "", reply.headers)
    return replies.payload(reply)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer(event)
