"""A local environment that outlives one process: moto in server mode, seeded like ``make demo``.

    make moto   (or: python -m local.moto_server [--port 5000])
    # in another shell:
    export AWS_ENDPOINT_URL=http://127.0.0.1:5000
    nps --local report onboarding-q4

The demo itself runs moto in-process (``mock_aws``), so its state ends with it; this server keeps the
same tables (prefix ``nps-demo``) reachable by the ``nps`` CLI, or any boto3 client, until Ctrl-C.

The seed runs in this process under ``mock_aws``, which stays active for the server's whole life:
the server thread serves the same in-memory backends, and leaving a ``mock_aws`` block would reset
them (the server would then come up empty). In-process calls also skip HTTP, which matters because
moto copies every table in a transaction, too slow for botocore's read timeout over HTTP.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import random
import sys
import time
import warnings
from datetime import UTC, datetime

from local import arguments

READY = "export AWS_ENDPOINT_URL="


def seed(prefix: str = "nps-demo", contacts: int | None = None) -> dict[str, int]:
    """Create the demo's tables under ``prefix`` and run its campaign (``contacts`` synthetic contacts,
    the demo's number by default) and history into them.

    Must run while a moto mock is active. The functions' JSON logs and metrics (Powertools EMF blobs
    written to stdout, as in Lambda) are swallowed here: in a terminal they would bury the instructions.
    Returns counts for one summary line: ``invites`` sent and ``responses`` scored.
    """
    from local import demo_reporting
    from local.demo import CONTACTS, EMAILS_FOLDER, SEED, SURVEY_ID, run_campaign, score_stream
    from local.demo_sending import run_sending
    from local.environment import create_stack
    from nps.kernel import aws

    aws.reset_clients()
    rng = random.Random(SEED)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "No application metrics to publish")
        stack = create_stack(prefix)
        sending = run_sending(stack, contacts or CONTACTS, rng, EMAILS_FOLDER)
        run_campaign(stack, rng, sending.links)
        _, records = score_stream(stack)
        invites = demo_reporting.stored_invites(stack.tables["invites"])
        demo_reporting.count_invites_sent(stack.tables["aggregates"], invites)
        demo_reporting.add_history(stack, SURVEY_ID, datetime.now(UTC), rng)
    return {"invites": len(invites), "responses": records}


def main(argv: list[str] | None = None) -> int:
    """Start the server, seed it, print the line to export, and serve until Ctrl-C (exit status 0)."""
    parser = argparse.ArgumentParser(prog="python -m local.moto_server", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=arguments.port, default=5000, help="port to listen on (default 5000; 0: any free port)"
    )
    parser.add_argument(
        "--contacts",
        type=arguments.positive_int,
        default=None,
        help="synthetic contacts in the seeded campaign (default: the demo's)",
    )
    args = parser.parse_args(argv)
    if arguments.port_taken(args.port):
        print(arguments.port_in_use(parser.prog, args.port), file=sys.stderr)
        return 1

    from local.demo import SURVEY_ID, _quiet_functions
    from local.environment import prepare_process_environment

    prepare_process_environment()
    _quiet_functions()
    from moto import mock_aws
    from moto.server import ThreadedMotoServer

    from nps.kernel import aws

    # One line per request from the CLI would interleave with the instructions above it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    mock = mock_aws()
    mock.start()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    try:
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        print(f"Seeding survey {SURVEY_ID!r} on moto at {endpoint} (a campaign of synthetic contacts)…", flush=True)
        counts = seed(contacts=args.contacts)
        aws.reset_clients()
        print(f"Ready: {counts['invites']} invites, {counts['responses']} stream records scored. In another shell:\n")
        print(f"    {READY}{endpoint}")
        print(f"    nps --local report {SURVEY_ID}\n\nCtrl-C stops the server.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
        mock.stop()


if __name__ == "__main__":
    sys.exit(main())
