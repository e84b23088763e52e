"""The ``web`` block of a survey definition: off by default, origins exact and https, bounded settings."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from nps.sending.surveys import MAX_WEB_ORIGINS, Survey

BASE: dict[str, Any] = {
    "survey_id": "s",
    "name": "S",
    "brand_name": "Acme",
    "sender": "a@example.com",
    "channels": ["email"],
}


def survey(**web: Any) -> Survey:
    return Survey.model_validate(BASE | {"web": web})


def test_the_web_prompt_is_off_unless_enabled() -> None:
    plain = Survey.model_validate(BASE)
    assert plain.web.enabled is False
    assert plain.web.dismissal_delay_days == 30
    assert plain.web.sample_percent == 100


@pytest.mark.parametrize(
    "origin",
    ["https://app.example.com", "https://app.example.com:8443", "http://localhost:8080", "http://127.0.0.1:5173"],
)
def test_https_origins_and_local_http_are_accepted(origin: str) -> None:
    assert survey(enabled=True, allowed_origins=[origin]).web.allowed_origins == [origin]


@pytest.mark.parametrize(
    "origin",
    [
        "http://app.example.com",  # plain http off localhost
        "https://app.example.com/",  # a path
        "https://App.example.com",  # not as a browser sends it
        "https://*.example.com",
        "app.example.com",
        "https://app.example.com:0",
        "null",
        "https://app.example.com:443",  # browsers leave the default port out of Origin: it could never match
        "http://localhost:80",
    ],
)
def test_anything_but_an_exact_origin_is_refused(origin: str) -> None:
    with pytest.raises(ValidationError):
        survey(enabled=True, allowed_origins=[origin])


def test_an_enabled_prompt_needs_an_origin_and_at_most_twenty() -> None:
    with pytest.raises(ValidationError, match="at least one allowed origin"):
        survey(enabled=True)
    many = [f"https://a{i}.example.com" for i in range(MAX_WEB_ORIGINS + 1)]
    with pytest.raises(ValidationError):
        survey(enabled=True, allowed_origins=many)


@pytest.mark.parametrize(
    "web",
    [
        {"sample_percent": 101},
        {"daily_cap": 0},
        {"dismissal_delay_days": -1},
        {"url_include": ["app"]},
        {"url_include": ["/app/../admin"]},
        {"url_exclude": ["/app/./x"]},
        {"url_exclude": ["/app/%2e%2E/x"]},
        {"url_include": ["https://app.example.com/app"]},
        {"url_include": ["/app with space"]},
        {"url_include": ["app.example.com:443/app"]},  # browsers drop the default port: it never matches
        {"url_exclude": ["app.example.com:80/checkout"]},
        {"url_include": ["app.example.com:0/app"]},
        {"url_include": ["app.example.com:99999/app"]},
        {"unknown": True},
    ],
)
def test_out_of_range_settings_are_refused(web: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        survey(**web)


def test_web_is_not_a_send_channel() -> None:
    with pytest.raises(ValidationError):
        Survey.model_validate(BASE | {"channels": ["web"]})


def test_url_rules_may_name_a_host_and_use_globs() -> None:
    web = survey(url_include=["app.example.com/app", "App.Example.com:8443/x/**", "/"], url_exclude=["/a..b/c"])
    assert web.web.url_include[1] == "App.Example.com:8443/x/**"
