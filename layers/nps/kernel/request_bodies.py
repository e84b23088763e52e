"""Request bodies of the HTTP functions, checked strictly and the same way everywhere (pure).

The web prompt's JSON API and the share link's form pages take the raw API Gateway (HTTP API, payload
2.0) fields: headers, ``body`` and ``isBase64Encoded``. Every refusal is a :class:`BodyRefused` with the
HTTP status it stands for; each function maps it to its own answer (a JSON error, an HTML page):

* ``415`` (:class:`UnsupportedBody`): a media type other than the accepted ones, or a ``charset``
  parameter other than ``utf-8`` (case-insensitive, quoted or not): a body in another encoding would be
  misread, so it is refused rather than guessed;
* ``413`` (:class:`BodyTooLarge`): more than the limit, before or after base64 decoding;
* ``400`` (:class:`MalformedBody`): bad base64, not UTF-8, not JSON (or nested deeper than the parser
  goes), not a JSON object, or an object with the same key twice (JSON's RFC 8259 leaves duplicate
  names undefined; parsers disagree on which wins, so a body that could be read two ways is refused).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
#: The one charset a body may declare (JSON is UTF-8 by RFC 8259; forms are sent in the page's UTF-8).
CHARSET = "utf-8"


class BodyRefused(Exception):
    """A request body the function does not read: ``status`` is the HTTP status (400, 413 or 415)."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedBody(BodyRefused):
    status = 400


class BodyTooLarge(BodyRefused):
    status = 413


class UnsupportedBody(BodyRefused):
    status = 415


class _DuplicateKey(ValueError):
    """A JSON object that names one key twice (raised inside the decoder, reported as a malformed body)."""


def lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The request's headers under lower-case names (HTTP header names are case-insensitive)."""
    return {name.lower(): value for name, value in (headers or {}).items()}


def content_type(headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The ``content-type`` of lower-cased ``headers``: its media type (lower case, ``""`` when absent)
    and its parameters (names lower case, values unquoted; a parameter without ``=`` is skipped; a
    parameter given twice with different values keeps none of them, so neither can be trusted)."""
    value = headers.get("content-type") or ""
    media_type, _, rest = value.partition(";")
    parameters: dict[str, str] = {}
    conflicting: set[str] = set()
    for part in _split_parameters(rest):
        name, equals, raw = part.partition("=")
        if not equals:
            continue
        name, raw = name.strip().lower(), _unquote(raw.strip())
        if parameters.get(name, raw) != raw:
            conflicting.add(name)
        parameters[name] = raw
    for name in conflicting:
        parameters[name] = ""
    return media_type.strip().lower(), parameters


def _unquote(value: str) -> str:
    """A parameter value without its quotes and quoted-pair escapes (RFC 9110 section 5.6.4)."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    kept: list[str] = []
    escaped = False
    for ch in value[1:-1]:
        if escaped or ch != "\\":
            kept.append(ch)
            escaped = False
        else:
            escaped = True
    return "".join(kept)


def _split_parameters(text: str) -> list[str]:
    """``;``-separated parameters, a ``;`` inside a quoted value kept."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def check_content_type(headers: Mapping[str, str], *accepted: str) -> None:
    """Raise :class:`UnsupportedBody` unless the media type is one of ``accepted`` (``""`` accepts a
    request without ``Content-Type``) and any ``charset`` is ``utf-8``."""
    media_type, parameters = content_type(headers)
    if media_type not in accepted:
        raise UnsupportedBody(f"send {' or '.join(t for t in accepted if t)}")
    charset = parameters.get("charset")
    if charset is not None and charset.lower() != CHARSET:
        raise UnsupportedBody("send the body in UTF-8 (charset=utf-8)")


def raw_body(event: Mapping[str, Any], limit: int) -> bytes:
    """The body's bytes (base64-decoded when the event says so), at most ``limit`` bytes."""
    raw = event.get("body") or ""
    if not isinstance(raw, str) or len(raw) > limit * 2:
        raise BodyTooLarge(f"bodies are limited to {limit // 1024} KiB")
    try:
        body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode("utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError) as error:
        raise MalformedBody("the body is not valid base64") from error
    if len(body) > limit:
        raise BodyTooLarge(f"bodies are limited to {limit // 1024} KiB")
    return body


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise _DuplicateKey("duplicate key")
    return dict(pairs)


def json_object(event: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """The request's JSON object: ``application/json`` (charset utf-8 if any), at most ``limit`` bytes,
    valid UTF-8 JSON whose top level is an object and whose objects have no key twice. Raises
    :class:`BodyRefused` (the module docstring says which, when)."""
    check_content_type(lower_headers(event.get("headers")), JSON_TYPE)
    body = raw_body(event, limit)
    try:
        data = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except _DuplicateKey as error:
        raise MalformedBody("the body has the same key twice") from error
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # nesting deeper than the parser goes
        raise MalformedBody("the body is not JSON") from error
    if not isinstance(data, dict):
        raise MalformedBody("the body must be a JSON object")
    return data
