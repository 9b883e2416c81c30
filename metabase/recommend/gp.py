"""A small Gaussian process for the observations of one task, and expected improvement.

Sequential strategies refit it after every observation (up to a few hundred points), so it is
plain numpy: a Matérn 5/2 kernel on the ``dist`` encoding of the configurations, whose length
scale and noise are chosen by marginal likelihood over a grid scaled to the data (the median
distance between candidates), so no constant is fitted to one meta-dataset.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.spatial.distance import cdist
from scipy.special import ndtr  # scipy.stats' norm.cdf, without scipy.stats' 0.6 s import

LENGTH_FACTORS = (0.25, 0.5, 1.0, 2.0)  # multiples of the median candidate distance
NOISE_LEVELS = (1e-3, 1e-2, 0.1, 0.3)  # noise variance, as a share of the (unit) signal variance


def matern52(d: np.ndarray, length: float) -> np.ndarray:
    r = np.sqrt(5.0) * d / length
    return (1.0 + r + r * r / 3.0) * np.exp(-r)


def median_distance(x: np.ndarray, sample: int = 300) -> float:
    if len(x) > sample:
        x = x[np.random.default_rng(0).choice(len(x), sample, replace=False)]
    d = cdist(x, x)
    upper = d[np.triu_indices(len(x), 1)]
    upper = upper[upper > 0]
    return float(np.median(upper)) if len(upper) else 1.0


class TaskGP:
    """Posterior of standardised ``y`` (zero prior mean, unit signal variance) given
    observations.
    """

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def fit(self, x: np.ndarray, y: np.ndarray) -> "TaskGP":
        self.x_ = x
        d = cdist(x, x)
        best = None
        for factor in LENGTH_FACTORS:
            k = matern52(d, factor * self.scale)
            for noise in NOISE_LEVELS:
                try:
                    c = cho_factor(k + noise * np.eye(len(x)), lower=True)
                except np.linalg.LinAlgError:
                    continue
                alpha = cho_solve(c, y)
                # log marginal likelihood up to a constant
                lml = -0.5 * y @ alpha - np.log(np.diag(c[0])).sum()
                if best is None or lml > best[0]:
                    best = (lml, factor * self.scale, noise, c, alpha)
        _, self.length_, self.noise_, self.chol_, self.alpha_ = best
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = matern52(cdist(x, self.x_), self.length_)
        mean = k @ self.alpha_
        v = cho_solve(self.chol_, k.T)
        var = np.maximum(1.0 - np.einsum("ij,ji->i", k, v), 1e-12)
        return mean, np.sqrt(var)

    def loo(self, y: np.ndarray) -> np.ndarray:
        """Leave-one-out predictive means at the observations (closed form, Rasmussen 5.12)."""
        inv = cho_solve(self.chol_, np.eye(len(y)))
        return y - self.alpha_ / np.diag(inv)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    std = np.maximum(std, 1e-12)
    z = (mean - best) / std
    return (mean - best) * ndtr(z) + std * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)


def standardise(y: np.ndarray) -> np.ndarray:
    if len(y) == 0:
        return y
    sd = y.std()
    return (y - y.mean()) / (sd if sd > 0 else 1.0)
