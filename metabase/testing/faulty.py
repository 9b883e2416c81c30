"""Pipelines made to fail in each way a run can, and small synthetic tasks, for executor tests.

``testing.faulty``'s ``mode`` says what its estimator's ``fit`` does:

- ``ok``: predicts class priors plus noise drawn from its seed (so seeds matter and are checked);
- ``crash``: raises ``ValueError``;
- ``sleep`` / ``sleep_child``: sleeps ``seconds`` itself, or in a child process it waits for;
- ``memory`` / ``child_memory``: holds ``megabytes`` itself, or in a child process;
- ``die``: kills its own process with SIGKILL (a lost worker); ``die_once`` does so only while
  the file ``metabase-die-once-<seconds>`` in the temporary directory does not exist yet, and
  creates it first (so the retry succeeds).

:func:`get` resolves these names and falls back on the real catalogue, so executors given
``catalogue=metabase.testing.faulty.get`` run both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

MODES = ("ok", "crash", "sleep", "sleep_child", "memory", "child_memory", "die", "die_once")


class _Faulty(BaseEstimator):
    def __init__(
        self, mode: str = "ok", seconds: int = 0, megabytes: int = 0, random_state: int = 0
    ) -> None:
        self.mode = mode
        self.seconds = seconds
        self.megabytes = megabytes
        self.random_state = random_state

    def fit(self, X, y):
        getattr(self, "_" + self.mode)()
        y = np.asarray(y)
        self._learn(y)
        self.n_rows_ = len(y)
        return self

    def _noise(self, n: int) -> np.ndarray:
        return np.random.RandomState(self.random_state + self.n_rows_).uniform(0, 0.2, size=n)

    def _ok(self) -> None:
        pass

    def _crash(self) -> None:
        raise ValueError("boom: a configuration made to crash")

    def _sleep(self) -> None:
        time.sleep(self.seconds)

    def _sleep_child(self) -> None:
        subprocess.run(
            [sys.executable, "-c", f"import time; time.sleep({self.seconds})"], check=False
        )

    def _memory(self) -> None:
        self.ballast_ = bytearray(b"\x01") * (self.megabytes * 2**20)
        time.sleep(self.seconds)

    def _child_memory(self) -> None:
        code = (
            f"import time; b = bytearray(b'\\x01') * ({self.megabytes} * 2**20); "
            f"time.sleep({self.seconds})"
        )
        subprocess.run([sys.executable, "-c", code], check=False)

    def _die(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def _die_once(self) -> None:
        import tempfile

        marker = os.path.join(tempfile.gettempdir(), f"metabase-die-once-{self.seconds}")
        if not os.path.exists(marker):
            open(marker, "w").close()
            self._die()


class FaultyClassifier(ClassifierMixin, _Faulty):
    def _learn(self, y: np.ndarray) -> None:
        self.classes_, counts = np.unique(y, return_counts=True)
        self.priors_ = counts / counts.sum()

    def predict_proba(self, X) -> np.ndarray:
        proba = np.tile(self.priors_, (len(X), 1))
        proba[:, 0] += self._noise(len(X))
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class FaultyRegressor(RegressorMixin, _Faulty):
    def _learn(self, y: np.ndarray) -> None:
        self.mean_ = float(np.mean(y.astype(np.float64)))

    def predict(self, X) -> np.ndarray:
        return self.mean_ + self._noise(len(X))


def _space():
    from ConfigSpace import Categorical, ConfigurationSpace, Integer

    space = ConfigurationSpace()
    space.add(
        [
            Categorical("mode", MODES, default="ok"),
            Integer("seconds", (0, 3600), default=0),
            Integer("megabytes", (0, 100_000), default=0),
        ]
    )
    return space


def _factory(config, schema, options):
    cls = FaultyRegressor if schema.task_type == "regression" else FaultyClassifier
    return cls(
        **{k: v for k, v in config.items() if k in ("mode", "seconds", "megabytes")},
        random_state=options.random_state,
    )


def _pipeline():
    from pipelines.base import OpenMLNames, Pipeline

    return Pipeline(
        "testing.faulty",
        task_types=("classification", "regression"),
        device="cpu",
        summary="fails on purpose (executor tests)",
        make_space=_space,
        make_estimator=_factory,
        openml=OpenMLNames(
            publish_class="metabase.testing.faulty.FaultyClassifier",
            classes=("FaultyClassifier",),
            step="faulty",
        ),
    )


_PIPELINES: dict = {}


def get(name: str):
    """``testing.faulty``, else the catalogue's pipeline of that name."""
    if name == "testing.faulty":
        if name not in _PIPELINES:
            _PIPELINES[name] = _pipeline()
        return _PIPELINES[name]
    import pipelines

    return pipelines.get(name)


def config(mode: str = "ok", seconds: int = 0, megabytes: int = 0) -> dict:
    return {"mode": mode, "seconds": seconds, "megabytes": megabytes}


def synthetic_task(
    n: int = 90,
    folds: int = 3,
    repeats: int = 1,
    task_type: str = "classification",
    task_id: int = 1,
    seed: int = 0,
):
    """A small :class:`TaskData`: two numeric columns (one with gaps), one nominal column, and
    stratified folds dealt round-robin (regression: all rows as one class).
    """
    import pandas as pd

    from metabase.records import Splits, TaskData

    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(size=n),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], size=n)),
        }
    )
    X.loc[rng.choice(n, n // 10, replace=False), "b"] = np.nan
    if task_type == "classification":
        labels = ("no", "yes", "maybe")
        codes = (X["a"].to_numpy() > 0).astype(int) + (X["c"].to_numpy() == "z").astype(int)
        y = pd.Series(pd.Categorical.from_codes(codes, categories=list(labels)), name="class")
    else:
        labels = None
        y = pd.Series(2.0 * X["a"].to_numpy() + rng.normal(scale=0.3, size=n), name="target")
    groups = np.asarray(y.astype(str)) if labels else np.zeros(n)
    indices = {}
    for r in range(repeats):
        fold_of = np.empty(n, dtype=int)
        order = np.random.RandomState(seed * 100 + r).permutation(n)
        offset = 0
        for group in sorted(set(groups.tolist())):
            members = order[groups[order] == group]
            fold_of[members] = (np.arange(len(members)) + offset) % folds
            offset += len(members)
        for f in range(folds):
            indices[(r, f, 0)] = (np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f))
    return TaskData(
        task_id=task_id,
        dataset_id=None,
        task_type=task_type,
        target=str(y.name),
        X=X,
        y=y,
        splits=Splits(repeats, folds, 1, indices),
        class_labels=labels,
    )
