"""Benchmarks for the NPS platform: ``python -m benchmarks.run``.

Each figure is printed next to a baseline measured in the same run, and every result is written to
``benchmarks/results/latest.json``. Nothing here asserts on timings: these are measurements, not tests.
No network and no AWS account are needed (AWS calls are stubbed).
"""
