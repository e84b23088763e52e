"""The permission verdict of a distributed run is the verdict of one process: workers' findings merge."""

from __future__ import annotations

from tests.permissions.session import Findings


def wire(**parts: object) -> dict[str, object]:
    return Findings(**parts).to_wire()  # type: ignore[arg-type]


def test_a_grant_is_unused_only_when_every_worker_that_exercised_its_principal_left_it_unused() -> None:
    merged = Findings()
    merged.merge(
        wire(uses={("function:a", "s3:GetObject", "s3:GetObject", "arn:x")}, unused={"function:a": {"g1", "g2"}})
    )
    merged.merge(
        wire(uses={("function:a", "s3:PutObject", "s3:PutObject", "arn:x")}, unused={"function:a": {"g2", "g3"}})
    )
    merged.merge(
        wire(uses={("function:b", "sqs:SendMessage", "sqs:SendMessage", "arn:q")}, unused={"function:b": {"g9"}})
    )
    merged.merge(wire())  # a worker that exercised nothing says nothing about anyone's grants
    assert merged.unused == {"function:a": {"g2"}, "function:b": {"g9"}}
    assert len(merged.uses) == 3
    assert not merged.failed


def test_any_workers_violation_error_or_limit_fails_the_merged_run_once() -> None:
    for part in (
        {"violations": ["function:a: s3:GetObject on arn:x needs s3:GetObject"]},
        {"errors": ["boom"]},
        {"over_limits": {"function:a: dynamodb:TransactWriteItems sends 101 items": "t.py::test"}},
    ):
        merged = Findings()
        merged.merge(wire())
        merged.merge(wire(**part))
        merged.merge(wire(**part))
        assert merged.failed
    merged = Findings()
    merged.merge(wire(violations=["v"]))
    merged.merge(wire(violations=["v"]))
    assert merged.violations == ["v"]


def test_the_wire_form_is_plain_lists_and_dicts() -> None:
    sent = wire(uses={("p", "o", "a", "r")}, unused={"p": {"g"}}, over_limits={"l": "w"})
    assert sent == {
        "uses": [["p", "o", "a", "r"]],
        "violations": [],
        "errors": [],
        "over_limits": {"l": "w"},
        "unused": {"p": ["g"]},
    }
