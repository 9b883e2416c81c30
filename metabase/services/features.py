"""The features facade: a data file or an OpenML dataset/task -> meta-features, and storing them.

The CLI calls :func:`features` and prints; everything that checks options, fetches data or writes
to the store is here, so the CLI never writes to the store itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from metabase.errors import InputError, MetabaseError, NotFoundError

if TYPE_CHECKING:
    from metabase.metafeatures import MetaFeatureResult


@dataclass(frozen=True)
class FeaturesResult:
    """What :func:`features` computed, for which dataset, and what it stored."""

    result: MetaFeatureResult
    dataset_id: int | None
    notes: tuple[str, ...]  # hints for the user (the caller shows them; the library never prints)
    stored: int  # quality rows written (0 without ``store_result``)


def features(
    ws,
    *,
    path: str | Path | None = None,
    target: str | None = None,
    dataset: int | None = None,
    task: int | None = None,
    dataset_id: int | None = None,
    groups: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    budget_s: float | None = None,
    seed: int = 0,
    task_type: str | None = None,
    store_result: bool = False,
) -> FeaturesResult:
    """Meta-features of a file (``path`` with ``target``), an OpenML dataset or an OpenML task.

    With ``store_result`` they are written to ``dataset_qualities`` (source ``computed``) under
    ``dataset_id`` (a file's must name a dataset in the store) or the fetched dataset's id.
    Every option is checked before any data is read.
    """
    from metabase.metafeatures import compute, infer_task, load_table, looks_like_class_codes

    _check_options(ws, path, dataset, task, dataset_id, budget_s, store_result)
    if path is not None:
        X, y = load_table(path, target)
    else:
        X, y, dataset_id = _from_openml(ws, dataset, task, target, dataset_id)
    notes = []
    if task_type is None and infer_task(y) == "regression" and looks_like_class_codes(y):
        notes.append(
            f"note: the numeric target {y.name!r} is taken as a regression target; "
            "pass --task-type classification if it holds class labels"
        )
    result = compute(
        X,
        y,
        groups=list(groups) if groups else None,
        skip=skip,
        budget_s=budget_s,
        seed=seed,
        task=task_type,
    )
    stored = store_qualities(ws, result, dataset_id) if store_result else 0
    return FeaturesResult(result, dataset_id, tuple(notes), stored)


def store_qualities(ws, result, dataset_id: int) -> int:
    """Write ``result`` into ``dataset_qualities`` with source ``computed`` (OpenML's rows
    untouched), in one transaction; the number of rows written.
    """
    from metabase.metafeatures import to_store_frame

    frame = to_store_frame(result, dataset_id)
    with ws.writer() as writer, writer.transaction():
        writer.upsert("dataset_qualities", frame, merge=False)
    return len(frame)


def _check_options(ws, path, dataset, task, dataset_id, budget_s, store_result) -> None:
    if sum(x is not None for x in (path, dataset, task)) != 1:
        raise InputError("give exactly one of PATH (with --target), --dataset ID or --task ID")
    for option, value in (("--dataset", dataset), ("--task", task), ("--dataset-id", dataset_id)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise InputError(f"{option} must be a positive integer id, not {value!r}")
    if budget_s is not None and not budget_s >= 0:
        raise InputError(f"--budget must be a number of seconds (0 or more), not {budget_s}")
    if dataset_id is not None and dataset is not None and dataset_id != dataset:
        raise InputError(
            f"--dataset-id {dataset_id} differs from --dataset {dataset}: the values of an OpenML "
            "dataset are stored under its own id (drop --dataset-id)"
        )
    if path is not None and store_result:
        if dataset_id is None:
            raise InputError(
                "--store-result for a PATH needs --dataset-id N: "
                "a file carries no OpenML dataset id"
            )
        _require_known_dataset(ws, dataset_id)


def _require_known_dataset(ws, dataset_id: int) -> None:
    """The store itself must know the id (not the starter knowledge base a reader may fall back to:
    the values are written into this store).
    """
    from metabase.store import open_reader
    from metabase.store.lookups import dataset_known

    with open_reader(ws.store_path) as con:
        known = dataset_known(con, dataset_id)
    if not known:
        raise NotFoundError(
            f"dataset {dataset_id} is not in the store {ws.store_path}: --dataset-id must name a "
            'stored dataset (`metabase sql "SELECT dataset_id, name FROM datasets"` lists them)'
        )


def _from_openml(
    ws, dataset: int | None, task: int | None, target: str | None, dataset_id: int | None
):
    """(X, y, dataset id) through the OpenML gateway; ``target`` picks another column of a
    dataset.
    """
    try:
        gateway = ws.gateway()
        if task is not None:
            fetched = gateway.get_task(task)
            dataset = int(fetched.dataset_id)
            if target is not None and target != fetched.target:
                raise InputError(
                    f"task {task} predicts {fetched.target!r}: --target {target!r} does not apply "
                    "(use --dataset with --target for another column)"
                )
            target = fetched.target
        # a task's target is split off by the gateway; a --target of a dataset is checked below
        X, y = (
            gateway.get_dataset_frame(dataset, target)
            if task is not None and target
            else gateway.get_dataset_frame(dataset)
        )
    except (ImportError, AttributeError) as exc:
        raise MetabaseError(
            f"--dataset and --task need the OpenML gateway (metabase.openml.Gateway), "
            f"which is not "
            f"available here ({type(exc).__name__}: {exc}); use PATH --target COL instead"
        ) from exc
    if dataset_id is not None and dataset_id != dataset:
        raise InputError(
            f"--dataset-id {dataset_id} differs from task {task}'s dataset {dataset}: "
            "drop --dataset-id"
        )
    if target is None or (y is not None and y.name == target):
        return X, y, dataset
    frame = X if y is None else pd.concat([X, y], axis=1)
    if target not in frame.columns:
        where = f"task {task}: target" if task is not None else "--target"
        shown = ", ".join(map(str, list(frame.columns)[:12])) + (
            ", ..." if frame.shape[1] > 12 else ""
        )
        raise InputError(
            f"{where} {target!r} is not a column of dataset {dataset} (its columns: {shown})"
        )
    return frame.drop(columns=[target]), frame[target], dataset


def openml_table(ws, dataset_id: int | None = None, task_id: int | None = None):
    """(X, y, dataset_id) of an OpenML dataset (its default target) or task (its target), through
    the workspace's gateway; the gateway's errors pass through.
    """
    import pandas as pd

    target = None
    gateway = ws.gateway()
    if task_id is not None:
        task = gateway.get_task(int(task_id))
        dataset_id, target = int(task.dataset_id), task.target
    X, y = (
        gateway.get_dataset_frame(dataset_id, target)
        if target
        else gateway.get_dataset_frame(dataset_id)
    )
    if task_id is not None and target and (y is None or y.name != target):
        frame = X if y is None else pd.concat([X, y], axis=1)
        if target not in frame.columns:
            raise InputError(
                f"task {task_id}: target {target!r} is not a column of dataset {dataset_id}"
            )
        X, y = frame.drop(columns=[target]), frame[target]
    return X, y, dataset_id
