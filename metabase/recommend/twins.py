"""``twins``: which training task is the new one's twin? A posterior over the per-task models.

Measured on openml-pimp: the single best training task's model, chosen with hindsight, ranks a
held-out task's pool almost perfectly (regret@10 0.000 on 15 tasks, the median task's model
0.068). So the search keeps a posterior over "the new task behaves like training task m" (the
members: one random forest per similar training task as in RGPE, the zero-shot ``default``
ranking, and a GP on the task's own observations) and acts on it from the second observation on.

- Likelihood: each observed pair is ordered by the twin as by the task with probability ``q``
  (a Bradley-Terry-like pair likelihood with the member's order as the truth): log-likelihood
  ``-log(q / (1 - q))`` per discordant pair, as in TST-R's Kendall-tau similarity (Wistuba et al.
  2016) but as a proper posterior instead of a kernel with a bandwidth. Pairs of one ranking are
  not independent: n points carry about n - 1 pairwise comparisons' worth of evidence, and
  ``evidence="points"`` counts the discordant pairs at (n - 1) / (n (n - 1) / 2) = 2 / n each;
  the default ``"pairs"`` counts each as independent (tied at trials 1-5, ahead later: README).
  RGPE's bootstrap argmin weights (Feurer et al. 2018) give a member all or nothing from a
  handful of points; the posterior keeps every plausible twin in play.
- ``q`` is not a constant: it is the concordance of the best twin measured on the training tasks
  (for a sample of them, the best other training task's model's share of correctly ordered pairs
  of its runs), so how much one pair says follows the meta-dataset at hand.
- Acquisition: the posterior expectation of the improvement. Under member m the truth is its
  prediction plus noise whose size makes a random pair come out in m's order with probability
  ``q`` (``member_noise``), and the incumbent is m's value at the best observation, so a pending
  candidate's gain under m is the expected improvement of that noisy value; the task GP member
  contributes its own expected improvement. Without the noise (``member_noise=False``, the gain
  ``max(0, m(x) - max m(observed))``) the zero-shot ranking expects nothing once its top is
  tried, however much weight it has. Until the first pair is seen (two observations) nothing
  tells the members apart, and the zero-shot ``default`` ranking picks.
- Measured and not taken (README): a two-step lookahead for the early picks (``lookahead``), a
  meta-feature similarity prior (``prior``), half the prior mass on the zero-shot ranking
  (``zero_shot_prior``), Thompson sampling and the posterior mean (``acquisition``), members
  without noise (``member_noise=False``: behind on the OpenML study exports).
"""

from __future__ import annotations

import numpy as np

from metabase.recommend.base import similarity, task_distances, task_rows
from metabase.recommend.gp import TaskGP, expected_improvement, median_distance, standardise
from metabase.recommend.sequential import (
    MAX_BASE_TASKS,
    SequentialStrategy,
    ZeroShot,
    _task_models,
)

CONCORDANCE_TASKS = 20  # training tasks on which the best twin's concordance is measured
CONCORDANCE_RUNS = 100  # runs of each: 4,950 pairs, plenty for a share
CONCORDANCE_MEMBERS = 30  # candidate twins of each (its most similar training tasks)


