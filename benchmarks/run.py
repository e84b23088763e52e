"""Run every benchmark, print each figure next to its same-run baseline, write ``results/latest.json``.

    PYTHONPATH=. .venv/bin/python -m benchmarks.run [--samples 7] [--records 10000] [--no-moto]

Measurements only: nothing here fails on a slow figure. No network, no AWS account.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import (
    cold_start,
    follow_ups,
    one_tap,
    planning,
    report_reads,
    sending,
    stream_throughput,
    theme_tagging,
    viral_survey,
    web_eligibility,
    widget_size,
    write_requests,
)
from benchmarks.report import RESULTS_DIR, format_figure, note, section, write_results
from benchmarks.synthetic import Workload, WorkloadSpec, build_workload


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7, help="cold starts per function (figure 1; 0: skip)")
    parser.add_argument("--records", type=int, default=10_000, help="stream records in the synthetic workload")
    parser.add_argument("--passes", type=int, default=4, help="timed passes (scoring and baseline take turns)")
    parser.add_argument("--moto-records", type=int, default=100, help="records replayed on moto (0: skip)")
    parser.add_argument("--no-moto", action="store_true", help="skip the moto cross-check")
    parser.add_argument("--cold-start-only", action="store_true", help="measure figure 1 only")
    parser.add_argument("--functions", nargs="*", help="functions in figure 1 (default: every one)")
    parser.add_argument("--no-first-request", action="store_true", help="skip the first-request timing")
    parser.add_argument("--taps", type=int, default=200, help="one-tap requests timed on moto (0: skip)")
    parser.add_argument("--report-samples", type=int, default=5, help="timed reports (0: skip the report figure)")
    parser.add_argument("--emails", type=int, default=4_000, help="emails rendered per timed round (0: skip)")
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts in the planner's wave (0: skip)")
    parser.add_argument(
        "--wave-contacts", type=int, default=1_000_000, help="contacts in the wave planned across invocations (0: skip)"
    )
    parser.add_argument("--follow-ups", type=int, default=150, help="follow-ups timed on moto (0: skip)")
    parser.add_argument("--web-calls", type=int, default=300, help="web eligibility calls timed on moto (0: skip)")
    parser.add_argument("--viral-seconds", type=int, default=60, help="seconds of a 10,000/s survey replayed (0: skip)")
    parser.add_argument("--viral-shards", type=int, default=16, help="stream shards in the viral survey")
    parser.add_argument(
        "--viral-upgrade",
        action="store_true",
        help="also meter the previous release's indexes the upgrade deploy keeps (-c keepRetiringIndexes=true)",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="where the JSON goes (default: benchmarks/results/latest.json)"
    )
    return parser.parse_args(argv)


def _cold_start(args: argparse.Namespace) -> dict[str, Any]:
    section(
        f"1. cold start as deployed: asset + layers, Python 3.12 -I -S -B, import handler + first client,"
        f" CPU time (median of {args.samples})"
    )
    result = cold_start.run(samples=args.samples, first_request=not args.no_first_request, functions=args.functions)
    first = result.functions[0].figure if result.functions else None
    if first is not None:
        note(
            f"baseline {first.baseline_name}: {first.detail['baseline_cpu_ms_all_median']:.1f} ms CPU"
            f" over the run ({first.detail['baseline_modules']} modules); each function is compared with"
            " the baseline samples taken right after its own; target ≤ 1.5x for every function"
        )
    note(
        f"{'function':<20} {'client':<9} {'CPU ms':>8} {'wall ms':>8} {'base CPU':>9} {'ratio':>6}"
        "  target 1.5x   modules"
    )
    for function in result.functions:
        figure, detail = function.figure, function.figure.detail
        verdict = "meets" if figure.meets_target else "MISSES"
        note(
            f"{function.name:<20} {function.service:<9} {figure.measured:8.1f} {detail['wall_ms_median']:8.1f}"
            f" {figure.baseline:9.1f} {figure.ratio:5.2f}x  {verdict:<12} {detail['modules']:>5}"
        )
        top = ", ".join(f"{cost.module} {cost.cumulative_ms:.0f}" for cost in function.top_imports)
        note(f"{'':<20} top imports (ms, -X importtime): {top}")
        if detail["outside_deployment"]:
            note(f"{'':<20} WARNING: loaded from outside the deployment: {', '.join(detail['outside_deployment'])}")
    heavy = {f.name: f.figure.detail["heavy_modules"] for f in result.functions if f.figure.detail["heavy_modules"]}
    for name, modules in heavy.items():
        note(f"heavy modules loaded by {name}: {', '.join(modules)}")
    if result.first_request_ms is not None and result.second_request_ms is not None:
        note(
            f"respond: first request in that process {result.first_request_ms:.1f} ms"
            f" (status {result.first_request_status}), second {result.second_request_ms:.1f} ms"
            " [AWS answered in-process at botocore's send]"
        )
    return {
        "figures": {function.name: function.figure.as_json() for function in result.functions},
        "top_imports": {f.name: [asdict(cost) for cost in f.top_imports] for f in result.functions},
        "first_request_ms": result.first_request_ms,
        "second_request_ms": result.second_request_ms,
        "first_request_status": result.first_request_status,
        "samples": {function.name: function.samples for function in result.functions},
        "baseline_samples": result.baseline_samples,
    }


def _throughput(args: argparse.Namespace, workload: Workload) -> dict[str, Any]:
    spec = workload.spec
    section(
        f"2. stream scoring throughput: {workload.records:,} records ({workload.inserts:,} INSERT,"
        f" {workload.modifies:,} MODIFY) in batches of {spec.batch_size}, AWS stubbed"
        f" ({args.passes} passes, median batch)"
    )
    result = stream_throughput.run(workload, passes=args.passes)
    figure = result.figure
    print(format_figure(figure))
    detail = figure.detail
    scoring, baseline = detail["scoring"], detail["deserializer"]
    note(
        f"median batch {scoring['median_batch_ms']:.1f} ms (p90 {scoring['p90_batch_ms']:.1f} ms)"
        f" vs {baseline['median_batch_ms']:.2f} ms; whole-run rate {scoring['overall_rate']:,.0f}"
        f" vs {baseline['overall_rate']:,.0f} records/s"
    )
    verdict = "meets" if detail["scaled_meets_target"] else "MISSES"
    note(
        f"scaled to the target's machine (TypeDeserializer {detail['reference_deserializer_rate']:,} records/s):"
        f" {detail['scaled_to_reference']:,.0f} records/s (target ≥ 30,000: {verdict})"
    )
    if result.failed_records:
        note(f"WARNING: {result.failed_records} records reported as failures; the figure is not meaningful")
    return {"workload": asdict(spec), "figure": figure.as_json(), "stub_calls": asdict(result.stub)}


def _writes(args: argparse.Namespace, workload: Workload, counts: write_requests.WriteCounts) -> dict[str, Any]:
    spec = workload.spec
    section(
        "3. DynamoDB write requests per response: batch 100, segments plan × region, dedupe included"
        " (1 survey, 2 channels)"
    )
    small = min(500, spec.records)
    scenarios = {
        # The same mix, but two surveys answered at once (e.g. a relationship and a support survey).
        "2 surveys in the stream": build_workload(WorkloadSpec(records=small, surveys=2)),
        # The same mix, but score changes are to responses first answered the day before.
        "changes to yesterday's answers": build_workload(WorkloadSpec(records=small, earlier_answers=5_000)),
        # Every answer from a contact of one of 2,000 accounts (B2B): + the account's month and quarter.
        "every answer from one of 2,000 accounts": build_workload(WorkloadSpec(records=small, accounts=2_000)),
    }
    moto_records = 0 if args.no_moto else args.moto_records
    result = write_requests.run(workload, moto_records, scenarios=scenarios, counts=counts)
    figure = result.figure
    detail = figure.detail
    print(format_figure(figure))
    note(
        f"per batch: {detail['aggregate_updates_per_batch']:.1f} aggregate updates"
        f" + {detail['ledger_updates_per_batch']:.1f} ledger updates"
        f" in {detail['transactions_per_batch']:.2f} transaction(s), + {spec.batch_size} response writes"
    )
    verdict = "meets" if result.busiest_key_writes_per_batch == 1 else "MISSES"
    note(
        f"busiest aggregate key: {result.busiest_key_writes_per_batch} write(s) per batch"
        f" (target 1: {verdict})"
        f"   vs naive {result.naive_busiest_key_writes_per_batch};"
        f" busiest ledger bucket: {result.busiest_ledger_writes_per_batch}"
    )
    note("what-if scenarios (informational, same batch size and segments):")
    for name, scenario in result.scenarios.items():
        note(
            f"    {name}: {scenario['writes_per_response']:.2f} writes/response"
            f" (naive {scenario['naive_writes_per_response']:.2f}),"
            f" {scenario['transactions_per_batch']:.1f} transactions per batch,"
            f" busiest key {scenario['busiest_aggregate_key_writes_per_batch']} writes per batch"
            f" [{scenario['responses']:,} records]"
        )
    check = result.cross_check
    if check is not None:
        accepted = check["error"] is None and check["failed_records"] == 0
        note(
            f"moto cross-check ({check['records']:,} records, {check['batches']} batches): transactions"
            f" {'accepted' if accepted else 'REJECTED: ' + str(check['error'])},"
            f" {check['writes_per_response']:.2f} writes/response,"
            f" day totals {'match' if check['day_totals_match'] else 'DO NOT match'} the stream"
        )
    return {
        "workload": asdict(spec),
        "figure": figure.as_json(),
        "scenarios": result.scenarios,
        "moto_cross_check": check,
    }


def _viral(args: argparse.Namespace) -> dict[str, Any]:
    section(
        f"3b. viral survey: 10,000 taps/s on one survey for {args.viral_seconds} s, {args.viral_shards} stream"
        " shards, real respond and commit code, write units per partition key per second, tables and indexes"
    )
    result = viral_survey.run(
        seconds=args.viral_seconds, shards=args.viral_shards, keep_retiring_indexes=args.viral_upgrade
    )
    print(format_figure(result.figure))
    if result.upgrade_figure is not None:
        print(format_figure(result.upgrade_figure))
    print(format_figure(result.size_figure))
    print("\n".join(viral_survey.format_partitions(result.partitions)))
    detail = result.detail
    note(
        f"hottest partition {detail['hottest_key']} ({detail['hottest_key_write_units']} WCU in a second);"
        f" respond path: {detail['taps']:,} taps and {detail['comments']:,} comments"
        f" ({detail['respond_seconds_replayed']:.0f} s at the full rate); aggregate keys by kind:"
        f" {detail['hottest_write_units_by_kind']}; largest entry in {detail['largest_item_where']}"
    )
    note(
        "if DynamoDB wrote an index on every update of an item in it (values unchanged):"
        f" {detail['hottest_write_units_if_every_update_wrote_each_index']}"
    )
    note(
        f"{detail['batches']:,} batches of up to {detail['batch_size']} (largest {detail['largest_batch']}),"
        f" busiest aggregate key written {detail['busiest_aggregate_key_writes_per_batch']} time(s) per batch,"
        f" {detail['writes_per_response_excluding_the_response']:.3f} aggregate-table writes per response;"
        f" previous ledger's hottest {detail['previous_ledger_hottest_key']}"
        f" ({detail['previous_ledger_hottest_write_units']:,} WCU/s)"
    )
    return {
        "figure": result.figure.as_json(),
        "size_figure": result.size_figure.as_json(),
        "upgrade_figure": result.upgrade_figure.as_json() if result.upgrade_figure is not None else None,
        "partitions": [
            {"where": where, "hottest_partition": key, "write_units": hot, "largest_bytes": largest}
            for where, key, hot, largest in result.partitions
        ],
        "detail": detail,
    }


def _reports(args: argparse.Namespace) -> dict[str, Any]:
    section(
        f"4. report reads: one year of daily aggregates, 10 segment values, 2 channels, on moto"
        f" (median of {args.report_samples})"
    )
    result = report_reads.run(samples=args.report_samples)
    print(format_figure(result.items))
    print(format_figure(result.age))
    print(format_figure(result.time))
    whole = result.age.detail["whole_history_catalog_items"]
    note(
        f"the segment catalog is read for the range's quarters only; reading every quarter the survey ever"
        f" had would read {whole['one_year']} catalog items for the 1-year-old survey, {whole['five_year']}"
        f" for the 5-year-old one"
    )
    note(
        f"{result.queries} queries per report (each one DynamoDB round trip when deployed);"
        f" {result.aggregate_items:,} aggregate items in the table; rendering the report: text"
        f" {result.render_text_ms:.1f} ms, HTML {result.render_html_ms:.1f} ms ({result.html_bytes:,} bytes)"
    )
    return {
        "items_figure": result.items.as_json(),
        "survey_age_figure": result.age.as_json(),
        "time_figure": result.time.as_json(),
        "render_text_ms": result.render_text_ms,
        "render_html_ms": result.render_html_ms,
        "html_bytes": result.html_bytes,
        "queries_per_report": result.queries,
    }


def _rendering(args: argparse.Namespace) -> dict[str, Any]:
    section(f"5. invite email rendering: {args.emails:,} emails per round, en/es/de, one process (median of 5)")
    result = sending.run_rendering(emails=args.emails)
    print(format_figure(result.figure))
    note(f"each email: HTML + text + multipart MIME with RFC 8058 headers, {result.bytes_per_email:,} bytes")
    return {"figure": result.figure.as_json()}


def _widget() -> dict[str, Any]:
    section("5b. web widget script: templates/web/widget.js raw and gzipped (level 9) vs the 12 KB budget")
    figure = widget_size.run()
    print(format_figure(figure))
    note(f"{figure.detail['raw_bytes']:,} bytes raw, {figure.detail['gzipped_bytes']:,} bytes gzipped")
    return {"figure": figure.as_json()}


def _themes() -> dict[str, Any]:
    section("5c. comment themes: 1,000 comments × 50 themes (10 phrases each), en/es/de, CPU (median of 5)")
    result = theme_tagging.run()
    print(format_figure(result.warm))
    for locale, figures in result.detail.items():
        note(
            f"{locale}: compile {figures['compile_ms']:.1f} ms, cold {figures['cold_ms']:.1f} ms, warm"
            f" {figures['warm_ms']:.1f} ms, tokenise only {figures['tokenise_ms']:.1f} ms, every word stemmed"
            f" uncached {figures['stem_every_word_uncached_ms']:.1f} ms ({figures['words']:,.0f} words,"
            f" {figures['comments_tagged']:,.0f} comments tagged)"
        )
    return {"theme_tagging": result.warm.as_json()}


def _planner(args: argparse.Namespace) -> dict[str, Any]:
    section(f"6. wave planner: {args.contacts:,} contacts, query pages of 1,000, AWS stubbed (median of 3)")
    result = sending.run_planner(contacts=args.contacts)
    print(format_figure(result.figure))
    report = result.report
    note(
        f"{report['invites']:,} invites ({report['held']:,} held for quiet hours),"
        f" skipped {dict(report['skipped'])}; a whole wave takes"
        f" {result.figure.detail['seconds_for_wave']:.1f} s of planner CPU"
    )
    note("stubbed calls per wave: " + ", ".join(f"{name} {count:,}" for name, count in result.stub_calls.items()))
    return {"figure": result.figure.as_json(), "report": report, "stub_calls": result.stub_calls}


def _wave_continuation(args: argparse.Namespace) -> dict[str, Any]:
    section(
        f"6b. a wave of {args.wave_contacts:,} contacts planned across invocations: the real planner, stores"
        " stubbed, CPU time measured, request latency modelled on a simulated clock"
    )
    result = planning.run(contacts=args.wave_contacts)
    print(format_figure(result.rate))
    print(format_figure(result.longest))
    per_contact = {name: round(count / args.wave_contacts, 3) for name, count in result.requests.items()}
    note(
        f"{result.invocations} invocations, {result.invites:,} invites, {result.cpu_seconds:.1f} s CPU and"
        f" {result.simulated_seconds / 60:.1f} simulated minutes for the wave"
        f" ({args.wave_contacts / result.simulated_seconds:,.0f} contacts per simulated second)"
    )
    note("requests per contact: " + ", ".join(f"{name} {count}" for name, count in per_contact.items()))
    ten_million = 10_000_000 / args.wave_contacts
    note(
        f"10 million contacts, scaled: about {result.invocations * ten_million:,.0f} invocations,"
        f" {result.simulated_seconds * ten_million / 3600:.1f} hours of planning"
    )
    return {
        "rate_figure": result.rate.as_json(),
        "longest_invocation_figure": result.longest.as_json(),
        "invocations": result.invocations,
        "invites": result.invites,
        "requests": result.requests,
        "simulated_seconds": result.simulated_seconds,
        "report": result.report,
    }


def _follow_ups(args: argparse.Namespace) -> dict[str, Any]:
    section(f"7. follow-up steps in-process on moto: {args.follow_ups} promoter follow-ups (open + email, median)")
    result = follow_ups.run(follow_ups=args.follow_ups)
    print(format_figure(result.figure))
    calls = ", ".join(f"{name} {per:.1f}" for name, per in result.calls_per_follow_up.items())
    note(f"AWS calls per follow-up: {calls}")
    return {"figure": result.figure.as_json()}


def _web_eligibility(args: argparse.Namespace) -> dict[str, Any]:
    section(
        f"8. web prompt eligibility in-process on moto: {args.web_calls} page views of identified contacts "
        "(half stored with an email and a phone), read round trips and CPU per call"
    )
    result = web_eligibility.run(calls=args.web_calls)
    print(format_figure(result.reads))
    print(format_figure(result.cpu))
    note("reads: BatchGetItem round trips (contact + web state + web invite; suppression keys when stored)")
    return web_eligibility.as_json(result)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.perf_counter()
    print(
        f"NPS platform benchmarks: Python {platform.python_version()},"
        f" {platform.system()} {platform.machine()},"
        f" {os.cpu_count()} CPU(s). Each figure is next to a baseline measured in this run."
    )
    sections: dict[str, Any] = {}
    timings: dict[str, float] = {}

    if args.samples > 0:
        mark = time.perf_counter()
        sections["cold_start"] = _cold_start(args)
        timings["cold_start"] = time.perf_counter() - mark
    if args.cold_start_only:
        path = write_results(sections | {"section_seconds": timings}, RESULTS_DIR / "cold_start.json")
        print(f"\nresults written to {path}")
        return 0

    if args.taps > 0:
        mark = time.perf_counter()
        section(f"1b. one-tap requests in-process on moto: {args.taps} taps (median), each vs the writes it makes")
        taps = one_tap.run(taps=args.taps)
        print(format_figure(taps.get))
        print(format_figure(taps.post))
        note("GET writes once (the open, on the invite); POST twice (the confirmation, then the answer)")
        sections["one_tap_requests"] = one_tap.as_json(taps)
        timings["one_tap_requests"] = time.perf_counter() - mark

    mark = time.perf_counter()
    workload = build_workload(WorkloadSpec(records=args.records))
    # One untimed pass that counts every write; it doubles as the throughput run's warm-up.
    counts = write_requests.count_writes(workload)
    timings["workload_and_counting_pass"] = time.perf_counter() - mark

    mark = time.perf_counter()
    sections["stream_scoring_throughput"] = _throughput(args, workload)
    timings["stream_scoring_throughput"] = time.perf_counter() - mark

    mark = time.perf_counter()
    sections["write_requests_per_response"] = _writes(args, workload, counts)
    timings["write_requests_per_response"] = time.perf_counter() - mark

    if args.viral_seconds > 0:
        mark = time.perf_counter()
        sections["viral_survey"] = _viral(args)
        timings["viral_survey"] = time.perf_counter() - mark

    if args.report_samples > 0:
        mark = time.perf_counter()
        sections["report_reads"] = _reports(args)
        timings["report_reads"] = time.perf_counter() - mark

    if args.emails > 0:
        mark = time.perf_counter()
        sections["email_rendering"] = _rendering(args)
        timings["email_rendering"] = time.perf_counter() - mark

    sections["widget_size"] = _widget()
    sections["theme_tagging"] = _themes()

    if args.contacts > 0:
        mark = time.perf_counter()
        sections["wave_planner"] = _planner(args)
        timings["wave_planner"] = time.perf_counter() - mark

    if args.wave_contacts > 0:
        mark = time.perf_counter()
        sections["wave_continuation"] = _wave_continuation(args)
        timings["wave_continuation"] = time.perf_counter() - mark

    if args.follow_ups > 0:
        mark = time.perf_counter()
        sections["follow_up_steps"] = _follow_ups(args)
        timings["follow_up_steps"] = time.perf_counter() - mark

    if args.web_calls > 0:
        mark = time.perf_counter()
        sections["web_eligibility"] = _web_eligibility(args)
        timings["web_eligibility"] = time.perf_counter() - mark

    sections["section_seconds"] = {name: round(seconds, 1) for name, seconds in timings.items()}
    elapsed = time.perf_counter() - started
    sections["elapsed_seconds"] = round(elapsed, 1)
    path = write_results(sections, args.output)
    print()
    spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    print(f"results written to {path} ({elapsed:.1f} s: {spent})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
