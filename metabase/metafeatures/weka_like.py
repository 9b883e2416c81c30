"""Small scikit-learn-style stand-ins for Weka learners that OpenML's landmarkers use.

Only Weka's NaiveBayes is re-implemented here (its estimator is simple enough to follow closely:
Laplace-corrected class and nominal counts, a normal density per class for numeric attributes,
missing values ignored). The other landmarkers use scikit-learn trees and kNN configured to
approximate the Weka learner; ``landmarkers.py`` documents each approximation.
"""

from __future__ import annotations

import numpy as np


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded stratified k-fold: shuffle, sort by class, deal the instances round-robin (as Weka's
    ``Instances.stratify`` does), so every fold gets each class in proportion.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(y.size)
    order = order[np.argsort(y[order], kind="stable")]
    fold_of = np.empty(y.size, dtype=np.int64)
    fold_of[order] = np.arange(y.size) % k
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


class MixedNaiveBayes:
    """Weka's NaiveBayes: Laplace-corrected class and nominal counts, and for numeric attributes
    Weka's ``NormalEstimator``: values rounded to a precision (the mean gap between distinct
    training values), a per-class normal with population std floored at precision / 6, and the
    *probability of the rounding interval* (not the density) with each factor floored at 1e-75.
    Missing values are ignored, in training and prediction alike.
    """

    def __init__(self, nominal_levels: list[int]) -> None:
        self.nominal_levels = nominal_levels

    def fit(
        self, num: np.ndarray, nom: np.ndarray, y: np.ndarray, n_classes: int
    ) -> "MixedNaiveBayes":
        self.n_classes_ = n_classes
        counts = np.bincount(y, minlength=n_classes).astype(float)
        self.log_prior_ = np.log((counts + 1.0) / (counts.sum() + n_classes))
        p = num.shape[1]
        self.precision_ = np.full(p, 0.01)
        self.means_ = np.zeros((n_classes, p))
        self.stds_ = np.ones((n_classes, p))
        for j in range(p):
            col = num[:, j]
            ok = ~np.isnan(col)
            distinct = np.unique(col[ok])
            if distinct.size > 1:
                self.precision_[j] = (distinct[-1] - distinct[0]) / (distinct.size - 1)
            prec = self.precision_[j]
            rounded = np.rint(col[ok] / prec) * prec
            cls = y[ok]
            for c in range(n_classes):
                vals = rounded[cls == c]
                mean = vals.mean() if vals.size else 0.0
                std = (
                    np.sqrt(abs((vals**2).sum() - mean * vals.sum()) / vals.size)
                    if vals.size
                    else 0.0
                )
                self.means_[c, j] = mean
                self.stds_[c, j] = max(prec / 6.0, std) if std > 1e-10 else prec / 6.0
        self.log_cond_ = []
        for j, levels in enumerate(self.nominal_levels):
            col = nom[:, j]
            ok = col >= 0
            table = np.ones((n_classes, max(levels, 1)))
            np.add.at(table, (y[ok], col[ok]), 1.0)
            self.log_cond_.append(np.log(table / table.sum(axis=1, keepdims=True)))
        return self

    def predict_proba(self, num: np.ndarray, nom: np.ndarray) -> np.ndarray:
        from scipy.special import ndtr

        logp = np.tile(self.log_prior_, (num.shape[0], 1))
        for j in range(num.shape[1]):
            x = num[:, j]
            ok = ~np.isnan(x)
            prec = self.precision_[j]
            xr = np.rint(x[ok] / prec) * prec
            upper = ndtr((xr[:, None] - self.means_[:, j] + prec / 2) / self.stds_[:, j])
            lower = ndtr((xr[:, None] - self.means_[:, j] - prec / 2) / self.stds_[:, j])
            logp[ok] += np.log(np.maximum(upper - lower, 1e-75))
        for j, table in enumerate(self.log_cond_):
            x = nom[:, j]
            ok = x >= 0
            logp[ok] += table[:, x[ok]].T
        logp -= logp.max(axis=1, keepdims=True)
        prob = np.exp(logp)
        return prob / prob.sum(axis=1, keepdims=True)


