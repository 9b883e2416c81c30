"""``--seed-starter/--empty`` for the commands that create a store by writing to it
(import, sync).
"""

from __future__ import annotations

import sys

import click

from cli.context import settings


def seed_option(command):
    return click.option(
        "--seed-starter/--empty",
        "seed",
        default=None,
        help="When the store does not exist yet: seed it with the starter knowledge base first, "
        "or start it empty (default: ask when run at a terminal, else --empty).",
    )(command)


def seed_new_store(seed: bool | None) -> None:
    """Create and seed the store when it does not exist yet and seeding is chosen, or confirmed at
    a terminal. Only a person can answer, so the question needs stdin and stderr (where it is
    asked) to be a terminal: scripts and tests that capture the output never wait for an answer.
    """
    from metabase import starter

    path = settings().store_path
    if path.exists() or seed is False:
        return
    if seed is None:
        if not (sys.stdin.isatty() and sys.stderr.isatty() and starter.available()):
            return
        seed = click.confirm(
            f"{path} does not exist yet. Seed it with the starter knowledge base "
            f"({starter.describe()})?",
            default=True,
            err=True,
        )
    if seed:
        result = starter.init_store(path, seed=True)
        click.echo(
            f"seeded the new store {path} with the starter knowledge base "
            f"({sum(result.row_counts.values()):,} rows)",
            err=True,
        )
