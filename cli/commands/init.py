"""``metabase init``: create the store, seeded with the starter knowledge base."""

from __future__ import annotations

import click

from cli.context import settings
from cli.output import emit, format_option, print_json


def register(group: click.Group) -> None:
    @group.command("init")
    @click.option(
        "--empty", is_flag=True, help="Create the store with its schema only, without the starter."
    )
    @format_option()
    def init(empty: bool, fmt: str) -> None:
        """Create the store, seeded with the starter knowledge base that ships with metabase.

        The starter holds openml-pimp's 47,000 random-forest runs on 94 OpenML100 tasks and the
        OpenML qualities of 384 tasks (task 14951 among them). A store that already holds runs is
        left as it is; `metabase sync` and `metabase import` then add to the store.

        Example: metabase init
        """
        from metabase.starter import init_store

        result = init_store(settings().store_path, seed=not empty)
        if fmt == "json":
            print_json(
                {
                    "store": str(result.path),
                    "created": result.created,
                    "seeded": result.seeded,
                    "runs_before": result.runs_before,
                    "row_counts": result.row_counts,
                }
            )
        elif result.runs_before:
            click.echo(
                f"the store {result.path} already holds {result.runs_before:,} runs: left as it is"
            )
        elif not result.seeded:
            click.echo(f"{'created' if result.created else 'kept'} the empty store {result.path}")
        else:
            emit(
                [{"table": t, "rows": n} for t, n in result.row_counts.items()],
                fmt,
                title=f"seeded {result.path} with the starter knowledge base",
            )
