"""unsubscribe λ: ``GET /u/{token}`` asks for confirmation (or says the contact is already unsubscribed),
``POST /u/{token}`` suppresses the contact.

The POST is also what mail clients send for RFC 8058 one-click unsubscribe (body
``List-Unsubscribe=One-Click``). GET never changes anything: link scanners fetch every link in a message.
The POST writes the suppressions only; ``NPS Contact Unsubscribed`` is published from them by the
suppression events function (the suppressions stream), so the bus cannot fail an unsubscribe.

Two doors lead to the same route code. A ``GET`` or ``POST`` of ``/u/{token}`` with a token of URL-safe
characters (every link this platform writes) is answered directly, without the Powertools resolver. Any
other request (an unknown route or method, another spelling of the path) goes to :func:`resolver`, the
Powertools resolver with the same routes and error pages, loaded only when such a request comes: its
package is about a fifth of a cold start (``make bench``; tests/architecture). Both doors answer the same
bytes (tests/integration/test_unsubscribe_doors.py).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from nps.kernel import replies
from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.config import settings
from nps.kernel.locales import accept_language, resolve_locale
from nps.kernel.rendering import HTML, page_headers, render
from nps.kernel.replies import Reply
from nps.kernel.request_bodies import lower_headers
from nps.links.adapters.keyring import load_id_key, load_keyring
from nps.sending.adapters.contacts import DynamoContactAddresses
from nps.sending.adapters.invites import DynamoInviteLifecycle
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.settings import sending_settings
from nps.sending.unsubscribing import UnsubscribeLinkInvalid, UnsubscribeService, unsubscribe_method

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_BODY_BYTES = 4096

logger = Logger(service="unsubscribe")


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


# -- requests --------------------------------------------------------------------------------------------
#: The request this invocation answers (an HTTP API payload 2.0 event; set by :func:`begin`, read by both doors).
_EVENT: ContextVar[dict[str, Any]] = ContextVar("unsubscribe_request")


def begin(event: dict[str, Any]) -> None:
    """Make ``event`` the request being answered, by either door."""
    _EVENT.set(event)


def current() -> dict[str, Any]:
    """The request being answered."""
    return _EVENT.get()


def _headers() -> dict[str, str]:
    return lower_headers(current().get("headers"))


def _locale(preferred: str | None = None) -> str:
    return resolve_locale(preferred, *accept_language(_headers().get("accept-language")), settings().default_locale)


def _page(template: str, status: int, locale: str, brand: PageBrand = NEUTRAL_BRAND, **context: Any) -> Reply:
    return Reply(status, HTML, render(template, locale, brand, **context), page_headers(brand))


# -- routes ----------------------------------------------------------------------------------------------
def confirm(token: str) -> Reply:
    """The confirmation page (or "already unsubscribed"); writes nothing."""
    invite = service().invite_for(token)
    if service().already_unsubscribed(invite):
        # Opening the link again after unsubscribing: say so, rather than ask again (nothing is written).
        return _page("pages/message.html", 200, _locale(invite.locale), invite.page, message="already_unsubscribed")
    return _page("pages/unsubscribe.html", 200, _locale(invite.locale), invite.page, action=f"/u/{token}")


def unsubscribe(token: str) -> Reply:
    """Suppress the link's contact (a form POST or an RFC 8058 one-click POST)."""
    method = unsubscribe_method(_headers().get("content-type"), _body())
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
    message = "already_unsubscribed" if result.already else "unsubscribed"
    return _page("pages/message.html", 200, _locale(result.invite.locale), result.invite.page, message=message)


def _body() -> bytes:
    """The request body as bytes (API Gateway base64-encodes binary bodies such as multipart forms);
    empty when it is larger than a one-click form can be or not valid base64."""
    event = current()
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


# -- refusals --------------------------------------------------------------------------------------------
def invalid_link(_: UnsubscribeLinkInvalid) -> Reply:
    logger.info("unsubscribe refused", extra={"reason": "link_invalid"})
    return _page("pages/message.html", 403, _locale(), message="link_invalid")


def not_found() -> Reply:
    return _page("pages/message.html", 404, _locale(), message="not_found")


def unexpected(_: Exception) -> Reply:
    logger.exception("unexpected error while unsubscribing")
    return _page("pages/message.html", 500, _locale(), message="server_error")


#: What answers each kind of error a route raises (the most specific class of its MRO wins).
REFUSALS: dict[type[Exception], Callable[[Any], Reply]] = {
    UnsubscribeLinkInvalid: invalid_link,
    Exception: unexpected,
}


# -- the direct door: the link's routes, written the way the links are ------------------------------------
_LINK_PATH = re.compile(r"/u/([A-Za-z0-9_.~-]+)")
#: A route's code, given the link's token.
Route = Callable[[str], Reply]
_ROUTES: dict[str, Route] = {"GET": confirm, "POST": unsubscribe}


def direct_route(event: dict[str, Any]) -> tuple[Route, str] | None:
    """The route code answering ``event`` and its token without the resolver, or ``None`` for a request
    :func:`resolver` must route (another method, path, stage or spelling)."""
    context = event.get("requestContext") or {}
    if context.get("stage") != "$default":
        return None
    method = context.get("http", {}).get("method")
    match = _LINK_PATH.fullmatch(event.get("rawPath") or "")
    if match is None or method not in _ROUTES:
        return None
    return _ROUTES[method], match[1]


def answer_directly(route: Route, token: str) -> dict[str, Any]:
    """Run ``route``; an error is answered by its refusal in :data:`REFUSALS`, as the resolver does."""
    return replies.answer_directly(route, token, REFUSALS)


# -- the resolver door (Powertools): every other request -------------------------------------------------
@lru_cache(maxsize=1)
def resolver() -> APIGatewayHttpResolver:
    """The Powertools resolver with the same routes and refusals, for every request :func:`direct_route`
    leaves to it (anything else is the 404 page)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

    app = APIGatewayHttpResolver()

    def response(reply: Reply) -> Response[str]:
        return Response(reply.status, reply.content_type, reply.body, dict(reply.headers))

    app.get("/u/<token>")(lambda token: response(confirm(token)))
    app.post("/u/<token>")(lambda token: response(unsubscribe(token)))
    for kind, refusal in REFUSALS.items():
        app.exception_handler(kind)(lambda error, refusal=refusal: response(refusal(error)))
    app.not_found(lambda _: response(not_found()))
    return app


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    begin(event)
    route = direct_route(event)
    if route is None:
        return resolver().resolve(event, context)
    return answer_directly(*route)
