"""A local environment ``nps --local smoke`` can check: moto in server mode, the response pages over HTTP,
and, in a background thread, what AWS does between the functions.

    python -m local.smoke_env [--port 5000] [--http-port 8080]
    # in another shell, with the two lines it prints:
    export AWS_ENDPOINT_URL=http://127.0.0.1:5000
    nps --local --prefix nps-smoke-local smoke --api-url http://127.0.0.1:8080

On AWS, Lambda event sources and SES connect the functions. Here :class:`LocalTriggers` plays them, calling
the real handlers in this process:

* the send queue's event source: messages → the deliver function, in SQS batches (deleted unless reported
  failed, as the event source does);
* the responses table's stream event source: new stream records → the score function;
* **simulated** — SES's mailbox simulator and the configuration set's event destination: a message SES
  accepted for ``bounce@simulator.amazonses.com`` is answered with the SNS notification SES would publish
  (a permanent bounce, tagged with the invite id the message carries) → the suppress function. Nothing else
  about SES feedback is simulated: the suppress function, its table writes and its event are the real ones.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_string
from typing import Any
from urllib.parse import urlsplit

from local.environment import REGION, LocalStack, StreamReader, create_stack, prepare_process_environment
from local.lambda_events import LambdaContext, sqs_record
from local.principals import acting_as
from local.server import LocalServer, start_on
from nps.kernel import aws

ACCOUNT_ID = "123456789012"
BOUNCE_SIMULATOR = "bounce@simulator.amazonses.com"
DEFAULT_PREFIX = "nps-smoke-local"


def reset_function_state() -> None:
    """Forget the clients, cached secrets and services of every function this environment runs."""
    from aws_lambda_powertools.utilities import parameters

    from functions.deliver import handler as deliver
    from functions.respond import handler as respond
    from functions.score import handler as score
    from functions.suppress import handler as suppress

    aws.reset_clients()
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    for factory in (deliver.service, respond.service, score.service, suppress.service):
        factory.cache_clear()


@dataclass
class LocalTriggers:
    """The event sources and SES feedback of the stack, polled every ``interval`` seconds in a thread."""

    stack: LocalStack
    interval: float = 0.1
    #: What failed in a handler (one line each), as Lambda's logs would show it.
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _ses_seen: int = 0
    _stream: StreamReader | None = None

    def start(self) -> None:
        self._stream = StreamReader(self.stack.stream_arns["responses"])
        self._thread = threading.Thread(target=self._loop, name="nps-local-triggers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for name, step in (("deliver", self._deliver), ("suppress", self._bounce), ("score", self._score)):
                try:
                    step()
                except Exception as error:  # a failed invocation: AWS would retry it; here it is recorded
                    self.errors.append(f"{name}: {type(error).__name__}: {error}")
            self._stop.wait(self.interval)

    # -- send queue → deliver --------------------------------------------------------------------------
    def _deliver(self) -> None:
        from functions.deliver import handler as deliver

        assert self.stack.sending is not None
        url = self.stack.sending.send_queue_url
        sqs = aws.client("sqs")
        # The event source polls and deletes with the function's role, as Lambda does.
        with acting_as("function:deliver"):
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
        messages = received.get("Messages", [])
        if not messages:
            return
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{url.rsplit('/', 1)[-1]}"
        result = deliver.lambda_handler({"Records": [sqs_record(m, arn) for m in messages]}, LambdaContext("deliver"))
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        with acting_as("function:deliver"):
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # -- responses stream → score ----------------------------------------------------------------------
    def _score(self) -> None:
        from functions.score import handler as score

        assert self._stream is not None
        with acting_as("function:score"):  # the stream event source reads with the function's role
            batches = self._stream.read_batches()
        for batch in batches:
            result = score.lambda_handler(batch, LambdaContext("score"))
            if result.get("batchItemFailures"):
                self.errors.append(f"score: {len(result['batchItemFailures'])} records failed")

    # -- SES mailbox simulator → SNS → suppress (simulated) ----------------------------------------------
    def _bounce(self) -> None:
        from moto.ses.models import ses_backends

        sent = ses_backends[ACCOUNT_ID][REGION].sent_messages
        new, self._ses_seen = sent[self._ses_seen :], len(sent)
        for message in new:
            destinations = [str(d).lower() for d in getattr(message, "destinations", [])]
            raw = getattr(message, "raw_data", None)
            if raw is None or not any(d.endswith(BOUNCE_SIMULATOR) for d in destinations):
                continue
            self._play_bounce(str(message.id), raw if isinstance(raw, str) else raw.decode())

    def _play_bounce(self, message_id: str, raw: str) -> None:
        """SES's bounce event for one message, as the configuration set's SNS destination delivers it."""
        from functions.suppress import handler as suppress
        from nps.links.adapters.keyring import load_keyring
        from nps.links.tokens import Purpose, verify

        assert self.stack.sending is not None
        unsubscribe = str(message_from_string(raw)["List-Unsubscribe"] or "").strip("<>")
        token = urlsplit(unsubscribe).path.rsplit("/", 1)[-1]
        claims = verify(load_keyring(self.stack.signing_secret_name), token, Purpose.UNSUBSCRIBE, 0).claims
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        notification = {
            "eventType": "Bounce",
            "bounce": {
                "feedbackId": str(uuid.uuid4()),
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": BOUNCE_SIMULATOR,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": now,
            },
            "mail": {
                "timestamp": now,
                "messageId": message_id,
                "destination": [BOUNCE_SIMULATOR],
                "tags": {"invite_id": [claims.invite_id]} if claims is not None else {},
            },
        }
        event = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": str(uuid.uuid4()),
                        "TopicArn": self.stack.sending.feedback_topic_arn,
                        "Message": json.dumps(notification),
                        "Timestamp": now,
                    },
                }
            ]
        }
        suppress.lambda_handler(event, LambdaContext("suppress"))


@dataclass
class SmokeEnvironment:
    """A moto server, the stack on it, the response pages over HTTP and the triggers, all running."""

    endpoint: str
    stack: LocalStack
    http: LocalServer
    triggers: LocalTriggers
    server: Any

    @property
    def api_url(self) -> str:
        return self.http.base_url

    def stop(self) -> None:
        self.triggers.stop()
        self.http.stop()
        try:
            request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - our local server
        finally:
            self.server.stop()


def start(prefix: str = DEFAULT_PREFIX, port: int = 0, http_port: int = 0) -> SmokeEnvironment:
    """Start everything; sets ``AWS_ENDPOINT_URL`` (and fake credentials) in this process's environment."""
    from moto.server import ThreadedMotoServer

    prepare_process_environment()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per AWS call
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    endpoint = f"http://{host}:{bound}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    reset_function_state()
    stack = create_stack(prefix)
    http = start_on(stack, http_port, invites=0)
    # The links in the emails point at the local pages, as the deliver function's PUBLIC_BASE_URL does on AWS.
    assert stack.sending is not None
    stack.sending.public_base_url = http.base_url
    stack.activate()
    reset_function_state()
    triggers = LocalTriggers(stack)
    triggers.start()
    return SmokeEnvironment(endpoint, stack, http, triggers, server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.smoke_env", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000, help="moto server port (default 5000)")
    parser.add_argument("--http-port", type=int, default=8080, help="response pages port (default 8080)")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"resource prefix (default {DEFAULT_PREFIX})")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    environment = start(args.prefix, args.port, args.http_port)
    print(f"Local NPS environment for `nps smoke`: moto at {environment.endpoint}, pages at {environment.api_url}.")
    print("In another shell:\n")
    print(f"    export AWS_ENDPOINT_URL={environment.endpoint}")
    print(f"    nps --local --prefix {args.prefix} smoke --api-url {environment.api_url}\n")
    print("Ctrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(1)
            while environment.triggers.errors:
                print(f"  trigger error: {environment.triggers.errors.pop(0)}", file=sys.stderr)
    except KeyboardInterrupt:
        return 0
    finally:
        environment.stop()


if __name__ == "__main__":
    sys.exit(main())
