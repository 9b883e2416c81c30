"""OpenML's measures, per fold and aggregated as OpenML's evaluation engine reports them.

Names are OpenML's. The definitions follow the evaluation engine (Weka's ``Evaluation``), checked
against a recorded run (``openml-python/tests/files/.../runs/1/description.xml``):

- ``area_under_roc_curve``, ``f_measure``, ``precision`` and ``recall`` are averages over
  classes weighted by each class's count in the truth (Weka's ``weighted*``): for a binary task
  the AUC is the plain AUC, for a multi-class task the prevalence-weighted one-vs-rest AUC;
- the aggregate of a run is computed on the pooled predictions of all folds and repeats, not as
  the mean of the folds (the recorded run's AUC differs from its folds' mean); its ``stdev`` is
  the standard deviation of the fold values;
- timings are openml-python's per-fold ``usercpu_time_millis*`` and ``wall_clock_time_millis*``;
  their aggregate is the sum over folds (the run's total), which the engine takes as uploaded.

``predictive_accuracy`` and ``mean_absolute_error`` use the same scikit-learn functions as
openml-python's ``run_model_on_task``, so they agree with it to the bit.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

CLASSIFICATION = (
    "predictive_accuracy",
    "area_under_roc_curve",
    "f_measure",
    "precision",
    "recall",
    "kappa",
)
REGRESSION = ("mean_absolute_error", "root_mean_squared_error")
TIMING = (
    "usercpu_time_millis_training",
    "usercpu_time_millis_testing",
    "usercpu_time_millis",
    "wall_clock_time_millis_training",
    "wall_clock_time_millis_testing",
    "wall_clock_time_millis",
)
# The measure a run is judged by when its task names none.
DEFAULT_MAIN = {"classification": "predictive_accuracy", "regression": "mean_absolute_error"}
LOWER_IS_BETTER = frozenset({"mean_absolute_error", "root_mean_squared_error", *TIMING})


def classification(
    y_true: Sequence, y_pred: Sequence, proba: np.ndarray, labels: Sequence
) -> dict[str, float]:
    """The classification measures of one fold (or of pooled folds); NaN where undefined.

    Computed from one confusion matrix and one ranking per class with numpy: scikit-learn's
    metric functions validate their input on every call, which cost more than a small fold's
    fit. Accuracy is what scikit-learn's ``accuracy_score`` computes, ``np.average`` of the
    element-wise matches (here of the class codes, which match exactly where the labels do), so
    it agrees with openml-python to the bit.
    """
    labels = list(labels)
    truth, predicted = _codes(y_true, labels), _codes(y_pred, labels)
    k = len(labels)
    cm = np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k).astype(np.float64)
    support, predicted_count, hits = cm.sum(axis=1), cm.sum(axis=0), np.diag(cm)
    precision = np.divide(hits, predicted_count, out=np.zeros(k), where=predicted_count > 0)
    recall = np.divide(hits, support, out=np.zeros(k), where=support > 0)
    both = precision + recall
    f = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    weights = support / support.sum()
    return {
        "predictive_accuracy": float(np.average(truth == predicted)),
        "area_under_roc_curve": weighted_auc(truth, proba, k),
        "f_measure": float(weights @ f),
        "precision": float(weights @ precision),
        "recall": float(weights @ recall),
        "kappa": _kappa(cm),
    }


def _codes(values: Sequence, labels: list) -> np.ndarray:
    """Positions of ``values`` in ``labels``; raises for a value that is no label.

    A dict look-up per value: for a fold's few thousand values it is several times quicker than
    building a ``pd.Categorical`` (whose set-up dominates at these sizes).
    """
    position = {label: j for j, label in enumerate(labels)}
    values = np.asarray(values, dtype=object)
    codes = np.fromiter((position.get(v, -1) for v in values), np.int64, len(values))
    if (codes < 0).any():
        raise ValueError(
            "values outside the task's class labels: "
            f"{sorted(set(np.asarray(values)[codes < 0]))[:5]}"
        )
    return codes


def weighted_auc(truth: np.ndarray, proba: np.ndarray, k: int) -> float:
    """Each class's one-vs-rest AUC weighted by its count in ``truth`` (classes absent from
    ``truth`` weigh nothing); NaN when fewer than two classes occur. The AUC is the
    Mann-Whitney statistic with ties counted half, as ``roc_auc_score`` computes it.
    """
    total, weight, n = 0.0, 0, len(truth)
    for j in range(k):
        positive = truth == j
        count = int(positive.sum())
        if 0 < count < n:
            ranks = average_ranks(proba[:, j])
            auc = (ranks[positive].sum() - count * (count + 1) / 2) / (count * (n - count))
            total += count * auc
            weight += count
    return total / weight if weight else math.nan


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank: ``scipy.stats.rankdata``'s default, with
    its very arithmetic (so the same floats), without its input checks, which cost more than
    the ranking of a fold. NaN anywhere gives all NaN, as there.
    """
    values = np.asarray(values, dtype=np.float64)
    if np.isnan(values).any():
        return np.full(len(values), np.nan)
    order = np.argsort(values, kind="quicksort")
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[order] = np.arange(len(values), dtype=np.intp)
    ordered = values[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = first.cumsum()[inverse]
    count = np.r_[np.nonzero(first)[0], len(first)]
    return 0.5 * (count[dense] + count[dense - 1] + 1)


def _kappa(cm: np.ndarray) -> float:
    """Cohen's kappa; where truth and predictions agree on one class only, Weka's 1 (or 0)."""
    n = cm.sum()
    observed = np.trace(cm) / n
    expected = float((cm.sum(axis=0) * cm.sum(axis=1)).sum()) / (n * n)
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return float((observed - expected) / (1.0 - expected))


def regression(y_true: Sequence, y_pred: Sequence) -> dict[str, float]:
    from sklearn import metrics

    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    return {
        "mean_absolute_error": float(metrics.mean_absolute_error(y_true, y_pred)),
        "root_mean_squared_error": math.sqrt(float(metrics.mean_squared_error(y_true, y_pred))),
    }


def aggregate_timings(per_fold: Iterable[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for fold in per_fold:
        for name in TIMING:
            if name in fold:
                out[name] = out.get(name, 0.0) + float(fold[name])
    return out


def stdev(values: Sequence[float]) -> float | None:
    """Population standard deviation of the finite fold values (None for fewer than two)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.std(finite)) if len(finite) > 1 else None


def summary(fold_values: Sequence[float]) -> tuple[float | None, float | None]:
    """(mean, standard deviation) over folds, as the run table shows a run's main measure."""
    finite = [v for v in fold_values if v is not None and math.isfinite(v)]
    if not finite:
        return None, None
    return float(np.mean(finite)), (float(np.std(finite)) if len(finite) > 1 else 0.0)
