"""Normalised regret, the measure of HPO-B's discrete protocol.

regret@k = (best - best of the first k tried) / (best - worst), with the task's own scores: 0 when
the top k contain the task's best configuration, 1 when the only one tried was its worst.
"""

from __future__ import annotations

import numpy as np


def regret_curve(scores: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Regret after 1, 2, ..., n picks when candidates are tried in ``order``."""
    scores = np.asarray(scores, float)
    best, worst = scores.max(), scores.min()
    running = np.maximum.accumulate(scores[np.asarray(order)])
    return (best - running) / (best - worst)


def expected_random_regret(scores: np.ndarray) -> np.ndarray:
    """Exact expected regret@k of random search (drawing without replacement), k = 1..n.

    The best of k draws is the i-th smallest score with probability C(i-1, k-1) / C(n, k).
    """
    from scipy.special import gammaln  # here: ``ranking`` is on recommend's fast path, this is not

    s = np.sort(np.asarray(scores, float))
    n = len(s)
    best, worst = s[-1], s[0]
    i = np.arange(1, n + 1)
    out = np.empty(n)
    for k in range(1, n + 1):
        valid = i >= k
        logp = np.full(n, -np.inf)
        logp[valid] = (
            gammaln(i[valid])
            - gammaln(k)
            - gammaln(i[valid] - k + 1)
            - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
        )
        out[k - 1] = (best - (np.exp(logp) * s).sum()) / (best - worst)
    return out


def ranking(rank_value: np.ndarray, seed: int = 0) -> np.ndarray:
    """Candidate order, best first; ties broken at random so data order cannot help."""
    tie = np.random.default_rng(seed).random(len(rank_value))
    return np.lexsort((tie, -np.nan_to_num(np.asarray(rank_value, float), nan=-np.inf)))
