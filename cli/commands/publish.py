"""``metabase publish``: stored local runs to OpenML, exactly once (an outbox in the store)."""

from __future__ import annotations

from contextlib import contextmanager

import click

from cli.context import workspace
from cli.output import emit, format_option
from cli.progress import progress_bar


@contextmanager
def _progress_bar():
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn("publish"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with progress_bar(*columns) as bar:
        job = bar.add_task("publish", total=None)
        yield lambda done, total: bar.update(job, total=total, completed=done)


def register(group: click.Group) -> None:
    @group.command("publish")
    @click.option(
        "--run-key", "run_keys", multiple=True, help="A local run to publish (repeatable)."
    )
    @click.option(
        "--task",
        "task_ids",
        type=int,
        multiple=True,
        help="Publish the local runs of this task (repeatable).",
    )
    @click.option(
        "--all", "everything", is_flag=True, help="Publish every local run not yet published."
    )
    @click.option(
        "--tag",
        "tags",
        multiple=True,
        help="An OpenML tag for the runs, besides `metabase` (repeatable).",
    )
    @click.option(
        "--include-failed",
        is_flag=True,
        help="Also publish crashed, timed-out and memory-killed runs.",
    )
    @click.option(
        "--dry-run",
        is_flag=True,
        help="Build and validate, write the files to --out, send nothing.",
    )
    @click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=False),
        default="publish-dry-run",
        show_default=True,
        help="The folder of --dry-run's files.",
    )
    @format_option()
    def publish(
        run_keys, task_ids, everything, tags, include_failed, dry_run, out_dir, fmt
    ) -> None:
        """Publish local runs to OpenML as flows and runs, each run exactly once.

        Example: metabase --openml-server https://test.openml.org/api/v1/xml publish --all
        --tag my-study
        """
        with _progress_bar() as progress:
            report = workspace().publish(
                run_keys=run_keys,
                task_ids=task_ids,
                everything=everything,
                tags=tags,
                include_failed=include_failed,
                dry_run=dry_run,
                out_dir=out_dir,
                progress=progress,
            )
        emit([dict(r) for r in report.rows], fmt, title="published runs")
        if report.stopped:
            raise click.ClickException(report.stopped)
        if report.failed:
            click.echo(f"{report.failed} of {len(report.rows)} runs failed to publish", err=True)
            raise click.exceptions.Exit(1)
