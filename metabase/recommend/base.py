"""What every strategy is (:class:`Strategy`, its contract), and the helpers strategies share.

A strategy learns from a :class:`~metabase.recommend.data.Training` (runs plus meta-features of
the tasks it may see) and scores the candidates of a :class:`~metabase.recommend.data.Query`. It
never touches the store: the facade builds both. :mod:`metabase.testing.strategy_contract` checks
the contract; every strategy in :func:`metabase.recommend.names` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from metabase.recommend.data import Query, Training

if TYPE_CHECKING:
    from metabase.surrogate import LGBMSurrogate


@dataclass(frozen=True)
class Scores:
    """Per candidate: ``rank_value`` orders them (higher first); ``predicted`` is the expected
    normalised score in the task (1 = as good as the task's best known run, 0 = its worst);
    ``std`` its uncertainty. ``neighbours`` are (task_id, similarity) of the most similar tasks;
    ``support`` per candidate the run rows (in ``Prepared.runs``) that back it.
    """

    rank_value: np.ndarray
    predicted: np.ndarray
    std: np.ndarray | None = None
    neighbours: tuple = ()
    support: tuple | None = None


@dataclass(frozen=True)
class Models:
    """Trained models a strategy uses, handed in and out explicitly: the facade passes the models
    it cached for exactly this training to :meth:`Strategy.fit`, and saves a strategy's
    ``models_`` after fitting. ``None``: no such model (to be trained, or not used).
    """

    surrogate: LGBMSurrogate | None = None
    parts: tuple | None = None  # the parts ``default`` chose on this training (its costly step)


class Strategy:
    """A recommender: learns from the runs of some tasks, then ranks candidate configurations for
    another task. Subclasses follow scikit-learn's estimator conventions.

    - ``__init__`` only stores its keyword parameters (:meth:`get_params` returns them); ``name``
      is the key under which :func:`metabase.recommend.create` builds it.
    - ``fit(training, models=None)`` learns from ``training`` alone (the held-out task is not in
      it) and returns ``self``. Learned state lives in attributes ending in ``_``, set by ``fit``
      only; ``training`` and its prepared meta-dataset are read, never changed.
    - ``models`` are trained models to use instead of training them (see :class:`Models`); a
      strategy ignores those it has no use for. After ``fit``, ``models_`` holds the models the
      strategy trained or was given, so that the facade can save them; it is ``Models()`` for a
      strategy that trains none.
    - ``predict(query)`` returns :class:`Scores` with one value per candidate of ``query``, finite
      ``rank_value`` (higher ranks first), and the same answer for the same fit and query: any
      randomness is seeded by a parameter. ``rank(query)`` equals its ``rank_value``.
    - Caching: a strategy may keep what it derives from the prepared data in the typed
      :class:`~metabase.recommend.data.PreparedCache` (``training.prepared.cache``), keyed so that
      a different training or different parameters never read another's entry. A cached value
      may only make a fit cheaper, never change its result.
    """

    name = "strategy"

    def fit(self, training: Training, models: Models | None = None) -> "Strategy":
        raise NotImplementedError

    def predict(self, query: Query) -> Scores:
        raise NotImplementedError

    def rank(self, query: Query) -> np.ndarray:
        """``predict(query).rank_value`` alone, for callers that only order candidates
        (backtests, the inner selection, sequential starts); a strategy whose evidence is costly
        overrides it to skip the evidence.
        """
        return self.predict(query).rank_value

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}


def cityblock(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L1 distances between the rows of ``a`` and of ``b`` (scipy's ``cdist(..., "cityblock")``
    without importing scipy.spatial, a third of a second of a warm ``recommend``): one pass per
    column, so memory stays one len(a) x len(b) matrix.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    out = np.zeros((len(a), len(b)))
    step = np.empty_like(out)
    if not out.size:
        return out
    # a column that holds one value in both adds exactly 0 (one-hot columns of categories that
    # neither side uses: most of them in a store of many flows); skipping it changes no bit
    low = np.minimum(a.min(axis=0), b.min(axis=0))
    high = np.maximum(a.max(axis=0), b.max(axis=0))
    for j in np.flatnonzero(~(low == high)):
        np.subtract(a[:, j, None], b[None, :, j], out=step)
        np.abs(step, out=step)
        out += step
    return out


def task_distances(training: Training, query: Query) -> np.ndarray:
    """Mean L1 distance between scaled meta-features (auto-sklearn 1.0 uses L1: one wild quality
    moves it less than a squared distance, and the robust scaling keeps units comparable).
    """
    return np.abs(training.scaled - query.scaled[None, :]).mean(axis=1)


def similarity(distances: np.ndarray, training: Training) -> np.ndarray:
    """exp(-d / typical distance between training tasks): 1 for an identical task, about 0.37
    for a typically distant one. The scale comes from the data, so no constant is tuned.
    """
    scales = training.prepared.cache.task_scales
    key = (len(training.task_ids), int(training.task_ids.sum()))
    if key not in scales:
        z = training.scaled
        if len(z) > 300:  # the median of a sample is as good a scale, and memory stays small
            z = z[np.random.default_rng(0).choice(len(z), 300, replace=False)]
        pair = np.abs(z[:, None, :] - z[None, :, :]).mean(axis=2)
        upper = pair[np.triu_indices(len(z), 1)]
        scales[key] = float(np.median(upper)) if len(upper) and np.median(upper) > 0 else 1.0
    return np.exp(-distances / scales[key])


def task_rows(training: Training) -> dict[int, np.ndarray]:
    """Run rows of each task in the whole prepared meta-dataset (cached)."""
    cache = training.prepared.cache
    if cache.task_rows is None:
        tasks = training.prepared.column("task_id")
        order = np.argsort(tasks, kind="stable")
        bounds = np.flatnonzero(np.diff(tasks[order])) + 1
        cache.task_rows = {int(tasks[g[0]]): g for g in np.split(order, bounds)}
    return cache.task_rows


def nearest_runs(
    prepared, rows: np.ndarray, dist: np.ndarray, pipelines: np.ndarray
) -> np.ndarray:
    """For each configuration (``dist`` rows), the nearest of the given runs of the same pipeline
    (an index into ``rows``), or -1 when that task has no run of the pipeline.
    """
    d = cityblock(dist, prepared.dist[rows])
    codes = pipelines if pipelines.dtype.kind in "iu" else prepared.pipeline_codes(pipelines)
    theirs = prepared.run_pipeline_codes[rows]
    if not (
        len(np.unique(codes)) == 1 and (theirs == codes[0]).all()
    ):  # one pipeline: no mask needed
        d = np.where(codes[:, None] == theirs[None, :], d, np.inf)
    best = d.argmin(axis=1)
    return np.where(np.isfinite(d[np.arange(len(d)), best]), best, -1)


def lookup_scores(prepared, rows: np.ndarray, dist: np.ndarray, pipelines: np.ndarray):
    """Normalised score in one task of the nearest evaluated configuration (NaN: no such run),
    with that run's row.
    """
    nearest = nearest_runs(prepared, rows, dist, pipelines)
    found = nearest >= 0
    run_rows = np.where(found, rows[np.maximum(nearest, 0)], -1)
    norm = prepared.column("norm")
    return np.where(found, norm[np.maximum(run_rows, 0)], np.nan), run_rows


MAX_POOL = 600
MAX_POOL_TASKS = 200


def pool_matrix(training: Training, per_task: int):
    """The candidate pool of the zero-shot strategies: the ``per_task`` best runs of every task,
    deduplicated, and G[pool, task] = normalised score on each task of its nearest evaluated
    configuration. Computed once on the whole meta-dataset; folds slice it. Returns (pool rows,
    G, the task ids of G's columns): with more than MAX_POOL_TASKS tasks, a sample of them.
    """
    prepared = training.prepared
    pools, key = prepared.cache.pools, per_task
    if key not in pools:
        runs = prepared.runs  # pandas: this runs once per store state, on a cold call
        ranked = runs.assign(_r=np.arange(len(runs))).sort_values(
            ["task_id", "norm"], ascending=[True, False]
        )
        all_tasks = prepared.task_ids
        # bounded work for stores with thousands of tasks: a pool of about MAX_POOL configurations
        # and scores on at most MAX_POOL_TASKS tasks (a deterministic sample) are plenty to order
        # a portfolio; small meta-datasets (like openml-pimp's 92 tasks) are used whole
        per_task = max(1, min(per_task, MAX_POOL // len(all_tasks)))
        if len(all_tasks) > MAX_POOL_TASKS:
            all_tasks = sorted(
                np.random.default_rng(0).choice(all_tasks, MAX_POOL_TASKS, replace=False).tolist()
            )
        top = ranked.groupby("task_id").head(per_task)  # deduplicated per fold, below
        pool = top["_r"].to_numpy()
        groups = task_rows(training)
        g = np.full((len(pool), len(all_tasks)), np.nan)
        pipes = prepared.run_pipeline_codes[pool]
        for j, t in enumerate(all_tasks):
            g[:, j], _ = lookup_scores(prepared, groups[t], prepared.dist[pool], pipes)
        pools[key] = (pool, np.asarray(all_tasks), g)
    pool, all_tasks, g = pools[key]
    task_of_pool = prepared.column("task_id")[pool]
    keep_rows = np.isin(task_of_pool, training.task_ids)
    # the same configuration may top several tasks: keep its first copy among the training tasks
    keys = prepared.column("key")[pool]
    seen: set = set()
    for i in np.flatnonzero(keep_rows):
        if keys[i] in seen:
            keep_rows[i] = False
        seen.add(keys[i])
    keep_cols = np.isin(all_tasks, training.task_ids)
    return pool[keep_rows], g[np.ix_(keep_rows, keep_cols)], all_tasks[keep_cols]


def rank_normalise(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1] (1 = best): lets strategies on different scales be blended."""
    if len(values) < 2:
        return np.ones(len(values))
    return (average_ranks(values) - 1) / (len(values) - 1)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank, NaN staying NaN: scipy.stats.rankdata's
    (and pandas' ``rank(method="average")``), without importing either (half a second of a warm
    ``recommend``).
    """
    values = np.asarray(values, float)
    known = np.flatnonzero(~np.isnan(values))
    order = known[np.argsort(values[known], kind="stable")]
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    ranks = np.full(len(values), np.nan)
    ranks[order] = np.repeat((starts + 1 + ends) / 2, ends - starts)
    return ranks
