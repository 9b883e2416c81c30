"""surrogate: a cross-task LightGBM surrogate of the normalised score within a task.

Inputs are the task's raw meta-features (trees do not need scaling) and the encoded configuration
(numbers raw, categories as LightGBM categoricals, the pipeline one of them); the target is the
min-max normalised score within the task. Uncertainty: the spread of an ensemble trained on
bootstrap samples of the tasks (see :mod:`metabase.surrogate`). It scores any configuration, so
it ranks fresh samples of a pipeline's space as well as configurations evaluated elsewhere.
"""

from __future__ import annotations

import hashlib

import numpy as np

from metabase.recommend.base import (
    Models,
    Scores,
    Strategy,
    lookup_scores,
    similarity,
    task_distances,
    task_rows,
)


def design_matrix(prepared) -> np.ndarray:
    """[task meta-features | configuration] for every run (cached: folds slice it)."""
    if prepared.cache.design is None:
        features = prepared.task_matrix(prepared.column("task_id"))
        prepared.cache.design = np.hstack([features, prepared.tree])
    return prepared.cache.design


class SurrogateStrategy(Strategy):
    name = "surrogate"

    def __init__(
        self,
        n_models: int = 3,
        n_estimators: int = 100,
        num_leaves: int = 15,
        max_runs_per_task: int | None = 100,
        random_state: int = 0,
        n_jobs: int = 1,
        evidence_tasks: int = 5,
    ) -> None:
        self.n_models = n_models
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.max_runs_per_task = max_runs_per_task
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.evidence_tasks = evidence_tasks

    def _rows(self, training) -> np.ndarray:
        rows = training.rows
        if not self.max_runs_per_task:
            return rows
        rng = np.random.default_rng(self.random_state)
        tasks = training.prepared.column("task_id")[rows]
        keep = []
        for t in np.unique(tasks):
            group = rows[tasks == t]
            keep.append(
                group
                if len(group) <= self.max_runs_per_task
                else rng.choice(group, self.max_runs_per_task, replace=False)
            )
        return np.sort(np.concatenate(keep))

    def fit(self, training, models: Models | None = None) -> "SurrogateStrategy":
        prepared = training.prepared
        self.training_ = training
        n_meta = len(prepared.feature_columns)
        self.categorical_ = tuple(n_meta + i for i in prepared.encoder.categorical_indices)
        if models is not None and models.surrogate is not None:  # trained on exactly this training
            self.model_ = models.surrogate
        else:
            self.model_ = self._shared_or_trained(training)
        self.models_ = Models(surrogate=self.model_)
        return self

    def _shared_or_trained(self, training):
        """The model of this training and these parameters: the one another strategy fitted on
        the same fold trained (``default`` and ``surrogate`` in a backtest), else a new one. Only
        the latest is kept, so a backtest holds one fold's model at a time.
        """
        from metabase.surrogate import LGBMSurrogate

        prepared = training.prepared
        key = (
            hashlib.blake2b(training.rows.tobytes(), digest_size=16).hexdigest(),
            self.n_models,
            self.n_estimators,
            self.num_leaves,
            self.max_runs_per_task,
            self.random_state,
            self.n_jobs,
        )
        shared = prepared.cache.surrogate
        if shared is not None and shared[0] == key:
            return shared[1]
        rows = self._rows(training)
        x = design_matrix(prepared)[rows]
        y = prepared.column("norm")[rows]
        groups = prepared.column("task_id")[rows]
        # a leaf needs support from a few tasks, not a fixed row count: small meta-datasets must
        # still be able to single out a configuration that is best on all of their tasks
        min_child = int(np.clip(len(training.task_ids) // 2, 2, 20))
        model = LGBMSurrogate(
            n_models=self.n_models,
            n_estimators=self.n_estimators,
            num_leaves=self.num_leaves,
            min_child_samples=min_child,
            categorical_features=self.categorical_,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(x, y, groups)
        prepared.cache.surrogate = (key, model)
        return model

    def _x(self, query) -> np.ndarray:
        return np.hstack([np.repeat(query.features[None, :], len(query), axis=0), query.tree])

    def rank(self, query) -> np.ndarray:
        """The predicted mean, without the evidence (the nearest runs of the similar tasks cost
        most of a prediction).
        """
        return self.model_.predict(self._x(query))

    def predict(self, query) -> Scores:
        training = self.training_
        mean, std = self.model_.predict(self._x(query), return_std=True)
        d = task_distances(training, query)
        sim = similarity(d, training)
        order = np.argsort(d, kind="stable")[: self.evidence_tasks]
        neighbours = tuple((int(training.task_ids[i]), float(sim[i])) for i in order)
        groups = task_rows(training)
        supports = [
            lookup_scores(
                training.prepared, groups[int(training.task_ids[i])], query.dist, query.pipelines
            )[1]
            for i in order
        ]
        support = (
            tuple(tuple(int(r) for r in col if r >= 0) for col in np.vstack(supports).T)
            if supports
            else None
        )
        return Scores(mean, mean, std, neighbours, support)
