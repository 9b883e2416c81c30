"""The sequential backtest (HPO-B's discrete ``observe_and_suggest`` protocol).

For each held-out task every strategy is fitted on all the other tasks, then proposes the task's
evaluated configurations one at a time, seeing each one's score before the next. Regret after t
trials is 1 - the best min-max normalised score so far (normalised over the task's whole pool);
once the pool's best is found it is 0 for the rest, so the loop stops there.

Two starts: ``zero-shot`` (trial 1 is the strategy's own) and ``random5`` (5 random initial
configurations per seed, the same for every strategy, then the strategy). ``random`` is also run
(for medians and ranks), but its mean curve is the exact expectation of random search, which is
the same for both starts (a random initial design followed by random picks is random search).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from metabase.evaluate.regret import expected_random_regret, regret_curve

RANDOM = "random"
STARTS = ("zero-shot", "random5")
KS = (1, 3, 5, 10, 25, 50, 100)
RANK_KS = (5, 10, 25, 100)
INITIAL = 5


@dataclass(frozen=True)
class SequentialResult:
    tasks: tuple
    start: str
    seeds: int
    budget: int
    curves: dict  # strategy -> tasks x seeds x budget regret
    exact_random: np.ndarray  # tasks x budget: the expectation of random search
    seconds: dict = field(default_factory=dict)  # strategy -> (fit s, suggest s, proposals)

    def task_curves(self, name: str) -> np.ndarray:
        """Tasks x budget: each task's regret, averaged over seeds (random: its expectation)."""
        if name == RANDOM:
            return self.exact_random
        return self.curves[name].mean(axis=1)

    def mean_curve(self, name: str) -> np.ndarray:
        return self.task_curves(name).mean(axis=0)

    def sem_curve(self, name: str) -> np.ndarray:
        """Standard error over tasks (seeds of one task are not independent draws of the mean)."""
        per_task = self.task_curves(name)
        if len(per_task) < 2:
            return np.zeros(per_task.shape[1])
        return per_task.std(axis=0, ddof=1) / np.sqrt(len(per_task))

    def trials_to_reach(self, name: str, target: float) -> int | None:
        hits = np.flatnonzero(self.mean_curve(name) <= target + 1e-12)
        return int(hits[0] + 1) if len(hits) else None

    def ranks(self, k: int) -> dict:
        """Mean rank of each strategy's regret@k over (task, seed) runs (1 = best; ties share)."""
        from scipy.stats import rankdata

        names = list(self.curves)
        at = np.stack(
            [self.curves[n][:, :, k - 1] for n in names], axis=-1
        )  # tasks x seeds x strategies
        ranked = rankdata(np.round(at, 12), axis=-1)
        return {n: float(ranked[..., i].mean()) for i, n in enumerate(names)}

    def summary(self, ks: Iterable[int] = KS) -> dict:
        ks = [k for k in ks if k <= self.budget]
        reference = self.budget if self.budget < 100 else 100
        target = float(self.mean_curve(RANDOM)[reference - 1]) if RANDOM in self.curves else None
        ranks = {k: self.ranks(k) for k in RANK_KS if k <= self.budget}
        out = {}
        for name in self.curves:
            mean, sem = self.mean_curve(name), self.sem_curve(name)
            runs = self.curves[name]
            row = {}
            for k in ks:
                row[f"regret@{k}"] = round(float(mean[k - 1]), 4)
                row[f"sem@{k}"] = round(float(sem[k - 1]), 4)
                row[f"median@{k}"] = round(float(np.median(runs[:, :, k - 1])), 4)
            row["found_best"] = round(float((runs[:, :, -1] <= 1e-12).mean()), 3)
            for k, by_name in ranks.items():
                row[f"rank@{k}"] = round(by_name[name], 2)
            if target is not None:
                row[f"trials_to_random@{reference}"] = self.trials_to_reach(name, target)
            fit, suggest, proposals = self.seconds.get(name, (0.0, 0.0, 0))
            row["fit_s"] = round(fit, 2)
            row["ms_per_proposal"] = round(1000 * suggest / proposals, 2) if proposals else None
            out[name] = row
        return {
            "tasks": len(self.tasks),
            "protocol": "sequential",
            "start": self.start,
            "seeds": self.seeds,
            "budget": self.budget,
            "strategies": out,
        }


