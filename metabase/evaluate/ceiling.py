"""A reference point for the backtest: how far an *in-task* model gets, one that has seen most of
the held-out task's own runs, which no zero-shot strategy may.

For each task the configurations are split into ``folds`` parts; a small LightGBM model of the
normalised score on the configuration alone is fitted on the other parts and ranks each part's
configurations. The ranking is then scored like a strategy's (normalised regret@k with the task's
own, noisy, scores). Because the score of every run is one noisy evaluation, even this model does
not reach regret 0: the gap between it and 0 is what evaluation noise and a finite sample cost,
and the gap between a strategy and it is what not knowing the task costs. On the openml-pimp random
forest runs it is 0.072 at k = 1 and 0.017 at k = 10 (README, Recommenders).
"""

from __future__ import annotations

import numpy as np

from metabase.evaluate.regret import ranking, regret_curve


def in_task_ceiling(prepared, tasks=None, folds: int = 10, random_state: int = 0) -> np.ndarray:
    """Tasks x max_k regret curves of the cross-fitted in-task model (NaN-free: short tasks are
    padded with their final regret, as in :func:`metabase.evaluate.backtest`)."""
    import lightgbm as lgb

    tasks = list(prepared.task_ids if tasks is None else tasks)
    task_of = prepared.runs["task_id"].to_numpy()
    norm = prepared.runs["norm"].to_numpy()
    score = prepared.runs["score"].to_numpy(float)
    categorical = list(prepared.encoder.categorical_indices) or "auto"
    params = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 7, "min_data_in_leaf": 10,
              "num_threads": 1, "verbose": -1, "deterministic": True, "force_row_wise": True,
              "seed": random_state}
    curves = []
    for task in tasks:
        rows = np.flatnonzero(task_of == task)
        x, y = prepared.tree[rows], norm[rows]
        part = np.random.default_rng(random_state + int(task)).permutation(len(rows)) % max(2, min(folds, len(rows)))
        predicted = np.zeros(len(rows))
        for k in np.unique(part):
            fit = part != k
            model = lgb.train({**params, "min_data_in_leaf": int(min(10, max(1, fit.sum() // 4)))},
                              lgb.Dataset(x[fit], y[fit], categorical_feature=categorical), 200)
            predicted[~fit] = model.predict(x[~fit])
        curves.append(regret_curve(score[rows], ranking(predicted, seed=int(task))))
    width = max(len(c) for c in curves)
    return np.vstack([np.pad(c, (0, width - len(c)), mode="edge") for c in curves])
