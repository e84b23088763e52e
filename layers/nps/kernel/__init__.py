"""The shared kernel: what every capability uses and none owns.

Owns configuration (:mod:`~nps.kernel.config`), the AWS clients (:mod:`~nps.kernel.aws`, the only module
here that imports boto3), reporting periods, NPS categories and the answer's limits, statistics, locales
and template rendering, the tables' key schemas, the metric names, DynamoDB stream images
(:mod:`~nps.kernel.streams`), how figures are formatted (:mod:`~nps.kernel.formatting`), Unicode
normalisation of typed values (:mod:`~nps.kernel.normalising`), spreadsheet-safe CSV cells
(:mod:`~nps.kernel.spreadsheets`), which waves' answers the NPS counts (:mod:`~nps.kernel.waves`) and the
brand a survey's messages and response pages carry, with its colours' legibility
(:mod:`~nps.kernel.branding`).

May import: the standard library and third-party libraries only — never a capability.
"""