class ReducedErrorPrunedTree:
    """Weka REPTree's classification recipe: grow an entropy tree (min leaf 2) on 2/3 of the data,
    then prune it bottom-up on the held-out 1/3 wherever a leaf makes no more errors than the
    subtree below it.
    """

    def __init__(self, seed: int = 0, max_depth: int | None = None) -> None:
        self.seed = seed
        self.max_depth = max_depth

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> "ReducedErrorPrunedTree":
        from sklearn.tree import DecisionTreeClassifier

        self.n_classes_ = n_classes
        grow, prune = stratified_folds(y, 3, self.seed)[0]
        self.tree_ = DecisionTreeClassifier(
            criterion="entropy",
            min_samples_leaf=2,
            max_depth=self.max_depth,
            random_state=self.seed,
        ).fit(X[grow], y[grow])
        t = self.tree_.tree_
        dist = np.zeros((t.node_count, n_classes))
        dist[:, self.tree_.classes_] = t.value[:, 0, :]
        self.dist_ = dist / np.maximum(dist.sum(axis=1, keepdims=True), 1e-12)
        # Errors each node would make on the pruning set if it were a leaf.
        path = self.tree_.decision_path(X[prune])
        leaf_err = np.zeros(t.node_count)
        pred = self.dist_.argmax(axis=1)
        rows, nodes = path.nonzero()
        np.add.at(leaf_err, nodes, (pred[nodes] != y[prune][rows]).astype(float))
        self.pruned_ = prune_bottom_up(self.tree_, leaf_err)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.dist_[_answer_nodes(self.tree_, self.pruned_)[self.tree_.apply(X)]]


def _levels(tree) -> tuple[list[np.ndarray], np.ndarray]:
    """Node ids level by level from the root, and each node's parent (-1 for the root)."""
    t = tree.tree_
    left, right = t.children_left, t.children_right
    parent = np.full(t.node_count, -1)
    levels = [np.array([0])]
    while True:
        frontier = levels[-1]
        inner = frontier[left[frontier] != -1]
        if inner.size == 0:
            return levels, parent
        parent[left[inner]] = inner
        parent[right[inner]] = inner
        levels.append(np.concatenate([left[inner], right[inner]]))


