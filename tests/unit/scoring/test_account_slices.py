"""An account's answers in the aggregates: its month and quarter slices, the decision makers' counters, and
coalesced batches that equal a recount whatever the transitions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from nps.accounts.membership import account_label
from nps.events.models import ResponseItem
from nps.kernel.periods import Granularity
from nps.scoring.aggregation import ALL, AggregateKey, Transition, aggregate_keys, coalesce

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


def item(score: int, account: str | None = "acme", role: str | None = None, **fields: object) -> ResponseItem:
    base: dict[str, object] = {
        "invite_id": "inv_1",
        "survey_id": "srv_1",
        "wave_id": "w_1",
        "contact_id": "c_1",
        "channel": "email",
        "score": score,
        "version": 1,
        "first_answered_at": NOW,
        "answered_at": NOW,
        "account_id": account,
        "role": role,
    }
    return ResponseItem.model_validate(base | fields)


def transition(old: ResponseItem | None, new: ResponseItem | None, invite_id: str = "inv_1") -> Transition:
    return Transition(invite_id, 2, NOW, "1", old, new)


ACME_MONTH = AggregateKey("srv_1", Granularity.MONTH, "2026-11", account_label("acme"), ALL)
ACME_QUARTER = AggregateKey("srv_1", Granularity.QUARTER, "2026-Q4", account_label("acme"), ALL)


def test_an_answer_of_an_account_adds_to_its_month_and_quarter_over_every_channel() -> None:
    keys = set(aggregate_keys(item(9)))
    account_keys = {key for key in keys if key.segment == account_label("acme")}
    assert account_keys == {ACME_MONTH, ACME_QUARTER}
    assert len(keys) == len(set(aggregate_keys(item(9, account=None)))) + 2


def test_a_decision_makers_answer_adds_to_the_decision_makers_counters_of_the_account_only() -> None:
    deltas = coalesce([transition(None, item(3, role="decision_maker"))])
    assert deltas[ACME_QUARTER]["dm_detractors"] == 1
    assert deltas[ACME_QUARTER]["detractors"] == 1
    survey_wide = AggregateKey("srv_1", Granularity.QUARTER, "2026-Q4", ALL, ALL)
    assert "dm_detractors" not in deltas[survey_wide]


def test_a_changed_score_moves_the_decision_maker_between_categories() -> None:
    deltas = coalesce([transition(item(3, role="decision_maker"), item(9, role="decision_maker"))])
    assert deltas[ACME_MONTH] == {
        "detractors": -1,
        "promoters": 1,
        "score_3": -1,
        "score_9": 1,
        "dm_detractors": -1,
        "dm_promoters": 1,
    }


def test_an_anonymous_answer_kept_out_of_the_headline_is_in_no_account() -> None:
    keys = set(aggregate_keys(item(9, in_headline=False, channel="link_anonymous")))
    assert not {key for key in keys if key.segment == account_label("acme")}


def test_a_segment_named_account_id_on_an_old_invite_is_not_counted_as_an_account() -> None:
    keys = set(aggregate_keys(item(9, account=None, segments={"account_id": "acme", "plan": "pro"})))
    assert {key.segment for key in keys} == {ALL, "plan=pro"}


answers = st.tuples(
    st.integers(0, 10), st.sampled_from(["acme", "beta", None]), st.sampled_from(["decision_maker", "user", None])
)


Answer = tuple[int, str | None, str | None]


@given(st.lists(st.tuples(answers, st.one_of(st.none(), answers)), min_size=1, max_size=30))
def test_a_coalesced_batch_equals_a_recount_of_each_account(changes: list[tuple[Answer, Answer | None]]) -> None:
    # Given first answers, some changed later (old → new) in the same batch
    transitions = []
    final: dict[str, ResponseItem] = {}
    for n, (first, later) in enumerate(changes):
        invite = f"inv_{n}"
        created = item(*first, invite_id=invite)
        transitions.append(transition(None, created, invite))
        final[invite] = created
        if later is not None:
            changed = item(later[0], first[1], first[2], invite_id=invite)  # the account and role stay
            transitions.append(transition(created, changed, invite))
            final[invite] = changed
    # When the batch is coalesced
    deltas = coalesce(transitions)
    # Then each account's quarter holds exactly a recount of its answers as they ended
    expected: dict[str, Counter[str]] = {}
    for answer in final.values():
        if answer.account_id is None:
            continue
        counts = expected.setdefault(answer.account_id, Counter())
        category = "promoters" if answer.score >= 9 else "passives" if answer.score >= 7 else "detractors"  # type: ignore[operator]
        counts[category] += 1
        counts[f"score_{answer.score}"] += 1
        if answer.role == "decision_maker":
            counts[f"dm_{category}"] += 1
    for account in ("acme", "beta"):
        key = AggregateKey("srv_1", Granularity.QUARTER, "2026-Q4", account_label(account), ALL)
        assert Counter(deltas.get(key, {})) == expected.get(account, Counter())
