"""`metabase pipelines`: the catalogue of pipelines and their search spaces."""

from __future__ import annotations

import click

from cli.output import emit, format_option, print_json


def register(group: click.Group) -> None:
    @group.group("pipelines")
    def pipelines_group() -> None:
        """The catalogue of ML pipelines metabase recommends and runs.

        Example: metabase pipelines list
        """

    @pipelines_group.command("list")
    @format_option()
    def list_(fmt: str) -> None:
        """List catalogue pipelines with their task types, device and space size.

        Example: metabase pipelines list --format json
        """
        import pipelines

        emit(pipelines.listing(), fmt)

    @pipelines_group.command("show")
    @click.argument("name")
    @format_option()
    def show(name: str, fmt: str) -> None:
        """Show a pipeline's hyperparameters: types, ranges, log scales, defaults, conditions.

        Example: metabase pipelines show sklearn.random_forest --format json
        """
        import pipelines

        description = pipelines.get(name).describe()
        if fmt == "json":
            print_json(description)
            return
        rows = [
            {k: row[k] for k in ("name", "type", "allowed", "default", "condition")}
            for row in description["hyperparameters"]
        ]
        title = (
            f"{description['name']}: {description['summary']} "
            f"({', '.join(description['task_types'])}; {description['device']})"
        )
        emit(rows, fmt, title=title if fmt == "table" else None)
