"""A local environment that outlives one process: moto in server mode, seeded like ``make demo``.

    make moto   (or: python -m local.moto_server [--port 5000])
    # in another shell:
    export AWS_ENDPOINT_URL=http://127.0.0.1:5000
    nps --local report onboarding-q4

The demo itself runs moto in-process (``mock_aws``), so its state ends with it; this server keeps the
same tables (prefix ``nps-demo``) reachable by the ``nps`` CLI, or any boto3 client, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.moto_server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000)")
    args = parser.parse_args(argv)

    from local.demo import CONTACTS, EMAILS_FOLDER, SEED, SURVEY_ID, _quiet_functions, run_campaign, score_stream
    from local.demo_sending import run_sending
    from local.environment import create_stack, prepare_process_environment

    prepare_process_environment()
    _quiet_functions()
    from moto import mock_aws
    from moto.server import ThreadedMotoServer

    from local import demo_reporting
    from nps.kernel import aws

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        # Seed in-process: the server thread serves the same moto backends, and in-process calls skip
        # HTTP (moto's transactions copy every table, too slow for botocore's read timeout over HTTP).
        with mock_aws():
            aws.reset_clients()
            rng = random.Random(SEED)
            stack = create_stack("nps-demo")
            sending = run_sending(stack, CONTACTS, rng, EMAILS_FOLDER)
            run_campaign(stack, rng, sending.links)
            score_stream(stack)
            invites = demo_reporting.stored_invites(stack.tables["invites"])
            demo_reporting.count_invites_sent(stack.tables["aggregates"], invites)
            demo_reporting.add_history(stack, SURVEY_ID, datetime.now(UTC), rng)
        aws.reset_clients()
        print(f"Local NPS environment on moto at {endpoint}, survey {SURVEY_ID!r}. In another shell:\n")
        print(f"    export AWS_ENDPOINT_URL={endpoint}")
        print(f"    nps --local report {SURVEY_ID}\n\nCtrl-C stops the server.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
