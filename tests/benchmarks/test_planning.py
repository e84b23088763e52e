"""The wave-planning benchmark's helpers: its stores page every contact once and charge modelled latency."""

from __future__ import annotations

from benchmarks import planning


def test_the_synthetic_audience_pages_every_contact_once_in_order() -> None:
    # Given a synthetic audience of 2,345 contacts read in pages of 1,000
    store = planning.Contacts(2_345, planning.Requests())
    seen: list[str] = []
    after = None
    # When it is read until it says it is exhausted
    while True:
        page, after = store.page("default", after, 1_000)
        seen.extend(c.contact_id for c in page)
        if after is None:
            break
    # Then every contact came once, in contact id order, in three query pages
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 2_345
    assert store.requests.counts == {"query_page": 3}


def test_parallel_requests_are_charged_by_rounds_of_the_connections_in_flight() -> None:
    # Given an invocation's request counter
    requests = planning.Requests()
    # When 25 puts go out 10 at a time and one progress update after them
    requests.charge("put", 25, planning.PARALLEL_PUTS)
    requests.charge("progress")
    # Then they took three rounds of a put's latency plus one update
    expected = (3 * planning.LATENCY_MS["put"] + planning.LATENCY_MS["progress"]) / 1000
    assert abs(requests.invocation.io_seconds - expected) < 1e-9
    assert requests.counts == {"put": 25, "progress": 1}


def test_the_benchmark_plans_the_whole_wave_and_reports_its_invocations() -> None:
    # When a small wave runs through the benchmark
    result = planning.run(contacts=3_000, page_size=500)
    # Then every contact was planned (none suppressed; every 17th is inside the fatigue window)
    assert result.report["complete"]
    assert result.report["contacts"] == 3_000
    assert result.invites == 3_000 - len(range(0, 3_000, 17))
    assert result.invocations >= 1
    assert result.requests["put"] == 2 * result.invites  # a mailbox claim and an invite each
