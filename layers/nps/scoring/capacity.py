"""How the score function's stream source is sized, and why (the CDK app and the benchmarks read these).

* **Batch size 250.** A stream record carries both images of a response. A typical one (short ids, two
  segments, a comment of a few sentences) is under 2.5 KB as Lambda delivers it, so a full batch of 250 is
  under 1 MB. A response also keeps every saved comment (``comments``, up to 20 of 2,000 characters) beside
  the latest (``comment``): the largest record the respond code can write (20 comments of 4-byte
  characters, 64-character ids, ten segment dimensions, 50 themes, an account) is about 344 KB, so no
  batch size above 18 keeps a batch of those under Lambda's 6 MB invocation payload. None has to: the
  event source mapping never passes more than 6 MB to one invocation ("up to the payload limit for
  synchronous invocation", Lambda API reference, ``BatchSize``) and invokes with fewer records instead,
  at least :data:`MIN_RECORDS_PER_INVOCATION`; the commit code takes a batch of any size. A batch cut
  short writes the aggregate keys once per (smaller) batch, so only streams of long comment histories pay
  more writes per response. ``tests/integration/test_stream_record_size.py`` writes both records with the
  real code on moto and checks them against :data:`MAX_STREAM_RECORD_BYTES` and
  :data:`TYPICAL_STREAM_RECORD_BYTES`.
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
#: The largest stream record the respond code can write (bytes of Lambda event JSON, UTF-8): a MODIFY of a
#: response at every limit of its contract, its comment history full (344,039 bytes on moto).
MAX_STREAM_RECORD_BYTES = 350_000
#: A typical record (bytes of Lambda event JSON): the size the batch size is chosen for.
TYPICAL_STREAM_RECORD_BYTES = 2_500
LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024
#: The fewest records Lambda can pass to one invocation within its payload limit (all of them the largest).
MIN_RECORDS_PER_INVOCATION = LAMBDA_PAYLOAD_LIMIT_BYTES // MAX_STREAM_RECORD_BYTES
#: DynamoDB's per-partition-key write limit (write units per second) and item size limit (bytes).
PARTITION_WRITE_UNITS_PER_SECOND = 1_000
ITEM_SIZE_LIMIT_BYTES = 400 * 1024
