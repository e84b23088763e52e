"""The shared kernel: what every capability uses and none owns.

Owns configuration (:mod:`~nps.kernel.config`), the AWS clients (:mod:`~nps.kernel.aws`, the only module
here that imports boto3), reporting periods, NPS categories, statistics, locales and template rendering,
the tables' key schemas, the metric names and CSV safe for spreadsheets (:mod:`~nps.kernel.spreadsheets`).

May import: the standard library and third-party libraries only — never a capability.
"""
