"""nps.scoring.aggregation: aggregate keys, per-record deltas, batch coalescing and the dedupe ledger."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nps.events.models import ResponseItem
from nps.kernel.categories import categorize
from nps.kernel.periods import Granularity, period_keys
from nps.scoring.adapters.aggregates import encode_total
from nps.scoring.aggregation import (
    ALL,
    CATEGORY_COUNTERS,
    COUNTERS,
    LEDGER_BUCKETS,
    AggregateKey,
    LedgerClaim,
    Transition,
    aggregate_keys,
    category_deltas,
    coalesce,
    contribution,
    ledger_claims,
)

MakeItem = Callable[..., ResponseItem]
BASE: dict[str, Any] = {"wave_id": "wave_1", "contact_id": "ct_1", "version": 1}
MakeTransition = Callable[..., Transition]

PERIODS = {  # first_answered_at in the factory is 2026-11-20 09:00 UTC (a Friday)
    Granularity.DAY: "2026-11-20",
    Granularity.WEEK: "2026-W47",
    Granularity.MONTH: "2026-11",
    Granularity.QUARTER: "2026-Q4",
}


# --------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------


def test_a_response_with_two_segment_dimensions_lands_in_24_keys(make_item: MakeItem) -> None:
    # Given an email response segmented by region=EU and plan=pro
    item = make_item(segments={"region": "EU", "plan": "pro"}, channel="email")

    # When its aggregate keys are listed
    keys = list(aggregate_keys(item))

    # Then 4 granularities × (all + 2 segments) × (all channels + email) = 24 distinct keys
    expected = {
        AggregateKey("srv_1", granularity, period, segment, channel)
        for granularity, period in PERIODS.items()
        for segment in (ALL, "plan=pro", "region=EU")
        for channel in (ALL, "email")
    }
    assert len(keys) == 24
    assert len(set(keys)) == 24
    assert set(keys) == expected


def test_segments_are_one_dimension_at_a_time_in_sorted_order(make_item: MakeItem) -> None:
    item = make_item(segments={"region": "EU", "plan": "pro"})
    segments = [k.segment for k in aggregate_keys(item) if k.granularity is Granularity.DAY and k.channel == ALL]
    # Then no cross-product segment like plan=pro&region=EU, and dimensions are sorted by name
    assert segments == [ALL, "plan=pro", "region=EU"]


def test_a_response_without_segments_lands_in_8_keys(make_item: MakeItem) -> None:
    keys = list(aggregate_keys(make_item(segments={}, channel="sms")))
    assert len(keys) == 8
    assert {k.channel for k in keys} == {ALL, "sms"}
    assert {k.segment for k in keys} == {ALL}


def test_keys_follow_the_first_answer_not_the_latest_one(make_item: MakeItem) -> None:
    # Given a response first answered in November and re-scored in December
    item = make_item(
        first_answered_at=datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
        answered_at=datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
    )
    # Then it stays in November's periods
    assert {k.period for k in aggregate_keys(item) if k.granularity is Granularity.MONTH} == {"2026-11"}


def test_aggregate_key_partition_key_layout() -> None:
    key = AggregateKey("srv_1", Granularity.WEEK, "2026-W48", "region=EU", "sms")
    assert key.pk == "srv_1#week#region=EU#sms"
    assert AggregateKey("srv_1", Granularity.DAY, "2026-11-23").pk == "srv_1#day#*#*"


# --------------------------------------------------------------------------------------------------
# Contributions and deltas
# --------------------------------------------------------------------------------------------------


def test_contribution_of_a_counted_response_is_its_category_and_score(make_item: MakeItem) -> None:
    assert contribution(make_item(score=6)) == {"detractors": 1, "score_6": 1}
    assert contribution(make_item(score=8)) == {"passives": 1, "score_8": 1}
    assert contribution(make_item(score=10)) == {"promoters": 1, "score_10": 1}


def test_uncounted_responses_contribute_nothing(make_item: MakeItem) -> None:
    assert contribution(None) == {}
    assert contribution(make_item(score=None)) == {}
    assert contribution(make_item(first_answered_at=None)) == {}


def test_a_response_stored_as_not_counted_contributes_nothing(make_item: MakeItem) -> None:
    # Given answers held back as automated or retracted (the stored ``counted`` flag is false)
    held_back = make_item(score=9, counted=False)
    retracted = make_item(score=9, counted=False, first_answered_at=None)
    # Then they are not counted, even with a score and a first answer time
    assert not held_back.is_counted
    assert contribution(held_back) == {}
    assert contribution(retracted) == {}
    assert make_item(score=9).is_counted


def test_counter_names() -> None:
    assert (
        "promoters",
        "passives",
        "detractors",
        *(f"score_{s}" for s in range(11)),
        *(f"csat_{v}" for v in range(1, 6)),
        *(f"ces_{v}" for v in range(1, 8)),
    ) == COUNTERS


def test_first_answer_adds_one_to_each_key(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given an insert of a first answer of 9
    new = make_item(score=9)
    transition = make_transition(None, new)

    # When its deltas are computed
    deltas = transition.deltas()

    # Then every one of its 24 keys gets +1 promoter and +1 score_9
    assert transition.moves_counts
    assert set(deltas) == set(aggregate_keys(new))
    assert all(counters == {"promoters": 1, "score_9": 1} for counters in deltas.values())


def test_score_change_across_categories_moves_both_category_and_score_counters(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    # Given a response changed from 6 to 9 (detractor → promoter)
    transition = make_transition(make_item(score=6, version=1), make_item(score=9, version=2))

    # When its deltas are computed
    deltas = transition.deltas()

    # Then each key loses a detractor and a 6 and gains a promoter and a 9
    assert transition.moves_counts
    assert len(deltas) == 24
    assert all(
        counters == {"detractors": -1, "promoters": 1, "score_6": -1, "score_9": 1} for counters in deltas.values()
    )


def test_score_change_within_a_category_moves_only_score_counters(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    # Given 9 → 10 (promoter both times)
    transition = make_transition(make_item(score=9, version=1), make_item(score=10, version=2))
    # Then the promoter counter does not appear (−1 + 1 = 0 is dropped), only score_9/score_10 move
    deltas = transition.deltas()
    assert len(deltas) == 24
    assert all(counters == {"score_9": -1, "score_10": 1} for counters in deltas.values())


def test_removal_subtracts_one(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given a counted response that is deleted
    transition = make_transition(make_item(score=3, version=2), None, version=3)
    deltas = transition.deltas()
    assert transition.moves_counts
    assert len(deltas) == 24
    assert all(counters == {"detractors": -1, "score_3": -1} for counters in deltas.values())


def test_retraction_subtracts_one(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given a counted 3 that stops counting (retracted as automated, its score kept on the item)
    retracted = make_item(score=3, version=2, counted=False, first_answered_at=None)
    transition = make_transition(make_item(score=3, version=1), retracted)
    # Then it leaves every key it was counted in
    assert (transition.old_score, transition.new_score) == (3, None)
    deltas = transition.deltas()
    assert len(deltas) == 24
    assert all(counters == {"detractors": -1, "score_3": -1} for counters in deltas.values())


def test_changes_between_uncounted_answers_move_nothing(make_item: MakeItem, make_transition: MakeTransition) -> None:
    transition = make_transition(make_item(score=2, counted=False), make_item(score=9, counted=False, version=2))
    assert transition.moves_counts is False
    assert transition.deltas() == {}


def test_comment_only_modification_moves_nothing(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given a MODIFY that only adds a comment (same score, version bumped)
    transition = make_transition(make_item(score=7, version=1), make_item(score=7, version=2, comment="Great"))
    # Then it does not move counts and has no deltas
    assert transition.moves_counts is False
    assert transition.deltas() == {}


def test_old_and_new_score_properties_ignore_uncounted_images(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    transition = make_transition(make_item(score=4, first_answered_at=None), make_item(score=5))
    assert transition.old_score is None
    assert transition.new_score == 5


# --------------------------------------------------------------------------------------------------
# Coalescing a batch
# --------------------------------------------------------------------------------------------------


def test_coalesce_sums_deltas_of_many_responses_per_key(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given two first answers (9 and 6) on different invites, same survey, same period, no segments
    a = make_transition(None, make_item(invite_id="inv_a", score=9, segments={}))
    b = make_transition(None, make_item(invite_id="inv_b", score=6, segments={}))

    # When coalesced
    totals = coalesce([a, b])

    # Then each of the 8 shared keys is written once with both contributions
    assert len(totals) == 8
    assert all(c == {"promoters": 1, "score_9": 1, "detractors": 1, "score_6": 1} for c in totals.values())


def test_coalesce_adds_repeated_contributions(make_item: MakeItem, make_transition: MakeTransition) -> None:
    transitions = [make_transition(None, make_item(invite_id=f"inv_{i}", score=10, segments={})) for i in range(3)]
    assert all(c == {"promoters": 3, "score_10": 3} for c in coalesce(transitions).values())


def test_coalesce_drops_counters_and_keys_that_cancel_out(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given, in one batch, 6 → 9 and then 9 → 6 on the same invite
    there = make_transition(make_item(score=6, version=1), make_item(score=9, version=2))
    back = make_transition(make_item(score=9, version=2), make_item(score=6, version=3))
    # When coalesced / Then nothing is left to write
    assert coalesce([there, back]) == {}


def test_coalesce_keeps_only_non_zero_counters(make_item: MakeItem, make_transition: MakeTransition) -> None:
    # Given a first answer of 9 on one invite and a 9 → 10 change on another
    first = make_transition(None, make_item(invite_id="inv_a", score=9, segments={}))
    change = make_transition(
        make_item(invite_id="inv_b", score=9, segments={}),
        make_item(invite_id="inv_b", score=10, segments={}),
    )
    # Then score_9 cancels out (+1 −1) and is dropped; promoters +1 and score_10 +1 remain
    totals = coalesce([first, change])
    assert len(totals) == 8
    assert all(c == {"promoters": 1, "score_10": 1} for c in totals.values())


def test_coalesce_of_nothing_is_empty() -> None:
    assert coalesce([]) == {}


SIDES = st.none() | st.fixed_dictionaries(
    {
        "score": st.integers(0, 10),
        "counted": st.booleans(),
        "survey_id": st.sampled_from(["srv_1", "srv_2"]),
        "channel": st.sampled_from(["email", "sms"]),
        # "driver" and "theme" as segment dimensions: a survey stored before they were reserved, or a
        # channel's own segment list, may still give an answer such a segment value.
        "segments": st.dictionaries(
            st.sampled_from(["plan", "region", "driver", "theme"]), st.sampled_from(["a", "b", "price"]), max_size=3
        ),
        "driver": st.sampled_from([None, "price", "support"]),
        "csat": st.sampled_from([None, 1, 4, 5]),
        "ces": st.sampled_from([None, 2, 7]),
        "themes": st.lists(st.sampled_from(["price", "support", "ux"]), max_size=3),
        # Around a week's, a month's and a quarter's end, in UTC and in another offset.
        "first_answered_at": st.sampled_from(
            [
                datetime(2026, 9, 30, 23, 30, tzinfo=UTC),
                datetime(2026, 10, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),
                datetime(2026, 10, 4, 12, tzinfo=UTC),
                datetime(2026, 10, 5, 12, tzinfo=UTC),
            ]
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(SIDES, SIDES), max_size=12))
def test_coalesce_equals_a_recount_key_by_key(sides: list[tuple[dict[str, Any] | None, dict[str, Any] | None]]) -> None:
    # Given any transitions (first answers, changes of score, segment, channel or day, removals, uncounted sides)
    transitions = []
    for number, (old, new) in enumerate(sides):
        if old is None and new is None:
            continue
        items = [
            None if side is None else ResponseItem(**BASE, invite_id=f"inv_{number}", **side) for side in (old, new)
        ]
        transitions.append(Transition(f"inv_{number}", 2, datetime(2026, 10, 5, tzinfo=UTC), "1", *items))
    # When coalesced / Then each key's counters are the recount of every side's own keys and counters,
    # written out here: its category and score, its CSAT and CES values, in every period of its first
    # answer's UTC day, for all segments, each segment value, its driver and each of its themes, on its
    # channel and all channels. The driver= and theme= slices are the answers' only: a segment value of a
    # dimension named driver or theme counts in none (it would count an answer twice in driver=, or
    # count a person's segment as their chosen driver).
    expected: dict[AggregateKey, Counter[str]] = defaultdict(Counter)
    for transition in transitions:
        for item, sign in ((transition.old, -1), (transition.new, 1)):
            if item is None or not item.counted or item.score is None or item.first_answered_at is None:
                continue
            counters = [f"score_{item.score}", CATEGORY_COUNTERS[categorize(item.score)]]
            counters += [f"csat_{item.csat}"] if item.csat is not None else []
            counters += [f"ces_{item.ces}"] if item.ces is not None else []
            segments = (f"{d}={v}" for d, v in item.segments.items() if d not in ("driver", "theme"))
            slices = {"*", *segments, *(f"theme={t}" for t in item.themes)}
            slices |= {f"driver={item.driver}"} if item.driver is not None else set()
            day = item.first_answered_at.astimezone(UTC)
            for segment in slices:
                for channel in ("*", item.channel):
                    for granularity, period in period_keys(day).items():
                        key = AggregateKey(item.survey_id, granularity, period, segment, channel)
                        for name in counters:
                            expected[key][name] += sign
    recount = {key: {n: v for n, v in c.items() if v} for key, c in expected.items()}
    assert coalesce(transitions) == {key: c for key, c in recount.items() if c}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(SIDES, SIDES), max_size=12))
def test_category_deltas_equal_a_recount_per_survey_and_category(
    sides: list[tuple[dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    # Given any transitions of two surveys (first answers, changes, removals, uncounted sides)
    transitions = []
    expected: Counter[tuple[str, str]] = Counter()
    for number, (old, new) in enumerate(sides):
        if old is None and new is None:
            continue
        if old is not None and new is not None:
            new = new | {"survey_id": old["survey_id"]}  # a response's survey never changes
        items = [
            None if side is None else ResponseItem(**BASE, invite_id=f"inv_{number}", **side) for side in (old, new)
        ]
        transitions.append(Transition(f"inv_{number}", 2, datetime(2026, 10, 5, tzinfo=UTC), "1", *items))
        # The recount: each counted side's category, less before, more after
        for item, sign in zip(items, (-1, 1), strict=True):
            if item is not None and item.counted and item.score is not None and item.first_answered_at is not None:
                expected[(item.survey_id, categorize(item.score).value)] += sign
    # Then the metric's deltas are the recount without its zeros
    assert category_deltas(transitions) == Counter({key: value for key, value in expected.items() if value})


#: What a person's edits change (a response's survey, segments, channel and first answer never change).
EDITABLE = frozenset({"score", "counted", "driver", "csat", "ces", "themes"})


@settings(max_examples=100, deadline=None)
@given(SIDES.filter(lambda side: side is not None and side["counted"]), SIDES)
def test_an_edit_moves_counts_exactly_and_undoing_it_restores_them(
    first: dict[str, Any], edit: dict[str, Any] | None
) -> None:
    # Given a counted answer, then any edit of it (driver, CSAT, CES, themes, score, ... or a removal)
    before = ResponseItem(**BASE, invite_id="inv_e", **first)
    edited = {name: value for name, value in (edit or {}).items() if name in EDITABLE}
    after = None if edit is None else ResponseItem(**BASE, invite_id="inv_e", **(first | edited))
    at = datetime(2026, 10, 5, tzinfo=UTC)
    insert = Transition("inv_e", 1, at, "1", None, before)
    change = Transition("inv_e", 2, at, "2", before, after)
    undo = Transition("inv_e", 3, at, "3", after, before)
    # Then the edit alone is the difference of the two recounts, and an edit and its undo cancel out
    assert coalesce([insert, change]) == coalesce([Transition("inv_e", 2, at, "2", None, after)])
    assert coalesce([change, undo]) == {}
    # And it moves counts exactly when a counted field changed
    assert change.moves_counts == (coalesce([change]) != {} or change.old_score != change.new_score)


# --------------------------------------------------------------------------------------------------
# Dedupe ledger
# --------------------------------------------------------------------------------------------------


def test_ledger_bucket_is_deterministic_and_sharded_by_record_second(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    # Given the same invite's record seen twice (a replay: the same creation time)
    at = datetime(2026, 11, 23, 10, 30, 5, tzinfo=UTC)
    first = make_transition(None, make_item(), record_time=at)
    replay = make_transition(None, make_item(), record_time=at)
    # Then both map to the same ledger item, named by the record's epoch second and a shard 00-15
    assert first.ledger_bucket == replay.ledger_bucket
    assert re.fullmatch(rf"ledger#{int(at.timestamp())}#(0\d|1[0-5])", first.ledger_bucket)
    # And the next second is a different ledger item (no item collects more than a second of answers)
    later = make_transition(None, make_item(), record_time=at + timedelta(seconds=1))
    assert later.ledger_bucket.startswith(f"ledger#{int(at.timestamp()) + 1}#")


def test_ledger_bucket_depends_on_the_invite_and_spreads_over_all_shards(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    buckets = {
        make_transition(None, make_item(invite_id=f"inv_{i}")).ledger_bucket.rsplit("#", 1)[1] for i in range(400)
    }
    assert buckets == {f"{b:02d}" for b in range(LEDGER_BUCKETS)}


def test_ledger_bucket_is_stable_across_processes_and_deploys(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    # Python's hash() is salted per process; the ledger bucket must not be, or a replay handled by
    # another Lambda instance (or after a deploy) would look for its claim in the wrong item and
    # count twice. The values below are pinned from the current implementation on purpose.
    at = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    buckets = {
        invite: make_transition(None, make_item(invite_id=invite), record_time=at).ledger_bucket
        for invite in ("inv_a", "inv_b", "inv_c", "inv_f")
    }
    assert buckets == {
        "inv_a": "ledger#1795429800#06",
        "inv_b": "ledger#1795429800#12",
        "inv_c": "ledger#1795429800#10",
        "inv_f": "ledger#1795429800#05",
    }


def test_ledger_entry_names_are_short_stable_and_distinct() -> None:
    from nps.scoring.adapters.aggregates import ledger_entry

    names = {ledger_entry(f"{i:064x}") for i in range(5000)}
    assert len(names) == 5000
    assert {len(name) for name in names} == {13}
    assert ledger_entry("inv_a") == "vG1p5fuprS6q7"  # pinned: a replay must find its entry after a deploy


def test_ledger_claims_track_min_and_max_version_per_invite(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    # Given three records for inv_a (versions 3, 1, 2) and one for inv_b, all in the same minute
    at = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    transitions = [
        make_transition(None, make_item(invite_id="inv_a", version=3), record_time=at),
        make_transition(None, make_item(invite_id="inv_a", version=1), record_time=at),
        make_transition(None, make_item(invite_id="inv_a", version=2), record_time=at),
        make_transition(None, make_item(invite_id="inv_b", version=5), record_time=at),
    ]

    # When the ledger claims are built
    claims = ledger_claims(transitions)

    # Then each invite appears under its bucket with its lowest and highest version
    bucket_a, bucket_b = transitions[0].ledger_bucket, transitions[3].ledger_bucket
    assert claims[bucket_a].min_versions["inv_a"] == 1
    assert claims[bucket_a].max_versions["inv_a"] == 3
    assert claims[bucket_b].min_versions["inv_b"] == 5
    assert claims[bucket_b].max_versions["inv_b"] == 5
    assert set(claims) == {bucket_a, bucket_b}
    assert list(claims) == sorted(claims)


def test_ledger_claims_split_by_minute(make_item: MakeItem, make_transition: MakeTransition) -> None:
    at = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    transitions = [
        make_transition(None, make_item(version=1), record_time=at),
        make_transition(None, make_item(version=2), record_time=at + timedelta(minutes=1)),
    ]
    claims = ledger_claims(transitions)
    assert len(claims) == 2
    assert [c.max_versions for c in claims.values()] == [{"inv_1": 1}, {"inv_1": 2}]


def test_ledger_claim_add() -> None:
    claim = LedgerClaim()
    for version in (4, 2, 7, 3):
        claim.add("inv_1", version)
    assert claim.min_versions == {"inv_1": 2}
    assert claim.max_versions == {"inv_1": 7}


def test_a_commit_records_total_is_written_as_json_writes_it() -> None:
    # Given a total with odd segment values (quotes, non-ASCII) and negative counters
    total = {
        AggregateKey("srv_1", Granularity.DAY, "2026-11-20", 'plan="pro"', "email"): {"promoters": 2, "score_9": -1},
        AggregateKey("srv_1", Granularity.QUARTER, "2026-Q4", "region=Zürich\\", ALL): {"detractors": -3},
        AggregateKey("srv_2", Granularity.WEEK, "2026-W47"): {"invites_sent": 5},
    }
    # When encoded / Then it is json.dumps' own text, which reads back to the same entries
    text = encode_total(total)
    fields = [[k.survey_id, k.granularity.value, k.period, k.segment, k.channel, c] for k, c in total.items()]
    assert text == json.dumps(fields, separators=(",", ":"))
    assert encode_total({}) == "[]"


def test_an_answer_kept_out_of_the_headline_adds_to_its_channel_only(make_item: MakeItem) -> None:
    # Given an anonymous share-link answer of a survey that does not count them in its NPS
    apart = make_item(segments={}, channel="link_anonymous", in_headline=False)
    counted = make_item(segments={}, channel="link_anonymous")
    # Then its keys are its own channel's only: the survey-wide "*" figures never see it
    assert {k.channel for k in aggregate_keys(apart)} == {"link_anonymous"}
    assert len(list(aggregate_keys(apart))) == 4
    # And one the survey counts lands in both, as any other channel
    assert {k.channel for k in aggregate_keys(counted)} == {ALL, "link_anonymous"}


def test_coalescing_keeps_apart_answers_out_of_the_survey_wide_keys(
    make_item: MakeItem, make_transition: MakeTransition
) -> None:
    apart = make_item(invite_id="a", segments={}, score=10, channel="link_anonymous", in_headline=False)
    emailed = make_item(invite_id="b", segments={}, score=2, channel="email")
    deltas = coalesce([make_transition(None, apart), make_transition(None, emailed)])
    day = {k.channel: v for k, v in deltas.items() if k.granularity is Granularity.DAY}
    assert day[ALL] == {"detractors": 1, "score_2": 1}
    assert day["link_anonymous"] == {"promoters": 1, "score_10": 1}
    assert day["email"] == {"detractors": 1, "score_2": 1}
