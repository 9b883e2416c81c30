"""Every CLI command is documented: a docstring with "Example:", and a working ``--help``."""

from __future__ import annotations

import click
import pytest

from cli.main import cli, main


def _walk(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(cli))


def test_the_walk_finds_the_analyst_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"sql", "info", "import"} <= names


@pytest.mark.parametrize(
    "path, command", COMMANDS, ids=lambda x: " ".join(x) if isinstance(x, tuple) else ""
)
def test_command_has_a_docstring_with_an_example(path, command):
    doc = command.callback.__doc__ if command.callback else command.help
    assert doc and "Example:" in doc, (
        f"`metabase {' '.join(path)}` needs a docstring with 'Example:'"
    )
    example = doc.split("Example:", 1)[1].strip().splitlines()[0]
    assert example.startswith("metabase"), f"the example should be a command line: {example!r}"


@pytest.mark.parametrize(
    "path, command", COMMANDS, ids=lambda x: " ".join(x) if isinstance(x, tuple) else ""
)
def test_help_works(capsys, path, command):
    rc = main([*path, "--help"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Usage:" in out and "Example:" in out
