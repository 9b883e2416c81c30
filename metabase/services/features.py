"""The features service: meta-features of a file, an OpenML dataset or task, optionally stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from metabase.errors import InputError, MetabaseError


@dataclass(frozen=True)
class FeaturesResult:
    result: object             # metabase.metafeatures.MetaFeatureResult
    dataset_id: int | None     # the dataset the values belong to, where known
    stored: bool               # written to dataset_qualities (source 'computed')


def openml_table(ws, dataset_id: int | None = None, task_id: int | None = None):
    """(X, y, dataset_id) of an OpenML dataset (its default target) or task (its target), through
    the workspace's gateway; the gateway's errors pass through."""
    import pandas as pd

    target = None
    gateway = ws.gateway()
    if task_id is not None:
        task = gateway.get_task(int(task_id))
        dataset_id, target = int(task.dataset_id), task.target
    X, y = gateway.get_dataset_frame(dataset_id, target) if target else gateway.get_dataset_frame(dataset_id)
    if task_id is not None and target and (y is None or y.name != target):
        frame = X if y is None else pd.concat([X, y], axis=1)
        if target not in frame.columns:
            raise InputError(f"task {task_id}: target {target!r} is not a column of dataset {dataset_id}")
        X, y = frame.drop(columns=[target]), frame[target]
    return X, y, dataset_id


def _from_openml(ws, dataset_id: int | None, task_id: int | None):
    try:
        return openml_table(ws, dataset_id, task_id)
    except (ImportError, AttributeError) as exc:
        raise MetabaseError(
            f"--dataset and --task need the OpenML gateway (metabase.openml.Gateway), which is not "
            f"available here ({type(exc).__name__}: {exc}); use PATH --target COL instead") from exc


def features(ws, *, path: str | Path | None = None, target: str | None = None,
             dataset: int | None = None, task: int | None = None, store_as: int | None = None,
             store: bool = False, groups: Sequence[str] | None = None, skip: Sequence[str] = (),
             budget_s: float | None = None, seed: int = 0, task_type: str | None = None,
             notify: Callable[[str], None] | None = None) -> FeaturesResult:
    """Compute the qualities of exactly one of ``path`` (with ``target``), OpenML ``dataset`` or
    ``task``; with ``store``, write them into ``dataset_qualities`` (source ``computed``, OpenML's
    rows untouched) under ``store_as``, else the OpenML dataset's id. ``notify`` gets hints for
    the user (e.g. how a numeric target was taken)."""
    from metabase.metafeatures import compute, infer_task, load_table, to_store_frame

    if sum(x is not None for x in (path, dataset, task)) != 1:
        raise InputError("give exactly one of PATH (with --target), --dataset ID or --task ID")
    dataset_id = store_as
    if path is not None:
        if store and dataset_id is None:
            raise InputError("--store-result for a PATH needs --dataset-id N: a file carries no OpenML dataset id")
        X, y = load_table(path, target)
    else:
        X, y, fetched_id = _from_openml(ws, dataset, task)
        dataset_id = dataset_id if dataset_id is not None else fetched_id
    if notify and task_type is None and y is not None and infer_task(y) == "regression" and y.nunique() <= 10:
        notify(f"note: the numeric target {y.name!r} is taken as a regression target; "
               "pass --task-type classification if it holds class labels")
    result = compute(X, y, groups=list(groups) if groups else None, skip=tuple(skip), budget_s=budget_s,
                     seed=seed, task=task_type)
    if store:
        with ws.writer() as writer, writer.transaction():
            writer.upsert("dataset_qualities", to_store_frame(result, dataset_id), merge=False)
    return FeaturesResult(result, dataset_id, store)
