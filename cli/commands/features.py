"""``metabase features``: OpenML qualities (meta-features) of a file, an OpenML dataset or task."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option

_ID = click.IntRange(min=1)


def register(group: click.Group) -> None:
    @group.command("features")
    @click.argument("path", required=False, type=click.Path())
    @click.option(
        "--target",
        help="Target column of PATH or of --dataset (omit for no target: class qualities "
        "become NaN).",
    )
    @click.option(
        "--dataset", "dataset", type=_ID, help="OpenML dataset id (fetched through the gateway)."
    )
    @click.option(
        "--task", "task_id", type=_ID, help="OpenML task id: its dataset with the task's target."
    )
    @click.option(
        "--dataset-id",
        type=_ID,
        help="Id of a dataset in the store to store PATH's qualities under (--store-result).",
    )
    @click.option(
        "--groups",
        "groups",
        multiple=True,
        help="Groups to compute (repeat or comma-separate): general, class, missing, statistical, "
        "infotheory, landmarking, autosklearn. Default: all.",
    )
    @click.option(
        "--no-landmarkers", is_flag=True, help="Skip the landmarking group (the only slow one)."
    )
    @click.option(
        "--budget",
        "budget_s",
        type=click.FloatRange(min=0),
        help="Time budget per group in seconds (qualities not reached in time are NaN).",
    )
    @click.option(
        "--seed", type=int, default=0, show_default=True, help="Seed of the landmarkers' CV folds."
    )
    @click.option(
        "--task-type",
        type=click.Choice(["classification", "regression"]),
        help="Override the task type inferred from the target (numeric targets are regression).",
    )
    @click.option(
        "--store-result",
        is_flag=True,
        help=(
            "Write the values into dataset_qualities with source='computed' "
            "(OpenML's rows untouched)."
        ),
    )
    @format_option()
    def features(
        path,
        target,
        dataset,
        task_id,
        dataset_id,
        groups,
        no_landmarkers,
        budget_s,
        seed,
        task_type,
        store_result,
        fmt,
    ):
        """Compute OpenML qualities (and auto-sklearn's meta-features) of a table.

        Example: metabase features ../shared/openml-data/datasets/credit-g/credit-g.arff
        --target class --no-landmarkers
        """
        chosen = [g.strip() for item in groups for g in item.split(",") if g.strip()] or None
        out = workspace().features(
            path=path,
            target=target,
            dataset=dataset,
            task=task_id,
            dataset_id=dataset_id,
            groups=chosen,
            skip=("landmarking",) if no_landmarkers else (),
            budget_s=budget_s,
            seed=seed,
            task_type=task_type,
            store_result=store_result,
        )
        for note in out.notes:
            click.echo(note, err=True)
        click.echo(
            "timings: " + ", ".join(f"{g} {s:.2f}s" for g, s in out.result.timings.items()),
            err=True,
        )
        if out.stored:
            click.echo(f"stored computed qualities for dataset {out.dataset_id}", err=True)
        emit(out.result.to_frame(), fmt)
