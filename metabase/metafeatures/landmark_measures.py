"""The three measures OpenML reports for each landmarker: error rate, kappa and weighted AUC.

Computed on a landmarker's cross-validated class probabilities (:class:`CVOutcome`), as Weka
reports them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from metabase.metafeatures.landmarkers import CVOutcome


def error_rate(o: CVOutcome) -> float:
    return float(np.mean(o.proba.argmax(axis=1) != o.y))


def kappa(o: CVOutcome) -> float:
    """Cohen's kappa of the argmax predictions."""
    pred = o.proba.argmax(axis=1)
    k = o.proba.shape[1]
    confusion = np.bincount(o.y * k + pred, minlength=k * k).reshape(k, k).astype(float)
    n = confusion.sum()
    observed = np.trace(confusion) / n
    expected = (confusion.sum(axis=0) * confusion.sum(axis=1)).sum() / n**2
    return 0.0 if expected >= 1 else float((observed - expected) / (1 - expected))


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    import pandas as pd

    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def weighted_auc(o: CVOutcome) -> float:
    """Weka's weightedAreaUnderROC: one-vs-rest AUC per class, weighted by class frequency."""
    counts = np.bincount(o.y, minlength=o.proba.shape[1]).astype(float)
    total, acc = 0.0, 0.0
    for c in np.flatnonzero(counts):
        positive = o.y == c
        if positive.all():
            continue
        acc += counts[c] * binary_auc(positive, o.proba[:, c])
        total += counts[c]
    return acc / total if total else math.nan
