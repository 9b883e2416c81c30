"""``metabase import SOURCE PATH``."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option
from cli.seeding import seed_new_store, seed_option


def register(group: click.Group) -> None:
    @group.command("import")
    @click.argument("source")
    @click.argument("path", type=click.Path())
    @click.option(
        "--wait",
        "wait_s",
        type=click.FloatRange(min=0),
        default=60.0,
        show_default=True,
        envvar="METABASE_WRITER_WAIT",
        help=(
            "Seconds to wait for a running import, sync or reader to release the store before "
            "giving up."
        ),
    )
    @seed_option
    @format_option()
    def import_(source: str, path: str, wait_s: float, seed: bool | None, fmt: str) -> None:
        """Import a real OpenML export (SOURCE) from PATH into the store, in one transaction.

        Example: metabase import openml-pimp
        ../shared/openml-data/openml-pimp/KDD2018/data/arff/random_forest.arff

        Example: metabase import qualities-csv qualities.csv --wait 300
        """
        seed_new_store(seed)
        result = workspace().import_(source, path, wait_s=wait_s)
        emit(
            [{"table": t, "rows": n} for t, n in result.row_counts.items()],
            fmt,
            title=f"imported {result.source} from {result.path}",
        )
