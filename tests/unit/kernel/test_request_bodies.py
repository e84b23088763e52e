"""Request bodies are read one way only: UTF-8, one JSON object without repeated keys, within the limit."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.config import ConfigurationError, int_environment, required_environment
from nps.kernel.request_bodies import (
    FORM_TYPE,
    JSON_TYPE,
    BodyTooLarge,
    MalformedBody,
    UnsupportedBody,
    check_content_type,
    json_object,
)

LIMIT = 1024
KEYS = st.text(alphabet="abcxyz", min_size=1, max_size=4)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)


def event(body: str, content_type: str | None = JSON_TYPE, encoded: bool = False) -> dict[str, Any]:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    if encoded:
        body = base64.b64encode(body.encode()).decode()
    return {"headers": headers, "body": body, "isBase64Encoded": encoded}


@given(st.dictionaries(KEYS, VALUES, max_size=4))
def test_any_object_without_repeated_keys_reads_back_as_sent(data: dict[str, Any]) -> None:
    assert json_object(event(json.dumps(data)), 10 * LIMIT) == data


@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=4), st.data(), st.booleans())
def test_a_repeated_key_at_any_depth_is_a_bad_request(data: dict[str, Any], draw: st.DataObject, nest: bool) -> None:
    key = draw.draw(st.sampled_from(sorted(data)))
    inner = json.dumps(data)[1:-1]
    repeated = "{" + inner + ", " + json.dumps(key) + ": 1}"
    text = '{"outer": ' + repeated + "}" if nest else repeated
    with pytest.raises(MalformedBody, match="same key twice"):
        json_object(event(text), 10 * LIMIT)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; Charset=UTF-8",
        'application/json; charset="utf-8"',
        'application/json;charset="UTF-8"',
        "application/json; boundary=x; charset=Utf-8",
    ],
)
def test_json_in_utf8_is_read(content_type: str) -> None:
    assert json_object(event('{"a": "\u00e9"}', content_type), LIMIT) == {"a": "\u00e9"}


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12), st.booleans())
def test_any_other_charset_is_unsupported(charset: str, quoted: bool) -> None:
    if charset.lower() == "utf-8":
        return
    value = f'"{charset}"' if quoted else charset
    with pytest.raises(UnsupportedBody):
        json_object(event('{"a": 1}', f"application/json; charset={value}"), LIMIT)
    with pytest.raises(UnsupportedBody):
        check_content_type({"content-type": f"{FORM_TYPE}; charset={value}"}, "", FORM_TYPE)


def test_conflicting_charsets_and_other_media_types_are_unsupported() -> None:
    with pytest.raises(UnsupportedBody):
        json_object(event("{}", "application/json; charset=utf-8; charset=latin1"), LIMIT)
    for media_type in ("text/plain", "application/jsonx", None):
        with pytest.raises(UnsupportedBody):
            json_object(event("{}", media_type), LIMIT)
    check_content_type({}, "", FORM_TYPE)  # a form without Content-Type is read as one


def test_malformed_and_oversized_bodies() -> None:
    for text in ("{not json", "[1]", "[" * 3000, '"\\ud800"', ""):
        with pytest.raises(MalformedBody):
            json_object(event(text), 10 * LIMIT)
    with pytest.raises(MalformedBody, match="base64"):
        json_object({"headers": {"content-type": JSON_TYPE}, "body": "***", "isBase64Encoded": True}, LIMIT)
    with pytest.raises(BodyTooLarge):
        json_object(event('{"a": "' + "x" * LIMIT + '"}'), LIMIT)
    assert json_object(event('{"a": 1}', encoded=True), LIMIT) == {"a": 1}


def test_function_configuration_names_what_is_missing_or_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A_TABLE", "a")
    monkeypatch.delenv("B_TABLE", raising=False)
    monkeypatch.delenv("C_TABLE", raising=False)
    with pytest.raises(ConfigurationError, match="B_TABLE, C_TABLE"):
        required_environment({"a": "A_TABLE", "b": "B_TABLE", "c": "C_TABLE"})
    assert required_environment({"a": "A_TABLE"}) == {"a": "a"}
    monkeypatch.setenv("LIMIT", "x")
    with pytest.raises(ConfigurationError, match="LIMIT must be an integer"):
        int_environment("LIMIT", 5)
    monkeypatch.setenv("LIMIT", "0")
    with pytest.raises(ConfigurationError, match="at least 1"):
        int_environment("LIMIT", 5, 1)
    monkeypatch.delenv("LIMIT")
    assert int_environment("LIMIT", 5) == 5
