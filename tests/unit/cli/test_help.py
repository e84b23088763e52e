"""Every command of ``nps`` answers ``--help``, and its help describes every positional argument."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from nps.cli.main import build_parser, main

Command = tuple[tuple[str, ...], argparse.ArgumentParser]


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[argparse._SubParsersAction[argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield action


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Command]:
    """Every parser of the tree, with the words that reach it (``()``, ``("survey",)``, ``("survey", "put")``...)."""
    yield path, parser
    for group in _subcommands(parser):
        for name, child in group.choices.items():
            yield from commands(child, (*path, name))


ALL = list(commands(build_parser()))


def test_the_tree_has_the_commands_an_operator_needs() -> None:
    paths = {" ".join(path) for path, _ in ALL}
    assert {"report", "export", "html", "survey put", "survey list", "contacts import", "wave start", "smoke"} <= paths
    assert len(paths) > 15


@pytest.mark.parametrize(("path", "parser"), ALL, ids=[" ".join(p) or "nps" for p, _ in ALL])
def test_help_works_and_describes_every_positional(
    path: tuple[str, ...], parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a person asks for the command's help
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    out = capsys.readouterr().out
    # Then it is printed and the command exits 0
    assert exited.value.code == 0
    assert out.startswith("usage: nps")
    # And every positional argument (and every subcommand) says what it is
    for action in parser._actions:
        if action.option_strings:
            continue
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, (path, choice.dest)
            continue
        assert action.help, (path, action.dest)
        assert action.help != argparse.SUPPRESS, (path, action.dest)
        assert action.help in " ".join(out.split()), (path, action.dest)
    # And nothing escaped for argparse's formatting or a shell's glob leaks into the text
    assert "%%" not in out
    # And figures are described as intervals, never as "± margin" (which hides an asymmetric interval)
    assert "±" not in out
    for glob in ("--channel *", "{*,", "default: *"):
        assert glob not in out
