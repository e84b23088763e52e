"""Domain package of the NPS platform: scoring, statistics, link signing, periods, events and storage.

Everything here is importable without AWS credentials; modules that talk to AWS create their clients
lazily through :mod:`nps.aws`.
"""

__version__ = "0.1.0"
