"""A whole demo run logs no email address, no phone number and no link token.

``make demo``'s campaign runs through the real functions (contacts CSV import with addresses and
numbers, a wave sent through SES and SNS, taps, scoring, the report); every line anything writes is
captured: the functions' JSON logs (at DEBUG, stricter than production's INFO), their metrics, every
``print`` (the demo's own report included: the demo's hiding of function output is switched off so it
is checked too), stderr and warnings. None of it may contain an address, an E.164 number, a token, or
any of the actual addresses, numbers and tokens the run used. The campaign is smaller than the demo's
400 contacts (the same paths; moto is slow), and the run must still pass its own recount check.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from local import demo, demo_reporting
from local import demo_sending as ds
from nps.links import tokens
from nps.sending import messages

pytestmark = pytest.mark.reliability

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
E164 = re.compile(r"\+[1-9]\d{7,14}")
TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")
SMALL_CAMPAIGN = 24  # still reaches the demo's tampered (13), expired (7) and out-of-range (3) links


def _function_modules() -> list[Any]:
    """Every Lambda entry point, imported so that each one's logger exists before the capture starts."""
    from functions.churn import handler as churn
    from functions.deliver import handler as deliver
    from functions.import_contacts import handler as import_contacts
    from functions.planner import handler as planner
    from functions.referral import handler as referral
    from functions.referral_joins import handler as referral_joins
    from functions.report import handler as report
    from functions.respond import handler as respond
    from functions.score import handler as score
    from functions.suppress import handler as suppress
    from functions.unsubscribe import handler as unsubscribe

    return [
        churn, deliver, import_contacts, planner, referral, referral_joins, report, respond, score, suppress,
        unsubscribe,
    ]  # fmt: skip


def _clear_function_state() -> None:
    from aws_lambda_powertools.utilities import parameters

    from nps.kernel import aws
    from nps.kernel.config import reset_settings
    from nps.sending.settings import reset_sending_settings

    for module in _function_modules():
        for name in dir(module):
            cached = getattr(module, name)
            if callable(cached) and hasattr(cached, "cache_clear"):
                cached.cache_clear()
    aws.reset_clients()
    parameters.clear_caches()
    reset_settings()
    reset_sending_settings()


@contextlib.contextmanager
def every_log_line(buffer: io.StringIO) -> Iterator[None]:
    """Send the functions' loggers to ``buffer`` at DEBUG, and whatever reaches the root logger at INFO
    (what the Lambda runtime would pass on) there too.

    A Powertools ``Logger`` writes to the stream it found when it was created, so redirecting
    ``sys.stdout`` does not catch it: its handler's stream is swapped instead. Library loggers keep
    their own configuration (Powertools' package logger, for one, is silent unless POWERTOOLS_DEBUG).
    """
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    _function_modules()
    swapped: list[tuple[logging.StreamHandler[Any], Any, logging.Logger, int]] = []
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and isinstance(handler.formatter, LambdaPowertoolsFormatter):
                # Swapped by hand: setStream flushes the old stream, which an earlier test's captured
                # output may have closed (a function module first imported inside capsys keeps it).
                swapped.append((handler, handler.stream, logger, logger.level))
                handler.stream = buffer
                logger.setLevel(logging.DEBUG)
    assert {logger.name for _, _, logger, _ in swapped} >= {"respond", "score", "deliver", "planner"}
    root = logging.StreamHandler(buffer)
    root.setLevel(logging.INFO)
    logging.root.addHandler(root)
    root_level = logging.root.level
    logging.root.setLevel(logging.INFO)
    try:
        yield
    finally:
        logging.root.removeHandler(root)
        logging.root.setLevel(root_level)
        for handler, stream, logger, level in swapped:
            handler.stream = stream
            logger.setLevel(level)


@pytest.fixture
def demo_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Run the demo with all output captured; yields the output and what the run used."""
    saved = dict(os.environ)
    monkeypatch.chdir(tmp_path)  # the demo writes demo-output/ where it runs
    monkeypatch.setattr(demo, "CONTACTS", SMALL_CAMPAIGN)
    monkeypatch.setattr(demo, "EMAILS_FOLDER", tmp_path / "emails")
    monkeypatch.setattr(demo_reporting, "HISTORY_INVITES_PER_DAY", 3)
    # The demo hides the functions' stdout (their logs and metrics) behind its report: check it too.
    monkeypatch.setattr(demo, "contextlib", SimpleNamespace(redirect_stdout=lambda _: contextlib.nullcontext()))
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    # Every token signed during the run, and every address and number the messages went to.
    signed: list[str] = []
    real_sign = tokens.sign
    monkeypatch.setattr(messages, "sign", lambda *a, **k: _record(signed, real_sign(*a, **k)))
    monkeypatch.setattr(tokens, "sign", lambda *a, **k: _record(signed, real_sign(*a, **k)))
    sent: dict[str, list[Any]] = {}
    real_run_sending = ds.run_sending

    def run_sending(*args: Any, **kwargs: Any) -> ds.SendingDemo:
        result = real_run_sending(*args, **kwargs)
        sent["emails"] = ds.captured_emails()
        sent["sms"] = ds.captured_sms()
        return result

    monkeypatch.setattr(demo, "run_sending", run_sending)
    _clear_function_state()
    out, err, logs = io.StringIO(), io.StringIO(), io.StringIO()
    try:
        with (
            every_log_line(logs),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            status = demo.main()
        yield {
            "status": status,
            "stdout": out.getvalue(),
            "stderr": err.getvalue(),
            "logs": logs.getvalue(),
            "warnings": "\n".join(str(w.message) for w in caught),
            "tokens": signed,
            "emails": sent.get("emails", []),
            "sms": sent.get("sms", []),
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _clear_function_state()


def _record(signed: list[str], token: str) -> str:
    signed.append(token)
    return token


def test_a_demo_run_logs_no_email_address_phone_number_or_link_token(demo_run: dict[str, Any]) -> None:
    # Given a demo campaign that sent real messages to contacts' addresses and numbers
    assert demo_run["status"] == 0, demo_run["stdout"][-2000:]
    addresses = {email.to for email in demo_run["emails"]}
    numbers = {sms.to for sms in demo_run["sms"]}
    links = [link for email in demo_run["emails"] for link in (*email.score_links, email.unsubscribe_link)]
    links += [sms.link for sms in demo_run["sms"]]
    signed = set(demo_run["tokens"]) | {link.rsplit("/", 1)[-1].split("?")[0] for link in links if "/r/" in link}
    assert addresses
    assert numbers
    assert len(signed) > SMALL_CAMPAIGN / 2
    # When everything the run wrote is put together
    output = "\n".join(demo_run[stream] for stream in ("stdout", "stderr", "logs", "warnings"))
    # (and it really holds the functions' logs and metrics, and the demo's report)
    for evidence in ("answer confirmed", "batch scored", '"CloudWatchMetrics"', "NPS report", "Link taps"):
        assert evidence in output, f"the capture missed {evidence!r}"
    # Then no email address, phone number or token appears, by pattern or by value
    assert EMAIL.findall(output) == []
    assert E164.findall(output) == []
    assert TOKEN.findall(output) == []
    leaked = [value for value in addresses | numbers if value in output]
    for token in signed:
        _, payload, signature = token.split(".")
        leaked += [part for part in (token, payload, signature) if part in output]
    assert leaked == []
