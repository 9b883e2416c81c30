"""``compute``: run the selected groups of meta-features on one table."""

from __future__ import annotations

import math
import time
import warnings
from typing import Iterable

import numpy as np
import pandas as pd

from metabase.errors import InputError
from metabase.metafeatures.engine import (
    BudgetExceeded,
    Context,
    MetaFeatureResult,
    NotApplicable,
    as_float,
    metafeatures,
)
from metabase.metafeatures.prep import is_nominal

#: Groups in the order they run. ``landmarking`` is the only expensive one.
GROUPS: tuple[str, ...] = (
    "general",
    "class",
    "missing",
    "statistical",
    "infotheory",
    "landmarking",
    "autosklearn",
)


def infer_task(y: pd.Series | None, *, class_codes: bool = False) -> str:
    """The one answer to "is this target classification?".

    A nominal (categorical, string, bool) target is classification, a numeric one regression; with
    ``class_codes``, a numeric target that :func:`looks_like_class_codes` (eeg-eye-state's 1/2) is
    classification too.
    """
    if y is None:
        return "none"
    if is_nominal(y) or (class_codes and looks_like_class_codes(y)):
        return "classification"
    return "regression"


def looks_like_class_codes(y: pd.Series | None) -> bool:
    """A numeric target whose values are whole numbers with few distinct values (at most
    max(2, min(50, n / 20))): probably class labels stored as numbers.
    """
    if y is None or is_nominal(y):
        return False
    values = pd.Series(y).dropna()
    if values.empty or values.dtype.kind not in "iuf":
        return False
    if values.dtype.kind == "f" and not (values == values.round()).all():
        return False
    return values.nunique() <= max(2, min(50, len(values) // 20))


def members(group: str) -> list[str]:
    return [name for name, cls in metafeatures().items() if cls.group == group]


def compute(
    X: pd.DataFrame,
    y: pd.Series | None = None,
    *,
    groups: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    budget_s: float | None = None,
    seed: int = 0,
    task: str | None = None,
) -> MetaFeatureResult:
    """Compute OpenML qualities (and auto-sklearn's meta-features) of ``X`` with target ``y``.

    ``groups`` selects groups (default: all of :data:`GROUPS`); ``skip`` names groups or single
    qualities to leave out; ``budget_s`` is a time budget *per group*: qualities not reached in
    time are NaN with the reason "budget exceeded". ``task`` ("classification" or "regression")
    overrides the inference from ``y``'s dtype (numeric targets are taken as regression).
    """
    X, y = _validate(X, y)
    if budget_s is not None and not budget_s >= 0:  # NaN fails this too
        raise InputError(
            f"the time budget must be a number of seconds (0 or more), not {budget_s}"
        )
    selected = list(GROUPS if groups is None else groups)
    unknown = [g for g in selected if g not in GROUPS]
    if unknown:
        raise InputError(
            f"unknown meta-feature group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}"
        )
    task = task or infer_task(y)
    if task not in ("classification", "regression", "none"):
        raise InputError(f"unknown task type {task!r}: use classification or regression")
    skip = set(skip)
    ctx = Context(X=X, y=y, task=task, seed=seed)
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    owner: dict[str, str] = {}
    timings: dict[str, float] = {}
    # Degenerate data (empty classes, constant or all-missing columns) makes numpy warn; those
    # values come out NaN and get a reason, so the warnings carry no extra information.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        _run_groups(ctx, selected, skip, values, reasons, owner, timings, budget_s)
    return MetaFeatureResult(values=values, reasons=reasons, timings=timings, groups=owner)


def _run_groups(ctx, selected, skip, values, reasons, owner, timings, budget_s) -> None:
    for group in GROUPS:
        if group not in selected:
            continue
        start = time.perf_counter()
        ctx.deadline = None if budget_s is None else start + budget_s
        out_of_time = False
        for name in members(group):
            owner[name] = group
            if group in skip or name in skip:
                values[name], reasons[name] = math.nan, "skipped"
                continue
            if out_of_time:
                values[name], reasons[name] = math.nan, "budget exceeded"
                continue
            try:
                values[name] = as_float(ctx.get(name))
                if math.isnan(values[name]):
                    reasons[name] = "undefined for this data"
            except NotApplicable as exc:
                values[name], reasons[name] = math.nan, str(exc)
            except BudgetExceeded:
                values[name], reasons[name] = math.nan, "budget exceeded"
                out_of_time = True
        timings[group] = time.perf_counter() - start


def _validate(X, y):
    if not isinstance(X, pd.DataFrame):
        raise InputError(f"X must be a pandas DataFrame, not {type(X).__name__}")
    if X.shape[0] == 0:
        raise InputError("the table has no rows")
    if y is not None:
        if not isinstance(y, pd.Series):
            y = pd.Series(y, name="target")
        if len(y) != len(X):
            raise InputError(f"X has {len(X)} rows but the target has {len(y)}")
        y = y.reset_index(drop=True)
    X = X.reset_index(drop=True)
    X.columns = [str(c) for c in X.columns]
    duplicated = X.columns[X.columns.duplicated()].unique().tolist()
    if duplicated:
        raise InputError(f"duplicate column names: {', '.join(duplicated[:5])}")
    return X, y


def to_store_frame(result: MetaFeatureResult, dataset_id: int) -> pd.DataFrame:
    """Rows for the store's ``dataset_qualities`` with ``source='computed'``.

    Qualities that were skipped or ran out of budget are left out (unknown, not undefined); an
    undefined quality is kept with a NULL value so that a stale earlier value does not survive.
    """
    rows = [
        {"dataset_id": int(dataset_id), "quality": q, "value": v, "source": "computed"}
        for q, v in result.values.items()
        if result.reasons.get(q) not in ("skipped", "budget exceeded")
    ]
    return pd.DataFrame(rows, columns=["dataset_id", "quality", "value", "source"])
