"""lowrank: OBOE-style matrix completion over task x configuration.

The pool x task matrix of the portfolio (normalised scores, via each task's nearest evaluated
configuration) is factorised by a truncated SVD; a new task, which has no evaluations, gets its
latent coordinates from its meta-features by ridge regression (penalty chosen by
leave-one-out), and so a predicted score for every
pool configuration. A candidate takes the prediction of its nearest pool configuration. The rank
keeps 90% of the matrix's variance, so it adapts to each meta-dataset.
"""

from __future__ import annotations

import numpy as np

from metabase.recommend.base import Models, Scores, Strategy, cityblock, pool_matrix


class LowRankStrategy(Strategy):
    name = "lowrank"

    def __init__(self, per_task: int = 3, variance: float = 0.9) -> None:
        self.per_task = per_task
        self.variance = variance

    def fit(self, training, models: Models | None = None) -> "LowRankStrategy":
        pool, g, columns = pool_matrix(training, self.per_task)
        m = g.T  # tasks x pool
        col_mean = np.nanmean(m, axis=0)
        m = np.where(np.isnan(m), col_mean[None, :], m)
        self.mean_ = col_mean
        u, s, vt = np.linalg.svd(m - col_mean[None, :], full_matrices=False)
        explained = np.cumsum(s**2) / max((s**2).sum(), 1e-12)
        rank = int(np.searchsorted(explained, self.variance) + 1)
        self.rank_ = rank
        self.components_ = vt[:rank] * s[:rank, None]  # rank x pool
        latent = u[:, :rank]  # tasks x rank
        # the meta-features of G's tasks (a sample of the training tasks when there are many)
        x = training.prepared.scaled.loc[columns].to_numpy(float)
        self.x_mean_ = x.mean(axis=0)
        xc = x - self.x_mean_
        # ridge from meta-features to latent coordinates; its penalty by efficient leave-one-out
        # (RidgeCV), since how informative meta-features are differs between meta-datasets
        from sklearn.linear_model import RidgeCV

        ridge = RidgeCV(alphas=np.logspace(-3, 3, 13) * len(x), fit_intercept=False).fit(
            xc, latent
        )
        self.coef_ = ridge.coef_.T.reshape(x.shape[1], rank)
        self.residual_ = float(
            np.sqrt(((xc @ self.coef_ - latent) @ self.components_) ** 2).mean()
        )
        self.training_ = training
        self.pool_ = pool
        self.models_ = Models()  # trains no shared model
        return self

    def predict(self, query) -> Scores:
        prepared = self.training_.prepared
        latent = (query.scaled - self.x_mean_) @ self.coef_
        pool_pred = self.mean_ + latent @ self.components_
        d = cityblock(query.dist, prepared.dist[self.pool_])
        same = (
            query.pipelines[:, None] == prepared.runs["pipeline"].to_numpy()[self.pool_][None, :]
        )
        d = np.where(same, d, np.inf)
        nearest = d.argmin(axis=1)
        found = np.isfinite(d[np.arange(len(d)), nearest])
        predicted = np.where(found, pool_pred[nearest], np.nan)
        # break ties among candidates sharing a pool configuration by closeness to it
        rank_value = np.nan_to_num(predicted, nan=-1.0) - 1e-6 * np.where(
            found, d[np.arange(len(d)), nearest], 0
        )
        support = tuple((int(self.pool_[i]),) for i in nearest)
        std = np.full(len(query), self.residual_)
        return Scores(rank_value, predicted, std, (), support)
