"""``metabase features``: OpenML qualities (meta-features) of a file, an OpenML dataset or task."""

from __future__ import annotations


import click

from cli.context import workspace
from cli.output import emit, format_option
from metabase.errors import InputError, MetabaseError


def _from_openml(dataset_id: int | None, task_id: int | None):
    """(X, y, dataset_id) through the OpenML gateway."""
    import pandas as pd

    target = None
    try:
        gateway = workspace().gateway()
        if task_id is not None:
            task = gateway.get_task(task_id)
            dataset_id, target = int(task.dataset_id), task.target
        X, y = gateway.get_dataset_frame(dataset_id, target) if target else gateway.get_dataset_frame(dataset_id)
    except (ImportError, AttributeError) as exc:
        raise MetabaseError(
            f"--dataset and --task need the OpenML gateway (metabase.openml.Gateway), which is not "
            f"available here ({type(exc).__name__}: {exc}); use PATH --target COL instead") from exc
    if task_id is not None and target and (y is None or y.name != target):
        frame = X if y is None else pd.concat([X, y], axis=1)
        if target not in frame.columns:
            raise InputError(f"task {task_id}: target {target!r} is not a column of dataset {dataset_id}")
        X, y = frame.drop(columns=[target]), frame[target]
    return X, y, dataset_id


def register(group: click.Group) -> None:
    @group.command("features")
    @click.argument("path", required=False, type=click.Path())
    @click.option("--target", help="Target column of PATH (omit for no target: class qualities become NaN).")
    @click.option("--dataset", "dataset", type=int, help="OpenML dataset id (fetched through the gateway).")
    @click.option("--task", "task_id", type=int, help="OpenML task id: its dataset with the task's target.")
    @click.option("--dataset-id", type=int, help="Dataset id to store PATH's qualities under (--store-result).")
    @click.option("--groups", "groups", multiple=True,
                  help="Groups to compute (repeat or comma-separate): general, class, missing, statistical, "
                       "infotheory, landmarking, autosklearn. Default: all.")
    @click.option("--no-landmarkers", is_flag=True, help="Skip the landmarking group (the only slow one).")
    @click.option("--budget", "budget_s", type=float, help="Time budget per group in seconds.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of the landmarkers' CV folds.")
    @click.option("--task-type", type=click.Choice(["classification", "regression"]),
                  help="Override the task type inferred from the target (numeric targets are regression).")
    @click.option("--store-result", is_flag=True,
                  help="Write the values into dataset_qualities with source='computed' (OpenML's rows untouched).")
    @format_option()
    def features(path, target, dataset, task_id, dataset_id, groups, no_landmarkers, budget_s, seed, task_type,
                 store_result, fmt):
        """Compute OpenML qualities (and auto-sklearn's meta-features) of a table.

        Example: metabase features ../shared/openml-data/datasets/credit-g/credit-g.arff --target class --no-landmarkers
        """
        from metabase.metafeatures import compute, infer_task, load_table, to_store_frame

        sources = sum(x is not None for x in (path, dataset, task_id))
        if sources != 1:
            raise InputError("give exactly one of PATH (with --target), --dataset ID or --task ID")
        if path is not None:
            if store_result and dataset_id is None:
                raise InputError("--store-result for a PATH needs --dataset-id N: a file carries no OpenML dataset id")
            X, y = load_table(path, target)
        else:
            X, y, fetched_id = _from_openml(dataset, task_id)
            dataset_id = dataset_id if dataset_id is not None else fetched_id
        chosen = [g.strip() for item in groups for g in item.split(",") if g.strip()] or None
        if task_type is None and y is not None and infer_task(y) == "regression" and y.nunique() <= 10:
            click.echo(f"note: the numeric target {y.name!r} is taken as a regression target; "
                       "pass --task-type classification if it holds class labels", err=True)
        result = compute(X, y, groups=chosen, skip=("landmarking",) if no_landmarkers else (),
                         budget_s=budget_s, seed=seed, task=task_type)
        click.echo("timings: " + ", ".join(f"{g} {s:.2f}s" for g, s in result.timings.items()), err=True)
        if store_result:
            with workspace().writer() as writer, writer.transaction():
                writer.upsert("dataset_qualities", to_store_frame(result, dataset_id), merge=False)
            click.echo(f"stored computed qualities for dataset {dataset_id}", err=True)
        emit(result.to_frame(), fmt)
