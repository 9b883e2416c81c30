"""Tunability (Probst, Boulesteix and Bischl, JMLR 2019) and data-driven defaults, from a
surrogate forest per task.

The surrogate is not the fANOVA forest. That one tries 70% of the dimensions at each split, so some
of its trees split on a dimension that does not matter before the ones that do and end in leaves
that are pure by chance; a maximum along a line finds those boxes and reports gains that do not
exist (on the step landscape of the tests, a gain of 5/16 for a dimension without any effect).
The surrogate tries every dimension at each split and keeps three runs per leaf: 32 trees.

- The tunability of a hyperparameter on a task is how much better the surrogate scores the best
  configuration that differs from the pipeline's default in that hyperparameter alone than the
  default itself. The forest is constant between its split points, so trying one point per cell
  of the split points of all its trees along that dimension finds that best exactly.
- The tunability of the whole pipeline on a task is the best surrogate score over the task's own
  runs and those one-dimensional optima, minus the default's.
- The data-driven default is the single configuration with the best mean normalised surrogate
  score over the tasks (Probst et al.'s "optimal defaults"); scores are normalised per task to
  [0, 1] by the worst and best score of the task's runs. Candidates are the best runs of every
  task; the pipeline's own default is scored the same way, for comparison.

All scores here are higher-is-better (the caller negates errors and losses).
"""

from __future__ import annotations

import numpy as np

CANDIDATES_PER_TASK = 10
SURROGATE = {"n_trees": 32, "max_features": 1.0, "min_samples_leaf": 3}


def tunability(
    model, default: np.ndarray, X_task: np.ndarray
) -> tuple[float, dict[int, float], float]:
    """(the default's surrogate score, {column: gain from tuning it alone}, gain from tuning
    all).
    """
    base = float(model.predict(default[None, :])[0])
    gains, best = {}, base
    for dim in range(len(default)):
        points = model.line_points(dim)
        grid = np.repeat(default[None, :], len(points), axis=0)
        grid[:, dim] = points
        top = float(model.predict(grid).max())
        gains[dim] = top - base if top - base > 1e-12 else 0.0  # the default's own cell: no gain
        best = max(best, top)
    if len(X_task):
        best = max(best, float(model.predict(X_task).max()))
    return base, gains, best - base if best - base > 1e-12 else 0.0


def candidate_rows(
    task_ids: np.ndarray, scores: np.ndarray, per_task: int = CANDIDATES_PER_TASK
) -> np.ndarray:
    """Row indices of each task's ``per_task`` best runs (ties by row order)."""
    order = np.lexsort((np.arange(len(scores)), -scores, task_ids))
    rows, seen = [], {}
    for row in order:
        task = task_ids[row]
        if seen.get(task, 0) < per_task:
            rows.append(row)
            seen[task] = seen.get(task, 0) + 1
    return np.array(sorted(rows), dtype=int)


def normalised(predictions: np.ndarray, worst: float, best: float) -> np.ndarray | None:
    """Predictions on the task's [worst, best] scale; None for a task whose runs all score
    alike.
    """
    if not best > worst:
        return None
    return (predictions - worst) / (best - worst)


def best_default(normalised_rows: list[np.ndarray]) -> tuple[int, np.ndarray]:
    """(index of the candidate with the best mean over tasks, the mean per candidate)."""
    mean = np.mean(np.vstack(normalised_rows), axis=0)
    return int(np.argmax(mean)), mean
