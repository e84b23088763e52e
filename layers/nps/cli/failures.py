"""One line, with the fix, for each way a call to AWS (or to the local moto server) can fail.

:func:`explain` words a :class:`nps.kernel.aws.AwsFailure`; it never shows the SDK's class names or
messages (they name Python classes and may echo request values). Every such failure exits with
status 3: the target cannot be reached or does not hold what the command needs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nps.kernel.aws import AwsFailure

DEPLOY_DOC = "docs/deploy.md"


def explain(failure: AwsFailure, *, local: bool) -> str:
    """The line to print after ``nps: `` for ``failure``; ``local`` when the target is ``--local``."""
    call = f" {failure.operation}" if failure.operation else ""
    if failure.kind == "no_region":
        return "no AWS region is set: pass --region (e.g. --region eu-west-1), or set AWS_REGION or a profile's region"
    if failure.kind == "no_credentials":
        return "no AWS credentials were found: run `aws configure` (or `aws sso login`), or set AWS_PROFILE"
    if failure.kind == "no_profile":
        named = f"profile {failure.profile!r}" if failure.profile else "the AWS profile"
        return (
            f"{named} is not in your AWS config (~/.aws/config or AWS_CONFIG_FILE): "
            "fix AWS_PROFILE, or add the profile with `aws configure --profile NAME`"
        )
    if failure.kind == "expired_credentials":
        return "your AWS credentials have expired: renew them (`aws sso login`, or new temporary keys) and run again"
    if failure.kind == "invalid_credentials":
        return "AWS does not recognise your credentials: check AWS_PROFILE or the access key you set"
    if failure.kind == "unreachable":
        where = failure.endpoint or os.environ.get("AWS_ENDPOINT_URL") or "the AWS endpoint"
        if local or "amazonaws.com" not in where:
            return f"cannot reach {where}: start the local server (`make moto`) or fix AWS_ENDPOINT_URL"
        return f"cannot reach {where}: check your network connection or proxy, and --region"
    if failure.kind == "access_denied":
        return (
            f"AWS denied{call}: your credentials lack a permission the command needs "
            f"({DEPLOY_DOC} lists them), or point at another account or region"
        )
    if failure.kind == "not_found":
        during = f" ({failure.operation})" if failure.operation else ""
        if local:
            return f"the local environment lacks a table or resource{during}: run `make moto` or fix --prefix"
        return f"a table or resource of the stack does not exist{during}: check --stack and --region, or redeploy"
    reason = failure.code or "no reason given"
    return f"AWS refused{call} ({reason}): try again, or check the target and your credentials"
