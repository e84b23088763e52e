"""Helpers shared by the test suites: fakes, oracles, seeded data and samples (fixtures live in conftest.py)."""
