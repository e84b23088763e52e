"""How the score function's stream source is sized, and why (the CDK app and the benchmarks read these).

* **Batch size 250.** A stream record carries both images of a response. The largest one the contract
  allows (two 2,000-character comments of 4-byte characters, 64-character ids, ten segment dimensions of
  64-character names and values) is about 21 KB as Lambda delivers it, so 250 records stay under Lambda's
  6 MB invocation payload whatever people write. Typical records are about 1.3 KB (about 330 KB a batch).
* **Window 2 s.** At modest rates a batch gathers two seconds of answers, which keeps the aggregate
  writes per response low (a batch writes each aggregate key once, ~84 keys for one survey with two
  segment dimensions); at high rates batches fill first and the window does not matter.
* The commit code has no batch-size limit of its own: any batch up to the stream maximum (10,000)
  writes each aggregate key once (:mod:`nps.scoring.adapters.aggregates`).
* **32 responses index shards per survey** (:data:`RESPONSE_SURVEY_SHARDS`, defined beside the table
  definitions in :mod:`nps.kernel.tables` so the respond and report code share it). Every answer writes
  its entry to one of a survey's 32 ``by_survey_shard`` partitions: about 440 write units a second on the
  busiest at 10,000 taps/s with a quarter commenting (``benchmarks/viral_survey.py``), under the
  per-partition limit below; about 20,000 taps/s of one survey reach it.
"""

from __future__ import annotations

from nps.kernel.tables import RESPONSE_SURVEY_SHARDS as RESPONSE_SURVEY_SHARDS

STREAM_BATCH_SIZE = 250
STREAM_BATCHING_WINDOW_SECONDS = 2
#: The largest stream record (bytes of Lambda event JSON) the batch size is chosen for.
MAX_STREAM_RECORD_BYTES = 22_000
LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024
#: DynamoDB's per-partition-key write limit (write units per second) and item size limit (bytes).
PARTITION_WRITE_UNITS_PER_SECOND = 1_000
ITEM_SIZE_LIMIT_BYTES = 400 * 1024
