"""Unit tests of the domain package: pure, fast, no AWS and no network."""
