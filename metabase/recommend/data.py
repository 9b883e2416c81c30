"""A meta-dataset prepared once for every strategy: encoded configurations, scaled meta-features,
normalised scores. Leave-one-task-out folds are cheap views (:meth:`Prepared.training`) that share
the encodings and a cache of costly cross-task lookups (:class:`PreparedCache`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metabase.errors import InputError
from metabase.recommend.encoding import ConfigEncoder, MetaFeatureScaler, normalise_scores


def usable_tasks(runs: pd.DataFrame) -> list[int]:
    """Tasks that can teach or be scored: at least two runs and scores that are not all equal
    (normalised regret is undefined on a constant task).
    """
    stats = runs.groupby("task_id")["score"].agg(["size", "min", "max"])
    ok = (stats["size"] >= 2) & (stats["max"] > stats["min"])
    return sorted(int(t) for t in stats.index[ok])


@dataclass
class PreparedCache:
    """What strategies compute from a prepared meta-dataset once and share across folds and
    strategies. Everything here is derived from the prepared data alone (or, for ``surrogate``,
    from one training of it), so it never changes an answer, only its cost.
    """

    pipeline_codes: tuple[np.ndarray, dict[str, int]] | None = None  # per run, and name -> code
    task_rows: dict[int, np.ndarray] | None = None  # task -> its run rows
    design: np.ndarray | None = None  # surrogate inputs of every run
    task_scales: dict[tuple, float] = field(
        default_factory=dict
    )  # training tasks -> distance scale
    pools: dict[int, tuple] = field(default_factory=dict)  # per_task -> (pool, tasks, G)
    # the surrogate model of the latest training it was fitted on, as (training key, model): the
    # strategies fitted on one backtest fold (``default`` and ``surrogate``) train it once
    surrogate: tuple[tuple, object] | None = None
    rgpe_models: dict[int, object] = field(default_factory=dict)  # training task -> its RGPE model
    # recommend's query-independent candidates, canonicalised: (fresh, seed, runnable_only) ->
    # (pipelines, configs, rows, canonical); kept in the prepared-data cache so that a warm
    # recommend needs neither the catalogue's spaces nor ConfigSpace
    candidates: dict[tuple, tuple] = field(default_factory=dict)
    # run key -> canonical config of every task's best runs, and the catalogue's pipeline names
    canonical: dict[str, tuple | None] = field(default_factory=dict)
    runnable: set[str] | None = None


@dataclass
class Prepared:
    runs: (
        pd.DataFrame
    )  # task_id, pipeline, config (text), score, norm, key; optional run_key, runtime
    configs: list  # parsed dicts, aligned with runs
    encoder: ConfigEncoder
    tree: np.ndarray  # configs for LightGBM
    dist: np.ndarray  # configs for L1 distances
    features: pd.DataFrame  # raw meta-features, index task_id (every task in runs or tasks)
    scaler: MetaFeatureScaler
    scaled: pd.DataFrame  # scaled meta-features, same index
    cache: PreparedCache = field(default_factory=PreparedCache)

    @classmethod
    def build(cls, runs: pd.DataFrame, tasks: pd.DataFrame, extra_configs=()) -> "Prepared":
        """``extra_configs`` are (pipeline, config) pairs that will be asked about later (fresh
        samples), so that the encoder knows their categories and ranges.
        """
        runs = runs[runs["score"].notna()]
        keep = usable_tasks(runs)
        if len(keep) < 2:
            raise InputError(
                f"the meta-dataset has {len(keep)} usable task(s) (a usable task has at least two "
                "runs with different scores); at least 2 are needed to learn across tasks"
            )
        runs = runs[runs["task_id"].isin(keep)].reset_index(drop=True).copy()
        configs = [json.loads(c) if isinstance(c, str) else dict(c) for c in runs["config"]]
        runs["norm"] = normalise_scores(runs["score"], runs["task_id"])
        # the config text is the identity: interchange writers emit canonical (sorted-key) JSON
        runs["key"] = runs["pipeline"].astype(str) + "|" + runs["config"].astype(str)
        extra = list(extra_configs)
        encoder = ConfigEncoder().fit(
            list(runs["pipeline"]) + [p for p, _ in extra], configs + [c for _, c in extra]
        )
        tree, dist = encoder.transform(runs["pipeline"], configs)
        features = tasks.drop(columns=[c for c in ("dataset_id",) if c in tasks]).set_index(
            "task_id"
        )
        features = features.reindex(sorted(set(features.index) | set(keep)))
        scaler = MetaFeatureScaler().fit(features)
        scaled = pd.DataFrame(scaler.transform(features), index=features.index)
        return cls(runs, configs, encoder, tree, dist, features, scaler, scaled)

    @property
    def run_pipeline_codes(self) -> np.ndarray:
        """Integer code of each run's pipeline (comparing ints, not strings, in hot loops)."""
        if self.cache.pipeline_codes is None:
            codes, names = pd.factorize(self.runs["pipeline"].astype(str))
            self.cache.pipeline_codes = (codes, {n: i for i, n in enumerate(names)})
        return self.cache.pipeline_codes[0]

    def pipeline_codes(self, pipelines) -> np.ndarray:
        """Codes of the given pipeline names (-1: a pipeline without runs)."""
        self.run_pipeline_codes
        index = self.cache.pipeline_codes[1]
        return np.array([index.get(str(p), -1) for p in pipelines])

    @property
    def task_ids(self) -> list[int]:
        return sorted(int(t) for t in self.runs["task_id"].unique())

    def training(self, exclude: int | None = None) -> "Training":
        tasks = [t for t in self.task_ids if t != exclude]
        rows = (
            np.flatnonzero(self.runs["task_id"].to_numpy() != exclude)
            if exclude is not None
            else np.arange(len(self.runs))
        )
        return Training(self, np.asarray(tasks), rows)

    def task_query(self, task_id: int) -> "Query":
        rows = np.flatnonzero(self.runs["task_id"].to_numpy() == task_id)
        return Query(
            features=self.features.loc[task_id].to_numpy(float),
            scaled=self.scaled.loc[task_id].to_numpy(float),
            pipelines=self.runs["pipeline"].to_numpy()[rows],
            tree=self.tree[rows],
            dist=self.dist[rows],
        )

    def query(self, features: dict, pipelines, configs) -> "Query":
        """A query for a task given by its meta-features (a dict of quality name to value)."""
        frame = pd.DataFrame([features]).reindex(columns=self.features.columns).astype(float)
        tree, dist = self.encoder.transform(pipelines, configs)
        return Query(
            features=frame.iloc[0].to_numpy(float),
            scaled=self.scaler.transform(frame)[0],
            pipelines=np.asarray(list(pipelines), dtype=object),
            tree=tree,
            dist=dist,
        )


@dataclass(frozen=True)
class Training:
    """The tasks and runs a strategy may learn from (all of them, or all but a held-out task)."""

    prepared: Prepared
    task_ids: np.ndarray
    rows: np.ndarray

    @property
    def runs(self) -> pd.DataFrame:
        return self.prepared.runs.iloc[self.rows]

    @property
    def features(self) -> np.ndarray:
        return self.prepared.features.loc[self.task_ids].to_numpy(float)

    @property
    def scaled(self) -> np.ndarray:
        return self.prepared.scaled.loc[self.task_ids].to_numpy(float)


@dataclass(frozen=True)
class Query:
    """The task to rank for (its meta-features) and the candidate configurations."""

    features: np.ndarray
    scaled: np.ndarray
    pipelines: np.ndarray
    tree: np.ndarray
    dist: np.ndarray

    def __len__(self) -> int:
        return len(self.tree)
