"""``metabase export meta-dataset DIR``."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option


def register(group: click.Group) -> None:
    @group.group("export")
    def export() -> None:
        """Write the store's contents in exchange formats.

        Example: metabase export meta-dataset out/rf --flow 6969
        """

    @export.command("meta-dataset")
    @click.argument("directory", type=click.Path(file_okay=False))
    @click.option(
        "--pipeline",
        default=None,
        help="Only runs of this pipeline (catalogue name, or flow-<id>).",
    )
    @click.option("--flow", type=int, default=None, help="Only runs of this OpenML flow id.")
    @click.option(
        "--measure",
        default="predictive_accuracy",
        show_default=True,
        help="Evaluation measure that becomes the score (negated when lower is better).",
    )
    @format_option()
    def meta_dataset(
        directory: str, pipeline: str | None, flow: int | None, measure: str, fmt: str
    ) -> None:
        """Export runs and task meta-features as a meta-dataset (runs.parquet, tasks.parquet).

        Example: metabase export meta-dataset out/rf --flow 6969 --measure predictive_accuracy
        """
        if pipeline is not None and flow is not None:
            raise click.UsageError("give --pipeline or --flow, not both")
        result = workspace().export(directory, pipeline=pipeline, flow=flow, measure=measure)
        emit(
            [
                {
                    "directory": str(result.directory),
                    "runs": result.runs,
                    "tasks": result.tasks,
                    "pipelines": ", ".join(result.pipelines),
                    "measure": result.measure,
                    "negated": result.negated,
                }
            ],
            fmt,
            title="exported meta-dataset",
        )
