"""``metabase import SOURCE PATH``."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option


def register(group: click.Group) -> None:
    @group.command("import")
    @click.argument("source")
    @click.argument("path", type=click.Path())
    @format_option()
    def import_(source: str, path: str, fmt: str) -> None:
        """Import a real OpenML export (SOURCE) from PATH into the store, in one transaction.

        Example: metabase import openml-pimp ../shared/openml-data/openml-pimp/KDD2018/data/arff/random_forest.arff
        """
        result = workspace().import_(source, path)
        emit([{"table": t, "rows": n} for t, n in result.row_counts.items()], fmt,
             title=f"imported {result.source} from {result.path}")
