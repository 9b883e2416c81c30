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

CLASSIFICATION = ("predictive_accuracy", "area_under_roc_curve", "f_measure", "precision", "recall",
                  "kappa")
REGRESSION = ("mean_absolute_error", "root_mean_squared_error")
TIMING = ("usercpu_time_millis_training", "usercpu_time_millis_testing", "usercpu_time_millis",
          "wall_clock_time_millis_training", "wall_clock_time_millis_testing", "wall_clock_time_millis")
# The measure a run is judged by when its task names none.
DEFAULT_MAIN = {"classification": "predictive_accuracy", "regression": "mean_absolute_error"}
LOWER_IS_BETTER = frozenset({"mean_absolute_error", "root_mean_squared_error", *TIMING})


def classification(y_true: Sequence, y_pred: Sequence, proba: np.ndarray,
                   labels: Sequence) -> dict[str, float]:
    """The classification measures of one fold (or of pooled folds); NaN where undefined."""
    from sklearn import metrics

    y_true, y_pred, labels = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object), list(labels)
    weighted = {"labels": labels, "average": "weighted", "zero_division": 0}
    return {
        "predictive_accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "area_under_roc_curve": weighted_auc(y_true, proba, labels),
        "f_measure": float(metrics.f1_score(y_true, y_pred, **weighted)),
        "precision": float(metrics.precision_score(y_true, y_pred, **weighted)),
        "recall": float(metrics.recall_score(y_true, y_pred, **weighted)),
        "kappa": _kappa(y_true, y_pred, labels),
    }


def weighted_auc(y_true: np.ndarray, proba: np.ndarray, labels: Sequence) -> float:
    """Each class's one-vs-rest AUC weighted by its count in ``y_true`` (classes absent from
    ``y_true`` weigh nothing); NaN when fewer than two classes occur."""
    from sklearn.metrics import roc_auc_score

    total, weight = 0.0, 0
    for j, label in enumerate(labels):
        positive = y_true == label
        count = int(positive.sum())
        if 0 < count < len(y_true):
            total += count * float(roc_auc_score(positive, proba[:, j]))
            weight += count
    return total / weight if weight else math.nan


def _kappa(y_true, y_pred, labels) -> float:
    from sklearn.metrics import confusion_matrix

    # Cohen's kappa from the confusion matrix: scikit-learn's function warns and returns NaN for
    # a fold where truth and prediction are one class; Weka defines kappa there as 1 (or 0).
    cm = confusion_matrix(y_true, y_pred, labels=labels).astype(np.float64)
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
