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
    """The trees of a LightGBM text model (``Booster.save_model``); ValueError for a file
    without the end-of-trees line (truncated, or not such a model), never a model of fewer trees.
    """
    trees, fields, ended = [], None, False
    for line in Path(path).read_text().splitlines():
        if line.startswith("Tree="):
            fields = {}
        elif line.startswith("end of trees"):
            ended = True
            break
        elif fields is not None and "=" in line:
            key, _, value = line.partition("=")
            fields[key] = value
        elif fields is not None and not line.strip() and fields:
            trees.append(_tree(fields))
            fields = None
    if not ended:
        raise ValueError(f"{path} is not a whole LightGBM text model (no 'end of trees')")
    if fields:
        trees.append(_tree(fields))
    return trees


class _Forest:
    """The trees of one model laid end to end, so that one walk moves every (tree, row) pair a
    level down at once: a dozen rounds of numpy calls for the whole model instead of a dozen per
    tree (a warm ``recommend`` walks 300 trees). Same decisions as :class:`_Tree`.
    """

    def __init__(self, trees: list[_Tree]) -> None:
        nodes = np.cumsum([0] + [len(t.split_feature) for t in trees])
        leaves = np.cumsum([0] + [len(t.leaf_value) for t in trees])
        bounds = np.cumsum([0] + [len(t.cat_boundaries) for t in trees])
        words = np.cumsum([0] + [len(t.cat_threshold) for t in trees])

        def child(t, c):  # >= 0: inner node, < 0: ~leaf, both made global
            return np.where(c >= 0, c + nodes[t], ~(~c + leaves[t]))

        def cat(name, dtype=np.int64):
            parts = [getattr(t, name) for t in trees]
            return np.concatenate(parts).astype(dtype) if parts else np.array([], dtype)

        self.n_trees = len(trees)
        self.root = np.array(
            [nodes[i] if len(t.split_feature) else ~leaves[i] for i, t in enumerate(trees)]
        )
        self.split_feature = cat("split_feature")
        self.threshold = cat("threshold", float)
        self.decision_type = cat("decision_type")
        self.left = np.concatenate([child(i, t.left) for i, t in enumerate(trees)] or [[]])
        self.right = np.concatenate([child(i, t.right) for i, t in enumerate(trees)] or [[]])
        self.left, self.right = self.left.astype(np.int64), self.right.astype(np.int64)
        self.leaf_value = cat("leaf_value", float)
        self.cat_threshold = cat("cat_threshold")
        self.cat_boundaries = np.concatenate(
            [t.cat_boundaries + words[i] for i, t in enumerate(trees)] or [[]]
        ).astype(np.int64)
        # per node: where its tree's categorical boundaries start
        self.bound_offset = np.repeat(bounds[:-1], np.diff(nodes))

    def leaf_values(self, X: np.ndarray) -> np.ndarray:
        """The leaf value each tree gives each row: (trees, rows)."""
        n = len(X)
        node = np.repeat(self.root, n)  # tree-major: pair i is tree i // n, row i % n
        row = np.tile(np.arange(n), self.n_trees)
        active = np.flatnonzero(node >= 0)
        while len(active):
            at = node[active]
            x = X[row[active], self.split_feature[at]]
            kind = self.decision_type[at]
            categorical = (kind & _CATEGORICAL) > 0
            go_left = np.where(
                categorical,
                self._categorical(x, at, categorical),
                _Tree._numerical(self, x, at, kind),
            )
            node[active] = np.where(go_left, self.left[at], self.right[at])
            active = active[node[active] >= 0]
        return self.leaf_value[~node].reshape(self.n_trees, n)

    def _categorical(self, x, at, categorical) -> np.ndarray:
        out = np.zeros(len(x), bool)
        valid = categorical & np.isfinite(x) & (x >= 0)
        if not valid.any() or not len(self.cat_boundaries):
            return out
        value = np.where(valid, x, 0).astype(np.int64)
        idx = np.where(valid, self.threshold[at].astype(np.int64) + self.bound_offset[at], 0)
        last = len(self.cat_boundaries) - 1
        start, stop = self.cat_boundaries[idx], self.cat_boundaries[np.minimum(idx + 1, last)]
        word = start + value // 32
        inside = valid & (word < stop)
        bits = self.cat_threshold[np.where(inside, word, 0)]
        out[inside] = ((bits[inside] >> (value[inside] % 32)) & 1) > 0
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        total = 0
        for values in self.leaf_values(X):  # summed tree by tree, as LightGBM adds them
            total = total + values
        return total if self.n_trees else np.zeros(len(X))


class TextSurrogate:
    """An ensemble of saved LightGBM text models with :class:`LGBMSurrogate`'s ``predict``."""

    def __init__(self, members: list[list[_Tree]], n_features_in: int) -> None:
        self.members = members
        self.forests = [_Forest(trees) for trees in members]
        self.n_features_in_ = n_features_in

    def predict_members(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return np.vstack([forest.predict(X) for forest in self.forests])

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
