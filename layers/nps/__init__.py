"""The NPS platform's domain package: one subpackage per capability over a small shared kernel.

Capabilities, each one folder (its store adapters in ``<capability>/adapters``):

* :mod:`nps.links` — signed link tokens and the signing keyring;
* :mod:`nps.events` — the event contract (models, JSON Schemas), the publisher and the routing patterns;
* :mod:`nps.scoring` — stream scoring and the exactly-once aggregation of responses;
* :mod:`nps.sending` — surveys, contacts and their import, wave planning, delivery, messages, suppression
  and unsubscribing;
* :mod:`nps.responding` — the one-tap response service and scanner detection;
* :mod:`nps.follow_ups` — closing the loop: the follow-up workflows' steps;
* :mod:`nps.reporting` — figures, ranges, the terminal and HTML reports and the CSV export;
* :mod:`nps.smoke` — ``nps smoke``, the end-to-end check of a deployed stack;
* :mod:`nps.cli` — the ``nps`` command line (an entry point, like the Lambda handlers in ``functions/``).

:mod:`nps.kernel` holds what every capability shares: configuration, AWS clients, periods, categories,
statistics, locales, template rendering, table key schemas and metric names.

Arrows point one way only (checked by ``lint-imports``: the contracts in ``pyproject.toml``, explained in
``docs/architecture.md``):
handlers and the CLI → capabilities → kernel. Everything here is importable without AWS credentials;
clients are created lazily through :mod:`nps.kernel.aws`.
"""

__version__ = "0.1.0"
