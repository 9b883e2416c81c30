"""Hyperparameter importance per task and across tasks: runs in, :class:`ImportanceResult` out.

Per task: a fANOVA forest on that task's runs (:mod:`metabase.importance.fanova`), the fraction of
variance each hyperparameter explains alone and, optionally, each pair's interaction; optionally
the tunability of each hyperparameter from the same forest, and marginal curves for plots. Across
tasks: the quartiles of each hyperparameter's importance, the ranking by median, and the
data-driven default (:mod:`metabase.importance.tunability`). Pure: no store, no network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metabase.errors import InputError
from metabase.importance import tunability as tune
from metabase.importance.fanova import N_TREES, Forest, FunctionalAnova
from metabase.importance.records import PAIR_SEP, Curve, ImportanceResult, TaskImportance
from metabase.importance.space import Dimension, Encoded, encode, encode_one

CURVE_POINTS = 50


def analyse(
    runs: pd.DataFrame,
    dims: Sequence[Dimension],
    *,
    pipeline: str,
    measure: str,
    higher_is_better: bool = True,
    default_config: Mapping[str, Any] | None = None,
    pairs: bool = False,
    tunability: bool = False,
    curves: int = 0,
    min_runs: int = 100,
    n_trees: int = N_TREES,
    seed: int = 0,
    jobs: int = 1,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportanceResult:
    """Importance of the hyperparameters ``dims`` over ``runs`` (columns ``task_id``,
    ``config`` (a dict or its JSON) and ``score`` as stored; errors and losses get
    ``higher_is_better=False``).

    Tasks with fewer than ``min_runs`` usable runs are skipped (listed in ``skipped``);
    ``curves`` asks for the marginal curves of each task's that-many most important
    hyperparameters; ``tunability`` needs ``default_config``; ``jobs`` > 1 analyses that many tasks
    at a time in worker processes; ``ranges`` are the values all the pipeline's runs cover
    (:func:`metabase.importance.space.encode`).
    """
    if tunability and default_config is None:
        raise InputError("tunability needs the pipeline's default configuration")
    configs = [c if isinstance(c, Mapping) else json.loads(c or "{}") for c in runs["config"]]
    enc = encode(configs, dims, ranges)
    task_ids = runs["task_id"].to_numpy(dtype=np.int64)[enc.kept]
    sign = 1.0 if higher_is_better else -1.0
    y = sign * runs["score"].to_numpy(dtype=float)[enc.kept]
    finite = np.isfinite(y)
    task_ids, y, X = task_ids[finite], y[finite], enc.X[finite]
    kept_configs = [c for c, k in zip(configs, enc.kept) if k]
    kept_configs = [c for c, f in zip(kept_configs, finite) if f]
    counts = pd.Series(task_ids).value_counts().sort_index()
    usable = [int(t) for t, n in counts.items() if n >= min_runs]
    skipped = {int(t): int(n) for t, n in counts.items() if n < min_runs}
    if not usable:
        raise InputError(
            f"no task has {min_runs} usable runs of {pipeline} (the most is "
            f"{int(counts.max()) if len(counts) else 0})"
        )
    default = encode_one(default_config, enc.dims) if default_config is not None else None
    candidates = tune.candidate_rows(task_ids, y) if tunability else np.array([], dtype=int)
    if tunability and default is not None:  # the pipeline's default is scored like the candidates
        X_candidates = np.vstack([X[candidates], default[None, :]])
    else:
        X_candidates = X[candidates]
    work = [(task, X[task_ids == task], y[task_ids == task]) for task in usable]
    options = dict(
        enc=enc,
        sign=sign,
        pairs=pairs,
        default=default,
        X_candidates=X_candidates if tunability else None,
        curves=curves,
        n_trees=n_trees,
        seed=seed,
    )
    results, normalised_rows = [], []
    for done, (result, row) in enumerate(_each_task(work, options, jobs), start=1):
        results.append(result)
        if row is not None:
            normalised_rows.append(row)
        if progress:
            progress(done, len(usable))
    ddd = (
        _data_driven_default(normalised_rows, candidates, kept_configs, dims)
        if tunability
        else None
    )
    varying = tuple(d.name for d in enc.dims)
    settings = {
        "pairs": pairs,
        "tunability": tunability,
        "min_runs": min_runs,
        "n_trees": n_trees,
        "seed": seed,
        "bounds": {d.name: _bounds(d) for d in enc.dims},
        "ignored_keys": list(enc.unknown_keys),
        "dropped_runs": int((~enc.kept).sum()),
    }
    return ImportanceResult(
        pipeline,
        measure,
        higher_is_better,
        varying,
        enc.constant,
        tuple(results),
        skipped,
        ddd,
        settings,
    )


def _each_task(work: list, options: dict, jobs: int):
    """(TaskImportance, normalised candidate scores) per task, in order; in ``jobs`` worker
    processes when that is more than one.
    """
    if jobs <= 1 or len(work) < 2:
        for task, X, y in work:
            yield _one_task(task, X, y, **options)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=jobs, return_as="generator", batch_size=1)
    yield from parallel(delayed(_one_task)(task, X, y, **options) for task, X, y in work)


def _bounds(dim: Dimension) -> list:
    if dim.kind == "categorical":
        return [str(c) for c in dim.choices]
    return [dim.decode(dim.lower), dim.decode(dim.upper)] + (["log"] if dim.log else [])


def _one_task(
    task: int,
    X: np.ndarray,
    y: np.ndarray,
    enc: Encoded,
    *,
    sign: float,
    pairs: bool,
    default,
    X_candidates,
    curves: int,
    n_trees: int,
    seed: int,
):
    """(TaskImportance, the candidates' normalised surrogate scores or None). ``y`` is
    higher-is-better; the default's score and the curves go back to the measure's own sign.
    """
    varies = X.min(axis=0) < X.max(axis=0)
    cols = np.flatnonzero(varies)
    dims = [enc.dims[j] for j in cols]
    constant = tuple(enc.dims[j].name for j in np.flatnonzero(~varies))
    if not y.max() > y.min() or not len(cols):
        return TaskImportance(
            task, len(y), {}, constant, note="its runs all have the same score"
        ), None
    model = FunctionalAnova(n_trees=n_trees, seed=seed).fit(
        X[:, cols], y, [d.lower for d in dims], [d.upper for d in dims]
    )
    if not np.any(model.trees_used_):
        return TaskImportance(
            task, len(y), {}, constant, note="the surrogate's trees are all constant"
        ), None
    importance = {d.name: float(v) for d, v in zip(dims, model.importance_)}
    pair_values = {}
    if pairs:
        pair_values = {
            f"{dims[a].name}{PAIR_SEP}{dims[b].name}": v
            for (a, b), v in model.pair_importance().items()
        }
    extra: dict[str, Any] = {}
    row = None
    if default is not None and X_candidates is not None:
        surrogate = Forest(seed=seed, **tune.SURROGATE).fit(
            X[:, cols], y, model.lower_, model.upper_
        )
        base, gains, gain_all = tune.tunability(surrogate, default[cols], X[:, cols])
        extra = {
            "default_score": sign * base,
            "tunability": {dims[j].name: g for j, g in gains.items()},
            "tunability_all": gain_all,
        }
        row = tune.normalised(
            surrogate.predict(X_candidates[:, cols]), float(y.min()), float(y.max())
        )
    top = sorted(range(len(dims)), key=lambda j: -model.importance_[j])[:curves]
    task_curves = tuple(_curve(model, j, dims[j], sign) for j in top)
    return TaskImportance(
        task, len(y), importance, constant, pair_values, curves=task_curves, **extra
    ), row


def _curve(model: FunctionalAnova, column: int, dim: Dimension, sign: float) -> Curve:
    if dim.kind == "categorical":
        points = np.arange(len(dim.choices), dtype=float)
        xs = tuple(str(c) for c in dim.choices)
    else:
        points = np.linspace(dim.lower, dim.upper, CURVE_POINTS)
        xs = tuple(float(np.exp(p)) if dim.log else float(p) for p in points)
    mean, std = model.marginal(column, points)
    return Curve(
        dim.name,
        xs,
        tuple(float(sign * m) for m in mean),
        tuple(map(float, std)),
        dim.kind == "categorical",
    )


def _data_driven_default(
    rows: list[np.ndarray], candidates: np.ndarray, configs: list[dict], dims: Sequence[Dimension]
) -> dict | None:
    if not rows:
        return None
    best, mean = tune.best_default(rows)
    names = [d.name for d in dims]
    pipeline_default = float(mean[-1]) if len(mean) == len(candidates) + 1 else None
    if best >= len(candidates):  # the pipeline's own default is the best candidate
        config, source = None, "the pipeline's default"
    else:
        config = {
            k: configs[candidates[best]].get(k) for k in names if k in configs[candidates[best]]
        }
        source = "a run's configuration"
    return {
        "config": config,
        "from": source,
        "mean_normalised_score": float(mean[best]),
        "default_mean_normalised_score": pipeline_default,
        "candidates": int(len(mean)),
        "tasks": len(rows),
    }
