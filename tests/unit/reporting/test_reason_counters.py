"""Report reads over aggregate items with and without the follow-up counters (csat_*, ces_*)."""

from __future__ import annotations

from nps.reasons.figures import ces, csat
from nps.reporting.figures import Figures

OLD_ITEM = {"promoters": 3, "passives": 1, "detractors": 1, "score_10": 3, "score_8": 1, "score_2": 1}
NEW_ITEM = OLD_ITEM | {"csat_5": 2, "csat_2": 1, "ces_7": 1, "ces_3": 1}


def test_an_item_without_the_new_counters_reports_its_nps_and_no_csat_or_ces() -> None:
    figures = Figures.from_counters(OLD_ITEM)
    assert figures.counts.n == 5
    assert csat(OLD_ITEM).n == 0
    assert ces(OLD_ITEM).n == 0
    assert ces(OLD_ITEM).mean is None


def test_the_new_counters_leave_the_nps_figures_as_they_were() -> None:
    new, old = Figures.from_counters(NEW_ITEM), Figures.from_counters(OLD_ITEM)
    assert (new.counts, new.estimate, new.scores, new.invites_sent) == (old.counts, old.estimate, old.scores, 0)
    assert csat(NEW_ITEM).n == 3
    assert ces(NEW_ITEM).mean == 5.0


def test_every_slices_figures_carry_its_csat_and_ces() -> None:
    # Given a slice's counters with CSAT and CES answers / Then its figures report them, each with its own n
    figures = Figures.from_counters(NEW_ITEM).as_dict()
    assert figures["csat"]["n"] == 3
    assert figures["csat"]["satisfied"]["count"] == 2
    assert figures["ces"] == {
        "n": 2,
        "mean": 5.0,
        "mean_low": figures["ces"]["mean_low"],
        "mean_high": figures["ces"]["mean_high"],
        "agree": figures["ces"]["agree"],
    }
    assert figures["ces"]["agree"]["count"] == 1
    # And an old item's figures say there were none
    assert Figures.from_counters(OLD_ITEM).as_dict()["csat"]["n"] == 0
