"""A cross-task LightGBM surrogate with ensemble uncertainty.

Uncertainty comes from an **ensemble**: each member is trained on a bootstrap sample of the
*groups* (tasks), so the spread of the members says how much the prediction depends on which
tasks happened to be in the meta-dataset, the uncertainty that matters for a new task. (Quantile
models would instead describe the noise within tasks.) With ``n_models=1`` there is no spread.

Persistence is LightGBM's own text format plus a JSON file of metadata, never a pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

META_FILE = "surrogate.json"


def _lightgbm():
    try:
        import lightgbm
    except ImportError as exc:  # pragma: no cover - lightgbm is a core dependency
        raise ImportError("the surrogate needs lightgbm: pip install lightgbm") from exc
    return lightgbm


class LGBMSurrogate(RegressorMixin, BaseEstimator):
    def __init__(
        self,
        n_models: int = 5,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample: float = 0.8,
        categorical_features: tuple = (),
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_models = n_models
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample = colsample
        self.categorical_features = categorical_features
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _params(self, seed: int) -> dict:
        return {
            "objective": "regression",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample,
            "seed": seed,
            "num_threads": self.n_jobs,
            "verbose": -1,
            "deterministic": True,
            "force_row_wise": True,
            "max_cat_to_onehot": 8,
        }

    def fit(self, X, y, groups=None) -> "LGBMSurrogate":
        lgb = _lightgbm()
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        groups = np.zeros(len(y)) if groups is None else np.asarray(groups)
        rng = np.random.default_rng(self.random_state)
        unique = np.unique(groups)
        self.boosters_ = []
        for member in range(self.n_models):
            if self.n_models > 1 and len(unique) > 1:
                drawn, counts = np.unique(
                    rng.choice(unique, len(unique), replace=True), return_counts=True
                )
                weight = np.zeros(len(y))
                weight[np.isin(groups, drawn)] = counts[
                    np.searchsorted(drawn, groups[np.isin(groups, drawn)])
                ]
                rows = np.flatnonzero(weight > 0)
                data = lgb.Dataset(
                    X[rows],
                    y[rows],
                    weight=weight[rows],
                    categorical_feature=list(self.categorical_features) or "auto",
                    free_raw_data=True,
                )
            else:
                data = lgb.Dataset(
                    X, y, categorical_feature=list(self.categorical_features) or "auto"
                )
            booster = lgb.train(
                self._params(self.random_state + member), data, num_boost_round=self.n_estimators
            )
            self.boosters_.append(booster)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_members(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return np.vstack([b.predict(X, num_threads=self.n_jobs) for b in self.boosters_])

    def predict(self, X, return_std: bool = False):
        members = self.predict_members(X)
        mean = members.mean(axis=0)
        if return_std:
            return mean, members.std(axis=0)
        return mean

    def save(self, directory: str | Path, metadata: dict | None = None) -> Path:
        """Write ``model_<i>.txt`` (LightGBM text) and ``surrogate.json`` (params + metadata)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for i, booster in enumerate(self.boosters_):
            booster.save_model(str(directory / f"model_{i}.txt"))
        params = self.get_params()
        params["categorical_features"] = list(params["categorical_features"])
        meta = {
            "params": params,
            "n_features_in": self.n_features_in_,
            "n_models": len(self.boosters_),
            "metadata": metadata or {},
        }
        tmp = directory / (META_FILE + ".tmp")
        tmp.write_text(json.dumps(meta, indent=1, default=str))
        tmp.replace(directory / META_FILE)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> tuple["LGBMSurrogate", dict]:
        lgb = _lightgbm()
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text())
        params = dict(meta["params"])
        params["categorical_features"] = tuple(params["categorical_features"])
        model = cls(**params)
        model.boosters_ = [
            lgb.Booster(model_file=str(directory / f"model_{i}.txt"))
            for i in range(meta["n_models"])
        ]
        model.n_features_in_ = meta["n_features_in"]
        return model, meta["metadata"]
