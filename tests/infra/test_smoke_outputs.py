"""The stack outputs ``nps smoke`` finds its resources by (a renamed output would break it after deploy)."""

from __future__ import annotations

import pytest

from infra.app import build_app
from nps.cli.smoke import STACK_OUTPUTS

pytestmark = pytest.mark.infra


def test_the_stack_outputs_everything_the_smoke_command_reads() -> None:
    from aws_cdk.assertions import Template

    app, stack = build_app()
    app.synth()
    outputs = Template.from_stack(stack).find_outputs("*")
    assert set(STACK_OUTPUTS) - set(outputs) == set()
    assert outputs["SenderIdentity"]["Value"] == "example.com"  # the senderIdentity context default


def test_the_stack_outputs_every_name_the_program_commands_read() -> None:
    from aws_cdk.assertions import Template

    from nps.cli.programs import _OUTPUT_VARIABLES

    app, stack = build_app()
    app.synth()
    outputs = Template.from_stack(stack).find_outputs("*")
    assert set(_OUTPUT_VARIABLES) - set(outputs) == set()
