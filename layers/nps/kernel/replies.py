"""HTTP answers of the functions that answer documented requests directly (without the Powertools resolver).

A route returns a :class:`Reply`; an error it raises is answered by the function's refusal for that kind of
error; :func:`payload` shapes the reply as the HTTP API's payload 2.0 answer, as the Powertools resolver
shapes the resolver door's, so both doors of a function answer the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Reply:
    """What a route or refusal answers: its status, content type, body and headers."""

    status: int
    content_type: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


#: A function's refusal for each kind of error its routes raise (``Exception``: the 500 page).
Refusals = Mapping[type[Exception], Callable[[Any], Reply]]


def payload(reply: Reply) -> dict[str, Any]:
    """The HTTP API (payload 2.0) answer, shaped as the Powertools resolver shapes it:
    ``{"statusCode", "body", "isBase64Encoded", "headers" (with Content-Type), "cookies"}``."""
    headers = dict(reply.headers)
    headers.setdefault("Content-Type", reply.content_type)
    return {"statusCode": reply.status, "body": reply.body, "isBase64Encoded": False, "headers": headers, "cookies": []}


def answer_directly(route: Callable[[str], Reply], argument: str, refusals: Refusals) -> dict[str, Any]:
    """Run ``route(argument)``; an error is answered by the refusal of its nearest kind in ``refusals``
    (which must hold ``Exception``), as the resolver's exception handlers do. Returns the payload."""
    try:
        reply = route(argument)
    except Exception as error:  # every error has its refusal (Exception: 500)
        refusal = next(refusals[kind] for kind in type(error).__mro__ if kind in refusals)
        reply = refusal(error)
    return payload(reply)