def prune_bottom_up(tree, as_leaf: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Collapse every node whose error as a leaf is at most its subtree's error (+ ``margin``),
    deepest first; returns the pruned flags (a collapsed node's descendants no longer matter).
    """
    t = tree.tree_
    levels, _ = _levels(tree)
    subtree = as_leaf.astype(float).copy()
    pruned = np.zeros(t.node_count, dtype=bool)
    for level in reversed(levels):
        inner = level[t.children_left[level] != -1]
        below = subtree[t.children_left[inner]] + subtree[t.children_right[inner]]
        collapse = as_leaf[inner] <= below + margin
        pruned[inner[collapse]] = True
        subtree[inner] = np.where(collapse, as_leaf[inner], below)
    return pruned


def _answer_nodes(tree, pruned: np.ndarray) -> np.ndarray:
    """For each node, the node that answers for it: its topmost pruned ancestor, or itself."""
    levels, parent = _levels(tree)
    collapsed_at = np.full(tree.tree_.node_count, -1)
    collapsed_at[0] = 0 if pruned[0] else -1
    for level in levels[1:]:
        above = collapsed_at[parent[level]]
        collapsed_at[level] = np.where(above >= 0, above, np.where(pruned[level], level, -1))
    return np.where(collapsed_at >= 0, collapsed_at, np.arange(tree.tree_.node_count))


def added_errors(n: np.ndarray, e: np.ndarray, cf: float) -> np.ndarray:
    """Weka's ``Stats.addErrs`` (vectorised): the extra errors C4.5 adds at confidence ``cf``,
    from the upper limit of the binomial confidence interval.
    """
    from statistics import NormalDist

    n = np.asarray(n, dtype=float)
    e = np.asarray(e, dtype=float)
    safe_n = np.maximum(n, 1e-12)
    z = NormalDist().inv_cdf(1 - cf)
    with np.errstate(all="ignore"):
        base = safe_n * (1 - cf ** (1 / safe_n))
        f1 = 1.5 / safe_n
        r1 = (
            f1
            + z * z / (2 * safe_n)
            + z * np.sqrt(f1 / safe_n - f1 * f1 / safe_n + z * z / (4 * safe_n**2))
        ) / (1 + z * z / safe_n)
        one = np.where(
            1.5 >= safe_n, np.maximum(safe_n - 1, 0.0), r1 * safe_n - 1
        )  # addErrs(n, 1)
        f = (e + 0.5) / safe_n
        r = (
            f
            + z * z / (2 * safe_n)
            + z * np.sqrt(np.maximum(f / safe_n - f * f / safe_n, 0) + z * z / (4 * safe_n**2))
        ) / (1 + z * z / safe_n)
        general = r * safe_n - e
    out = np.where(e + 0.5 >= n, np.maximum(n - e, 0.0), general)
    out = np.where(e < 1, base + e * (one - base), out)
    return np.where(n > 0, out, 0.0)


def pessimistic_prune(tree, counts: np.ndarray, cf: float) -> np.ndarray:
    """C4.5's subtree replacement at confidence ``cf`` on a fitted scikit-learn tree.

    ``counts`` holds the training instances per class at each node. Returns the answering node of
    every node (see :func:`_answer_nodes`). Subtree raising is not done.
    """
    n = counts.sum(axis=1)
    e = n - counts.max(axis=1)
    pruned = prune_bottom_up(tree, e + added_errors(n, e, cf), margin=0.1)
    return _answer_nodes(tree, pruned)


def _conditional_entropy(rows: np.ndarray) -> np.ndarray:
    """Weka's ``ContingencyTables.entropyConditionedOnRows`` for a stack of tables (..., rows,
    classes).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        row_tot = rows.sum(axis=-1)
        plogp = np.where(rows > 0, rows * np.log2(np.where(rows > 0, rows, 1.0)), 0.0).sum(axis=-1)
        rlogr = np.where(row_tot > 0, row_tot * np.log2(np.where(row_tot > 0, row_tot, 1.0)), 0.0)
        total = row_tot.sum(axis=-1)
        return np.where(total > 0, -(plogp - rlogr).sum(axis=-1) / np.maximum(total, 1e-300), 0.0)


class WekaDecisionStump:
    """Weka's DecisionStump for a nominal class: one attribute, three branches (``= v`` / ``!= v``
    for a nominal attribute, ``<= t`` / ``> t`` for a numeric one, and a branch for missing
    values), chosen by the lowest class entropy conditioned on the branches; ties keep the first
    attribute. Each branch predicts its class distribution; an empty missing branch predicts the
    distribution of all training instances.
    """

    def fit(
        self, num: np.ndarray, nom: np.ndarray, levels: list[int], y: np.ndarray, n_classes: int
    ):
        onehot = np.eye(n_classes)[y]
        best = (np.inf, None)
        for j in range(num.shape[1]):
            x = num[:, j]
            miss = np.isnan(x)
            missing = onehot[miss].sum(axis=0)
            order = np.argsort(x[~miss], kind="stable")
            xs, cum = x[~miss][order], np.cumsum(onehot[~miss][order], axis=0)
            cut = np.flatnonzero(xs[1:] > xs[:-1])  # split after position i
            if cut.size == 0:
                continue
            left = cum[cut]
            right = cum[-1] - left
            tables = np.stack([left, right, np.broadcast_to(missing, left.shape)], axis=1)
            scores = _conditional_entropy(tables)
            i = int(np.argmin(scores))
            if scores[i] < best[0]:
                best = (scores[i], ("numeric", j, (xs[cut[i]] + xs[cut[i] + 1]) / 2, tables[i]))
        for j, k in enumerate(levels):
            x = nom[:, j]
            miss = x < 0
            missing = onehot[miss].sum(axis=0)
            per_value = np.zeros((max(k, 1), n_classes))
            np.add.at(per_value, x[~miss], onehot[~miss])
            rest = per_value.sum(axis=0) - per_value
            tables = np.stack([per_value, rest, np.broadcast_to(missing, per_value.shape)], axis=1)
            scores = _conditional_entropy(tables)
            i = int(np.argmin(scores))
            if scores[i] < best[0]:
                best = (scores[i], ("nominal", j, i, tables[i]))
        prior = onehot.sum(axis=0)
        if best[1] is None:  # nothing to split on: predict the class distribution
            self.split_, self.dist_ = None, np.tile(prior / prior.sum(), (3, 1))
            return self
        kind, j, at, table = best[1]
        table = table.copy()
        if table[2].sum() == 0:
            table[2] = prior
        self.split_ = (kind, j, at)
        self.dist_ = table / np.maximum(table.sum(axis=1, keepdims=True), 1e-300)
        return self

    def predict_proba(self, num: np.ndarray, nom: np.ndarray) -> np.ndarray:
        if self.split_ is None:
            return np.tile(self.dist_[0], (num.shape[0], 1))
        kind, j, at = self.split_
        if kind == "numeric":
            x = num[:, j]
            branch = np.where(np.isnan(x), 2, np.where(x <= at, 0, 1))
        else:
            x = nom[:, j]
            branch = np.where(x < 0, 2, np.where(x == at, 0, 1))
        return self.dist_[branch]