def discordance(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row of ``pred`` (members x observations), the number of pairs of observations it
    orders differently from ``y`` (ties in ``pred`` count one half; pairs tied in ``y`` say
    nothing and are skipped).
    """
    dy = np.sign(y[:, None] - y[None, :])
    dp = np.sign(pred[:, :, None] - pred[:, None, :])
    upper = np.triu(dy != 0, 1)
    wrong = (dp * dy[None] < 0) + 0.5 * (dp == 0)
    return (wrong * upper[None]).sum(axis=(1, 2))


def _concordance(models: dict, prepared, source: int, target: int) -> float:
    """Share of pairs of ``target``'s runs (a fixed sample) that ``source``'s model orders as the
    runs' scores do. Fold-independent (a task's model never sees another task), so cached.
    """
    cache = prepared.cache.twin_concordance
    key = (source, target)
    if key not in cache:
        rows = task_rows_of(prepared, target)
        y = prepared.runs["norm"].to_numpy()[rows]
        pred = models[source].predict(prepared.dist[rows])
        pairs = np.triu(np.sign(y[:, None] - y[None, :]) != 0, 1).sum()
        cache[key] = 1.0 - float(discordance(pred[None], y)[0]) / max(int(pairs), 1)
    return cache[key]


def task_rows_of(prepared, task: int) -> np.ndarray:
    rows = prepared.cache.task_rows[task]
    if len(rows) > CONCORDANCE_RUNS:
        rows = np.sort(np.random.default_rng(task).choice(rows, CONCORDANCE_RUNS, replace=False))
    return rows


def twin_concordance(training, models: dict) -> float:
    """The concordance of the best twin: for a sample of training tasks, the best of their most
    similar other training tasks' models, averaged. In (0.5, 1): below 0.5 no member is a twin.
    """
    task_rows(training)  # fills the cache read by task_rows_of
    prepared = training.prepared
    ids = np.asarray(training.task_ids, int)
    rng = np.random.default_rng(0)
    targets = rng.choice(len(ids), min(CONCORDANCE_TASKS, len(ids)), replace=False)
    scaled = np.asarray(training.scaled, float)
    best = []
    for i in targets:
        d = np.abs(scaled - scaled[i]).mean(axis=1)
        d[i] = np.inf
        near = np.argsort(d, kind="stable")[: min(CONCORDANCE_MEMBERS, len(ids) - 1)]
        best.append(max(_concordance(models, prepared, int(ids[j]), int(ids[i])) for j in near))
    return float(np.clip(np.mean(best), 0.55, 0.99)) if best else 0.75


class TwinSearch(SequentialStrategy):
    name = "twins"

    def __init__(
        self,
        zero_shot: str | None = "default",
        evidence: str = "pairs",
        acquisition: str = "ei",
        task_gp: bool = True,
        lookahead: int = 0,
        first: int = 2,
        prior: str = "uniform",
        zero_shot_prior: str = "member",
        member_noise: bool = True,
    ) -> None:
        self.member_noise = member_noise
        self.zero_shot_prior = zero_shot_prior
        self.first = first
        self.prior = prior
        self.zero_shot = zero_shot
        self.evidence = evidence
        self.acquisition = acquisition
        self.task_gp = task_gp
        self.lookahead = lookahead

    def fit(self, training) -> "TwinSearch":
        self.models_ = _task_models(training)
        self.q_ = twin_concordance(training, self.models_)
        self.zero_shot_ = ZeroShot(self.zero_shot).fit(training) if self.zero_shot else None
        return super().fit(training)

    def start(self, query, seed: int = 0) -> "TwinSearch":
        super().start(query, seed)
        training = self.training_
        distances = task_distances(training, query)
        near = np.argsort(distances, kind="stable")[:MAX_BASE_TASKS]
        base = [self.models_[int(training.task_ids[i])].predict(query.dist) for i in near]
        prior = np.ones(len(near))
        if self.prior == "similarity":
            prior = similarity(distances[near], training)
        prior = list(prior / prior.sum())
        self.first_ = None
        if self.zero_shot_ is not None:
            self.first_ = self.zero_shot_.start(query, seed).value_
            base.append(standardise(self.first_))
            share = 0.5 if self.zero_shot_prior == "half" else 1 / (len(near) + 1)
            prior = [p * (1 - share) for p in prior] + [share]
        self.base_ = np.vstack(base)
        self.log_prior_ = np.log(np.asarray(prior))
        self.scale_ = median_distance(query.dist)
        return self

    def strength(self, n: int) -> float:
        """Log-likelihood ratio of one discordant pair among ``n`` observations."""
        scale = 2.0 / n if self.evidence == "points" else 1.0
        return float(np.log(self.q_ / (1.0 - self.q_))) * scale

    def posterior(self, preds: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Posterior over the rows of ``preds`` (uniform prior) given the observations ``z``."""
        log_w = -self.strength(len(z)) * discordance(preds, z)
        log_w[: len(self.log_prior_)] += self.log_prior_
        if len(log_w) > len(self.log_prior_):  # the task GP: as much as an average member
            log_w[len(self.log_prior_) :] += self.log_prior_.mean()
        w = np.exp(log_w - log_w.max())
        return w / w.sum()

    def suggest(self, observed, y, pending) -> int:
        observed = np.asarray(observed, int)
        if len(observed) < self.first and self.first_ is not None:
            return int(pending[np.argmax(self.first_[pending])])
        z = standardise(np.asarray(y, float))
        preds = self.base_[:, observed] if len(observed) else self.base_[:, :0]
        gp = None
        if self.task_gp and len(observed) >= 3:
            gp = TaskGP(self.scale_).fit(self.query_.dist[observed], z)
            preds = np.vstack([preds, gp.loo(z)[None]])
        w = self.posterior(preds, z) if len(observed) >= 2 else np.exp(self.log_prior_)
        wb = w[: len(self.base_)]
        base = self.base_[:, pending]
        if len(observed) < self.lookahead:
            return int(pending[self.two_step(wb / wb.sum(), base, preds[: len(wb)], z)])
        if self.acquisition == "thompson":
            m = self.rng_.choice(len(w), p=w)
            if m < len(self.base_):
                return int(pending[np.argmax(base[m])])
            mu, _ = gp.predict(self.query_.dist[pending])
            return int(pending[np.argmax(mu)])
        if self.acquisition == "mean":
            score = wb @ base
        elif self.member_noise and len(observed):
            # under member m the truth is m plus noise whose size makes a random pair come out
            # in m's order with probability q (Gaussian values and noise: q = 1/2 + atan(1/s)/pi),
            # and the incumbent is m's value at the best observation: so the zero-shot ranking,
            # too, expects gains just below its top after trying its top
            noise = 1.0 / np.tan(np.pi * (self.q_ - 0.5))
            incumbent = preds[: len(self.base_), int(np.argmax(z))][:, None]
            score = wb @ expected_improvement(base, np.full(base.shape, noise), incumbent)
        else:
            incumbent = preds[: len(self.base_)].max(axis=1) if len(observed) else -np.inf
            score = wb @ np.maximum(base - np.reshape(incumbent, (-1, 1)), 0.0)
        if gp is not None:
            mu, sd = gp.predict(self.query_.dist[pending])
            extra = mu if self.acquisition == "mean" else expected_improvement(mu, sd, z.max())
            score = score + w[-1] * extra
        if score.max() <= 1e-12:  # no member expects an improvement: the posterior mean
            score = wb @ base
        top = np.flatnonzero(score >= score.max() - 1e-12)
        return int(pending[self.rng_.choice(top)])

    def two_step(self, w, base, observed, z, width: int = 40) -> int:
        """The pending candidate (index into ``base``'s columns) that maximises the posterior
        expectation of the best value after it and one more pick chosen on what it shows: a pick
        whose outcome splits the plausible twins is worth more than its own value suggests.
        Under member m the truth is its prediction; the outcome of trying x is where x falls
        among the observations, with each pair ordered as m predicts with probability q.
        """
        incumbent = observed.max(axis=1)
        mean = w @ base
        gain = w @ np.maximum(base - incumbent[:, None], 0.0)
        shortlist = np.unique(
            np.concatenate([np.argsort(-gain)[:width], np.argsort(-mean)[:width]])
        )
        order = np.argsort(z, kind="stable")
        below = observed[:, order]  # members x observations, sorted by the observed score
        n = len(z)
        step = self.strength(n + 1)
        follow = base[:, shortlist]
        best, choice = (-np.inf, -np.inf), shortlist[0]
        for i, x in enumerate(shortlist):
            above = below < base[:, x, None]  # m's view: x beats each observation
            # outcome r: x beats the r lowest observations; d[m, r]: pairs m gets wrong
            truth = np.arange(n)[None, :] < np.arange(n + 1)[:, None]  # r x observations
            wrong = (above[:, None, :] != truth[None]).sum(axis=2)
            like = np.exp(-step * (wrong - wrong.min(axis=1, keepdims=True)))
            like = like / like.sum(axis=1, keepdims=True)  # P(r | m)
            value = np.maximum(incumbent, base[:, x])[:, None]
            after = np.maximum(value, follow)  # members x follow-ups
            after[:, i] = value[:, 0]  # x itself is no follow-up
            total = ((w[:, None] * like).T @ after).max(axis=1).sum()
            # ties (two good picks in either order): the better one now
            key = (round(float(total), 9), float(w @ value[:, 0]))
            if key > best:
                best, choice = key, x
        return int(choice)