def initial_design(n: int, task: int, seed: int) -> np.ndarray:
    """The ``random5`` start: the same configurations for every strategy of a (task, seed)."""
    return np.random.default_rng([seed, task]).choice(n, min(INITIAL, n), replace=False)


def run_one(strategy, query, scores: np.ndarray, budget: int, initial: np.ndarray, seed: int):
    """One search on one task: (regret after 1..budget trials, proposals made, their seconds)."""
    n = len(scores)
    strategy.start(query, seed=seed)
    tried = list(initial)
    best = scores.max()
    remaining = np.ones(n, bool)
    remaining[tried] = False
    proposals, seconds = 0, 0.0
    while len(tried) < min(budget, n) and not (scores[tried] >= best).any():
        pending = np.flatnonzero(remaining)
        t0 = time.perf_counter()
        pick = int(strategy.suggest(np.asarray(tried, int), scores[tried], pending))
        seconds += time.perf_counter() - t0
        proposals += 1
        if not remaining[pick]:
            raise ValueError(f"{strategy.name} proposed candidate {pick}, which is not pending")
        remaining[pick] = False
        tried.append(pick)
    head = regret_curve(scores, np.asarray(tried, int))[:budget]
    curve = np.full(budget, head[-1])  # stopped early: the pool's best is found (regret 0)
    curve[: len(head)] = head
    return curve, proposals, seconds


def run_sequential(
    prepared,
    factories: dict[str, Callable],
    tasks: Iterable[int] | None = None,
    seeds: int = 5,
    start: str = "zero-shot",
    budget: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> SequentialResult:
    """``factories``: name -> callable returning an unfitted sequential strategy."""
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}")
    from threadpoolctl import threadpool_limits

    held_out = list(prepared.task_ids if tasks is None else tasks)
    scores_by_task = {t: g.to_numpy(float) for t, g in prepared.runs.groupby("task_id")["score"]}
    names = list(factories) if RANDOM in factories else [RANDOM, *factories]
    curves = {n: np.zeros((len(held_out), seeds, budget)) for n in names}
    exact = np.zeros((len(held_out), budget))
    seconds = {n: [0.0, 0.0, 0] for n in names}
    with threadpool_limits(1):  # small matrices: BLAS threads only fight over shared cores
        for i, task in enumerate(held_out):
            scores = scores_by_task[task]
            curve = expected_random_regret(scores)[:budget]
            exact[i, : len(curve)] = curve  # past the pool's size: 0, the pool is exhausted
            training = prepared.training(exclude=task)
            query = prepared.task_query(task)
            for name in names:
                t0 = time.perf_counter()
                strategy = _factory(factories, name)().fit(training)
                seconds[name][0] += time.perf_counter() - t0
                for seed in range(seeds):
                    initial = (
                        initial_design(len(scores), task, seed)
                        if start == "random5"
                        else np.array([], int)
                    )
                    curves[name][i, seed], made, spent = run_one(
                        strategy, query, scores, budget, initial, seed
                    )
                    seconds[name][1] += spent
                    seconds[name][2] += made
            if progress:
                progress(i + 1, len(held_out))
    return SequentialResult(
        tuple(held_out),
        start,
        seeds,
        budget,
        curves,
        exact,
        {n: tuple(v) for n, v in seconds.items()},
    )


def _factory(factories, name):
    if name in factories:
        return factories[name]
    from metabase.recommend.sequential import RandomSearch

    return RandomSearch
