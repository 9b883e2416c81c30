"""A reference point for the backtest: how far an *in-task* model gets, one that has seen most of
the held-out task's own runs, which no zero-shot strategy may.

For each task the configurations are split into ``folds`` parts; a model of the normalised score on
the configuration alone is fitted on the other parts and ranks each part's configurations. The
ranking is then scored like a strategy's (normalised regret@k with the task's own, noisy, scores).
Because the score of every run is one noisy evaluation, even this model does not reach regret 0:
the gap between it and 0 is what evaluation noise and a finite sample cost, and the gap between a
strategy and it is what not knowing the task costs.

So that the reference does not rest on one model that might just be weak, several in-task models
of different kinds are kept (``model=``): LightGBM (the default), a Gaussian process with a
Matern + white-noise kernel whose length scales are fitted per task, extremely randomised trees,
a random forest and k nearest neighbours. :func:`ceiling_envelope` takes, for each task and k, the
lowest regret any of them reached: an optimistic bound that no single model attains, since which
model wins is only known after the task's scores are seen.

The figures (``tests/benchmarks/bench_recommend.py`` records them) are in the README's
Performance section.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from metabase.errors import InputError
from metabase.evaluate.regret import ranking, regret_curve


def in_task_ceiling(
    prepared,
    tasks=None,
    folds: int = 10,
    random_state: int = 0,
    model: str = "lightgbm",
    max_train: int | None = None,
) -> np.ndarray:
    """Tasks x max_k regret curves of the cross-fitted in-task ``model`` (one of
    :data:`CEILING_MODELS`; NaN-free: short tasks are padded with their final regret, as in
    :func:`metabase.evaluate.backtest`). ``max_train`` caps the runs each fold's model is fitted
    on (a random subset; None: all of the other folds), for the models whose cost grows fast.
    """
    if model not in CEILING_MODELS:
        raise InputError(
            f"unknown in-task model {model!r}; choose one of {', '.join(CEILING_MODELS)}"
        )
    if max_train is not None and max_train < 2:
        raise InputError(f"max_train must be at least 2, got {max_train}")
    from threadpoolctl import threadpool_limits

    fit_predict = CEILING_MODELS[model]
    tasks = list(prepared.task_ids if tasks is None else tasks)
    task_of = prepared.runs["task_id"].to_numpy()
    norm = prepared.runs["norm"].to_numpy()
    score = prepared.runs["score"].to_numpy(float)
    curves = []
    with threadpool_limits(1):  # small matrices: BLAS threads only fight over shared cores
        for task in tasks:
            rows = np.flatnonzero(task_of == task)
            rng = np.random.default_rng(random_state + int(task))
            part = rng.permutation(len(rows)) % max(2, min(folds, len(rows)))
            predicted = np.zeros(len(rows))
            state: dict = {}  # what a model carries from one fold of this task to the next
            for k in np.unique(part):
                fit = np.flatnonzero(part != k)
                if max_train is not None and len(fit) > max_train:
                    fit = np.sort(rng.choice(fit, max_train, replace=False))
                held = part == k
                predicted[held] = fit_predict(
                    prepared, rows[fit], norm[rows[fit]], rows[held], random_state, state
                )
            curves.append(regret_curve(score[rows], ranking(predicted, seed=int(task))))
    width = max(len(c) for c in curves)
    return np.vstack([np.pad(c, (0, width - len(c)), mode="edge") for c in curves])


def ceiling_envelope(curves: dict) -> np.ndarray:
    """For each task and k, the lowest regret any of the models' curves (name -> tasks x max_k,
    the same tasks in the same order) reached: the best of the models, chosen with hindsight.
    """
    arrays = list(curves.values())
    if not arrays:
        raise InputError("no in-task model curves to take the envelope of")
    width = max(a.shape[1] for a in arrays)
    padded = [np.pad(a, ((0, 0), (0, width - a.shape[1])), mode="edge") for a in arrays]
    return np.minimum.reduce(padded)


# --- the in-task models: (prepared, fit rows, fit targets, predict rows, seed, per-task state)
#     -> predictions ---


def _lightgbm(prepared, fit, y, predict, seed, state):
    import lightgbm as lgb

    categorical = list(prepared.encoder.categorical_indices) or "auto"
    params = {
        "objective": "regression",
        "learning_rate": 0.05,
        "num_leaves": 7,
        "min_data_in_leaf": int(min(10, max(1, len(fit) // 4))),
        "num_threads": 1,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
        "seed": seed,
    }
    booster = lgb.train(
        params, lgb.Dataset(prepared.tree[fit], y, categorical_feature=categorical), 200
    )
    return booster.predict(prepared.tree[predict])


def _standardised(prepared, fit, predict, columns=None):
    """The distance encoding (numbers in [0, 1], categories one-hot, missing flags) on one scale:
    columns constant or duplicating an earlier one (the two one-hot columns of a yes/no key) are
    dropped, the rest standardised, so that one set of length-scale bounds and one neighbour
    metric suit them all. The columns are chosen on the configurations alone (``columns``, from
    :func:`_columns`, or on the fit and predict rows together): no score is looked at.
    """
    if columns is None:
        columns = _columns(prepared.dist[np.concatenate([fit, predict])])
    keep, mean, std = columns
    if not keep.any():  # nothing varies: every configuration looks the same
        return np.zeros((len(fit), 1)), np.zeros((len(predict), 1))
    return (prepared.dist[fit][:, keep] - mean) / std, (
        prepared.dist[predict][:, keep] - mean
    ) / std


def _columns(x: np.ndarray) -> tuple:
    std = x.std(axis=0)
    keep = []
    for j in np.flatnonzero(std > 1e-12):
        z = (x[:, j] - x[:, j].mean()) / std[j]
        if not any(abs(np.mean(z * (x[:, i] - x[:, i].mean()) / std[i])) > 1 - 1e-9 for i in keep):
            keep.append(j)
    keep = np.isin(np.arange(x.shape[1]), keep)
    return keep, x[:, keep].mean(axis=0), std[keep]


def _gaussian_process(prepared, fit, y, predict, seed, state):
    """Posterior mean of a GP with an ARD Matern 5/2 kernel (one length scale per column) plus
    white noise. The kernel's hyperparameters are fitted by marginal likelihood (two starts) on
    the first fold's fit rows and kept for the task's other folds, which only condition on their
    own fit rows: refitting them per fold costs ~10x the time, and the rows they were fitted on
    overlap the other folds' held-out rows, a small advantage that makes this ceiling, if
    anything, optimistic.
    """
    import warnings

    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    if "columns" not in state:
        state["columns"] = _columns(prepared.dist[np.concatenate([fit, predict])])
    x_fit, x_new = _standardised(prepared, fit, predict, state["columns"])
    with warnings.catch_warnings():  # a length scale at its bound: that column does not matter
        warnings.simplefilter("ignore")
        if "kernel" not in state:
            kernel = ConstantKernel(1.0, (1e-3, 1e2)) * Matern(
                np.full(x_fit.shape[1], 2.0), length_scale_bounds=(5e-2, 1e3), nu=2.5
            ) + WhiteKernel(0.1, (1e-6, 1.0))
            gp = GaussianProcessRegressor(
                kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed
            ).fit(x_fit, y)
            state["kernel"] = gp.kernel_
        else:
            gp = GaussianProcessRegressor(state["kernel"], normalize_y=True, optimizer=None).fit(
                x_fit, y
            )
    return gp.predict(x_new)


def _extra_trees(prepared, fit, y, predict, seed, state):
    from sklearn.ensemble import ExtraTreesRegressor

    x_fit, x_new = _standardised(prepared, fit, predict)
    trees = ExtraTreesRegressor(
        n_estimators=300, min_samples_leaf=3, max_features=1.0, n_jobs=1, random_state=seed
    )
    return trees.fit(x_fit, y).predict(x_new)


def _random_forest(prepared, fit, y, predict, seed, state):
    from sklearn.ensemble import RandomForestRegressor

    x_fit, x_new = _standardised(prepared, fit, predict)
    forest = RandomForestRegressor(
        n_estimators=300, min_samples_leaf=3, max_features=0.5, n_jobs=1, random_state=seed
    )
    return forest.fit(x_fit, y).predict(x_new)


def _knn(prepared, fit, y, predict, seed, state):
    """K chosen per fold by leave-one-out error on the fit rows (k = 1 has no place in a noisy
    landscape: it copies one noisy score).
    """
    from sklearn.neighbors import NearestNeighbors

    if len(fit) < 3:  # too few rows to choose k by leaving one out
        return np.full(len(predict), y.mean())
    x_fit, x_new = _standardised(prepared, fit, predict)
    choices = [k for k in (3, 5, 10, 20, 40) if k < len(fit)] or [max(1, len(fit) - 1)]
    top = max(choices)
    index = NearestNeighbors(n_neighbors=min(top + 1, len(fit)), metric="manhattan").fit(x_fit)
    _, near = index.kneighbors(x_fit)
    near = near[:, 1:]  # leave the row itself out (ties aside, it is its own nearest)
    errors = [np.mean((y[near[:, :k]].mean(axis=1) - y) ** 2) for k in choices]
    best = choices[int(np.argmin(errors))]
    _, near_new = index.kneighbors(x_new, n_neighbors=best)
    return y[near_new].mean(axis=1)


CEILING_MODELS: dict[str, Callable] = {
    "lightgbm": _lightgbm,
    "gp": _gaussian_process,
    "extra_trees": _extra_trees,
    "random_forest": _random_forest,
    "knn": _knn,
}
