"""Predict with saved LightGBM text models in numpy alone, without importing lightgbm.

``import lightgbm`` imports scikit-learn when it is installed, and scikit-learn imports
``scipy.stats``: about a second before a warm ``recommend`` can predict anything. A saved model is
a plain list of trees, so reading it and walking the trees for a few hundred candidates costs
milliseconds. The decisions follow LightGBM's own ``Tree::NumericalDecision`` and
``Tree::CategoricalDecision`` (include/LightGBM/tree.h); a test checks the predictions against
``lightgbm.Booster.predict`` on models with categorical splits and missing values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_CATEGORICAL, _DEFAULT_LEFT = 1, 2
_MISSING_ZERO, _MISSING_NAN = 1, 2
_ZERO = 1e-35  # LightGBM's kZeroThreshold


@dataclass(frozen=True)
class _Tree:
    split_feature: np.ndarray
    threshold: np.ndarray
    decision_type: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray
    cat_boundaries: np.ndarray
    cat_threshold: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        if not len(self.split_feature):  # a single leaf
            return np.full(len(X), self.leaf_value[0])
        node = np.zeros(len(X), dtype=np.int64)  # >= 0: an inner node; < 0: ~leaf
        active = np.arange(len(X))
        while len(active):
            n = node[active]
            x = X[active, self.split_feature[n]]
            kind = self.decision_type[n]
            categorical = (kind & _CATEGORICAL) > 0
            go_left = np.where(
                categorical, self._categorical(x, n, categorical), self._numerical(x, n, kind)
            )
            node[active] = np.where(go_left, self.left[n], self.right[n])
            active = active[node[active] >= 0]
        return self.leaf_value[~node]

    def _numerical(self, x, n, kind) -> np.ndarray:
        missing = (kind >> 2) & 3
        x = np.where(np.isnan(x) & (missing != _MISSING_NAN), 0.0, x)
        default = ((missing == _MISSING_ZERO) & (np.abs(x) <= _ZERO)) | (
            (missing == _MISSING_NAN) & np.isnan(x)
        )
        with np.errstate(invalid="ignore"):
            return np.where(default, (kind & _DEFAULT_LEFT) > 0, x <= self.threshold[n])

    def _categorical(self, x, n, categorical) -> np.ndarray:
        out = np.zeros(len(x), bool)
        valid = categorical & np.isfinite(x) & (x >= 0)
        if not valid.any() or not len(self.cat_boundaries):
            return out
        value = np.where(valid, x, 0).astype(np.int64)
        idx = np.where(valid, self.threshold[n], 0).astype(np.int64)
        last = len(self.cat_boundaries) - 1
        start, stop = self.cat_boundaries[idx], self.cat_boundaries[np.minimum(idx + 1, last)]
        word = start + value // 32
        inside = valid & (word < stop)
        bits = self.cat_threshold[np.where(inside, word, 0)]
        out[inside] = ((bits[inside] >> (value[inside] % 32)) & 1) > 0
        return out


def _numbers(text: str, dtype) -> np.ndarray:
    return np.array(text.split(), dtype=dtype) if text.strip() else np.array([], dtype=dtype)


def _tree(fields: dict) -> _Tree:
    return _Tree(
        split_feature=_numbers(fields.get("split_feature", ""), np.int64),
        threshold=_numbers(fields.get("threshold", ""), float),
        decision_type=_numbers(fields.get("decision_type", ""), np.int64),
        left=_numbers(fields.get("left_child", ""), np.int64),
        right=_numbers(fields.get("right_child", ""), np.int64),
        leaf_value=_numbers(fields["leaf_value"], float),
        cat_boundaries=_numbers(fields.get("cat_boundaries", ""), np.int64),
        cat_threshold=_numbers(fields.get("cat_threshold", ""), np.uint32).astype(np.int64),
    )


def read_trees(path: Path) -> list[_Tree]:
    """The trees of a LightGBM text model (``Booster.save_model``)."""
    trees, fields = [], None
    for line in Path(path).read_text().splitlines():
        if line.startswith("Tree="):
            fields = {}
        elif line.startswith("end of trees"):
            break
        elif fields is not None and "=" in line:
            key, _, value = line.partition("=")
            fields[key] = value
        elif fields is not None and not line.strip() and fields:
            trees.append(_tree(fields))
            fields = None
    if fields:
        trees.append(_tree(fields))
    return trees


class TextSurrogate:
    """An ensemble of saved LightGBM text models with :class:`LGBMSurrogate`'s ``predict``."""

    def __init__(self, members: list[list[_Tree]], n_features_in: int) -> None:
        self.members = members
        self.n_features_in_ = n_features_in

    def predict_members(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return np.vstack([sum(t.predict(X) for t in trees) for trees in self.members])

    def predict(self, X, return_std: bool = False):
        members = self.predict_members(X)
        mean = members.mean(axis=0)
        return (mean, members.std(axis=0)) if return_std else mean


def load_text_surrogate(directory: str | Path, meta_file: str = "surrogate.json"):
    """(predictor, metadata) of a surrogate saved by :meth:`LGBMSurrogate.save`."""
    directory = Path(directory)
    meta = json.loads((directory / meta_file).read_text())
    members = [read_trees(directory / f"model_{i}.txt") for i in range(meta["n_models"])]
    return TextSurrogate(members, meta["n_features_in"]), meta["metadata"]
