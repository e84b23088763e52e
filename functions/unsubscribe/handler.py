"""unsubscribe λ: ``GET /u/{token}`` asks for confirmation, ``POST /u/{token}`` suppresses the contact.

The POST is also what mail clients send for RFC 8058 one-click unsubscribe (body
``List-Unsubscribe=One-Click``). GET never changes anything: link scanners fetch every link in a message.
The POST writes the suppressions only; ``NPS Contact Unsubscribed`` is published from them by the
suppression events function (the suppressions stream), so the bus cannot fail an unsubscribe.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.config import settings
from nps.kernel.locales import accept_language, resolve_locale
from nps.kernel.rendering import HTML, page_headers, render
from nps.links.adapters.keyring import load_id_key, load_keyring
from nps.sending.adapters.contacts import DynamoContactAddresses
from nps.sending.adapters.invites import DynamoInviteLifecycle
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.settings import sending_settings
from nps.sending.unsubscribing import UnsubscribeLinkInvalid, UnsubscribeService, unsubscribe_method

MAX_BODY_BYTES = 4096

logger = Logger(service="unsubscribe")
app = APIGatewayHttpResolver()


@lru_cache(maxsize=1)
def service() -> UnsubscribeService:
    config = sending_settings().require(
        "invites_table", "contacts_table", "suppressions_table", "signing_secret_name", "id_key_secret_name"
    )
    return UnsubscribeService(
        keyring=lambda: load_keyring(config.signing_secret_name),
        id_key=lambda: load_id_key(config.id_key_secret_name),
        invites=DynamoInviteLifecycle(config.invites_table, config.aggregates_table, config.contacts_table),
        contacts=DynamoContactAddresses(config.contacts_table),
        suppressions=DynamoSuppressionRepository(config.suppressions_table),
    )


def _locale(preferred: str | None = None) -> str:
    header = app.current_event.headers.get("accept-language")
    return resolve_locale(preferred, *accept_language(header), settings().default_locale)


def _page(template: str, status: int, locale: str, brand: PageBrand = NEUTRAL_BRAND, **context: Any) -> Response[str]:
    body = render(template, locale, brand, **context)
    return Response(status_code=status, content_type=HTML, body=body, headers=page_headers(brand))


@app.get("/u/<token>")
def confirm(token: str) -> Response[str]:
    invite = service().invite_for(token)
    return _page("pages/unsubscribe.html", 200, _locale(invite.locale), invite.page, action=f"/u/{token}")


@app.post("/u/<token>")
def unsubscribe(token: str) -> Response[str]:
    method = unsubscribe_method(app.current_event.headers.get("content-type"), _body())
    result = service().unsubscribe(token, method)
    logger.info(
        "contact unsubscribed",
        extra={
            "invite_id": result.invite.invite_id,
            "contact_id": result.invite.contact_id,
            "method": method,
            "newly_suppressed": result.newly_suppressed,
        },
    )
    return _page("pages/message.html", 200, _locale(result.invite.locale), result.invite.page, message="unsubscribed")


def _body() -> bytes:
    """The request body as bytes (API Gateway base64-encodes binary bodies such as multipart forms);
    empty when it is larger than a one-click form can be or not valid base64."""
    event = app.current_event
    raw = event.get("body") or ""
    if len(raw) > MAX_BODY_BYTES * 2:
        return b""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return b""
    else:
        body = str(raw).encode("utf-8")
    return body if len(body) <= MAX_BODY_BYTES else b""


@app.exception_handler(UnsubscribeLinkInvalid)  # type: ignore[untyped-decorator]
def invalid_link(_: UnsubscribeLinkInvalid) -> Response[str]:
    logger.info("unsubscribe refused", extra={"reason": "link_invalid"})
    return _page("pages/message.html", 403, _locale(), message="link_invalid")


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _page("pages/message.html", 404, _locale(), message="not_found")


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected(_: Exception) -> Response[str]:
    logger.exception("unexpected error while unsubscribing")
    return _page("pages/message.html", 500, _locale(), message="server_error")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
