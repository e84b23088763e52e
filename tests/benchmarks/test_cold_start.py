"""The cold-start figure's bookkeeping: which imports it charges to a function, and what a probe sees."""

from __future__ import annotations

from pathlib import Path

from benchmarks import cold_start

# -X importtime prints each module after the modules it imported, indented two spaces per level.
IMPORTTIME = """import time: self [us] | cumulative | imported package
import time:       900 |        900 | encodings
BENCH_TIMED_IMPORTS_START
import time:       100 |        100 |     botocore.compat
import time:      5000 |       5100 |   boto3
import time:       300 |       5400 | nps.kernel.aws
import time:      2000 |       2000 |     jinja2.utils
import time:      1000 |       3000 |   jinja2
import time:       200 |        200 |   nps.kernel.config
import time:       700 |       9300 | handler
import time:      4000 |       4000 | botocore.endpoint_provider
"""


def test_charges_the_handlers_direct_imports_its_own_code_and_the_client() -> None:
    # Given an importtime trace where nps.kernel.aws was imported before the handler (first-import wins)
    # When the trace is attributed to the handler
    costs = {cost.module: cost.cumulative_ms for cost in cold_start.parse_importtime(IMPORTTIME, "handler")}

    # Then the handler's direct imports, its own code and the client's imports count; nothing nested
    # twice, nothing before the start marker, and nothing imported before the handler at top level
    assert costs == {
        "botocore.endpoint_provider (client)": 4.0,
        "jinja2": 3.0,
        "nps.kernel.config": 0.2,
        "handler (own code)": 0.7,
    }


def test_largest_first() -> None:
    costs = cold_start.parse_importtime(IMPORTTIME, "handler")

    assert [cost.cumulative_ms for cost in costs] == sorted((cost.cumulative_ms for cost in costs), reverse=True)


def test_nothing_when_the_handler_was_never_imported() -> None:
    assert cold_start.parse_importtime(IMPORTTIME, "other") == []


def test_a_function_sees_its_asset_then_the_layers_then_the_runtime(tmp_path: Path) -> None:
    # Given a deployment on this machine
    layers = (tmp_path / "dependencies", tmp_path / "domain")
    deployment = cold_start.Deployment(
        python="python3", layers=layers, runtime=tmp_path / "runtime", environments={"score": {"EVENT_BUS_NAME": "Bus"}}
    )

    # When the score probe is specified
    spec, env = cold_start._spec(deployment, "score")

    # Then its path is Lambda's order and its environment the synthesized one, over Lambda's own variables
    assert spec["path"] == [str(cold_start.BUILD / "functions" / "score"), *map(str, layers), str(tmp_path / "runtime")]
    assert (spec["module"], spec["service"]) == ("handler", "dynamodb")
    assert env["EVENT_BUS_NAME"] == "Bus"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert "PYTHONPATH" not in env


def test_the_baseline_sees_the_runtime_only(tmp_path: Path) -> None:
    deployment = cold_start.Deployment(python="python3", layers=(tmp_path,), runtime=tmp_path / "rt", environments={})

    spec, _ = cold_start._spec(deployment, None)

    assert spec["path"] == [str(tmp_path / "rt")]
    assert (spec["module"], spec["factory"], spec["service"]) == ("boto3", "boto3:client", "dynamodb")
