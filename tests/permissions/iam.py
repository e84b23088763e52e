"""A small offline evaluator of IAM policy statements, for checking recorded AWS calls against roles.

Why not a library: the maintained Python tools read policies for other purposes — ``policyuniverse``
(last release 2023) expands and parses, ``parliament`` lints, ``policy_sentry`` writes policies,
``iam-ape`` computes effective permissions from an account's authorization-details dump — none answers
"is this one request (action, resource, context) allowed by these statements?" offline. This module does
exactly that and no more, following the AWS policy evaluation logic for one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

- an explicit ``Deny`` that applies wins; otherwise an ``Allow`` that applies allows; otherwise the
  request is implicitly denied;
- ``Action``/``NotAction`` match case-insensitively with ``*`` and ``?`` wildcards; ``Resource``/
  ``NotResource`` match case-sensitively with the same wildcards;
- conditions: the string, ARN, boolean and ``Null`` operators, with ``...IfExists``; a key missing from
  the request fails a positive operator and satisfies a negated one, as in IAM. An operator this module
  does not know raises :class:`UnsupportedCondition` rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any


class UnsupportedCondition(ValueError):
    """A condition operator the evaluator cannot decide (the test must not guess)."""


class Decision(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "not allowed by any statement"


@dataclass(frozen=True)
class Request:
    """One authorization question: may the principal do ``action`` on ``resource``?

    ``context`` holds condition keys and values (e.g. ``aws:SourceArn``); ``principal`` names the caller
    (a role ARN or a service principal such as ``events.amazonaws.com``) for resource-based policies.
    """

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    principal: str = ""


@dataclass(frozen=True)
class Statement:
    """One policy statement, as written in a policy document (lists normalised)."""

    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    condition: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    principals: tuple[str, ...] = ()
    sid: str = ""

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> Statement:
        """A statement from its JSON form (``Action`` may be a string or a list; resolved values only).

        Raises ValueError when the effect is not Allow or Deny.
        """
        effect = str(document.get("Effect", ""))
        if effect not in ("Allow", "Deny"):
            raise ValueError(f"statement effect must be Allow or Deny, got {effect!r}")
        if "NotPrincipal" in document:
            raise UnsupportedCondition("NotPrincipal is not supported by this evaluator (the stack uses none)")
        return cls(
            effect=effect,
            actions=_strings(document.get("Action")),
            not_actions=_strings(document.get("NotAction")),
            resources=_strings(document.get("Resource")),
            not_resources=_strings(document.get("NotResource")),
            condition=document.get("Condition") or {},
            principals=_principals(document.get("Principal")),
            sid=str(document.get("Sid", "")),
        )

    def applies_to(self, request: Request, *, resource_policy: bool = False) -> bool:
        """Whether this statement matches the request's action, resource, principal and conditions."""
        if self.actions and not any(matches(p, request.action, ignore_case=True) for p in self.actions):
            return False
        if self.not_actions and any(matches(p, request.action, ignore_case=True) for p in self.not_actions):
            return False
        if not self.actions and not self.not_actions:
            return False
        if self.resources and not any(matches(p, request.resource) for p in self.resources):
            return False
        if self.not_resources and any(matches(p, request.resource) for p in self.not_resources):
            return False
        if not self.resources and not self.not_resources and not resource_policy:
            return False
        if resource_policy and not any(p == "*" or p == request.principal for p in self.principals):
            return False
        return conditions_hold(self.condition, request.context)


def evaluate(statements: Iterable[Statement], request: Request, *, resource_policy: bool = False) -> Decision:
    """The decision of a set of statements (one or several policies) on one request."""
    allowed = False
    for statement in statements:
        if not statement.applies_to(request, resource_policy=resource_policy):
            continue
        if statement.effect == "Deny":
            return Decision.EXPLICIT_DENY
        allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match: ``*`` any run of characters, ``?`` one character, the rest literal."""
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


@cache
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def arn_like(pattern: str, arn: str) -> bool:
    """``ArnLike``: each of the six colon-separated ARN parts matched on its own (a wildcard never spans
    a colon before the resource part)."""
    wanted, got = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(got) == 6 and all(matches(w, g) for w, g in zip(wanted, got, strict=True))


_POSITIVE = {
    "StringEquals": lambda want, got: got == want,
    "StringEqualsIgnoreCase": lambda want, got: got.lower() == want.lower(),
    "StringLike": lambda want, got: matches(want, got),
    "ArnEquals": lambda want, got: got == want,
    "ArnLike": arn_like,
    "Bool": lambda want, got: got.lower() == want.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    """Whether every condition block holds for the request context (keys compare case-insensitively).

    Raises UnsupportedCondition for an operator outside the string, ARN, Bool and Null families.
    """
    lowered = {k.lower(): v for k, v in context.items()}
    for operator, block in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, wanted in block.items():
            got = lowered.get(key.lower())
            values = _strings(wanted)
            if base == "Null":
                missing = got is None
                if not any((v.lower() == "true") == missing for v in values):
                    return False
                continue
            if base in _POSITIVE:
                if got is None:
                    if not if_exists:
                        return False
                    continue
                if not any(_POSITIVE[base](v, got) for v in values):
                    return False
            elif base in _NEGATED:
                if got is None:
                    continue
                if any(_POSITIVE[_NEGATED[base]](v, got) for v in values):
                    return False
            else:
                raise UnsupportedCondition(f"condition operator {operator!r} is not supported by this evaluator")
    return True


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(v) for v in value)
    return (str(value),)


def _principals(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if value == "*":
        return ("*",)
    if isinstance(value, Mapping):
        out: list[str] = []
        for kind, names in value.items():
            out.extend("*" if n == "*" and kind == "AWS" else n for n in _strings(names))
        return tuple(out)
    return _strings(value)
