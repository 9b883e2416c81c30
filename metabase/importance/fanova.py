"""Functional ANOVA over a random forest, computed exactly over the trees' partitions.

The method of Hutter, Hoos and Leyton-Brown (ICML 2014) as the ``fanova`` package implements it
and van Rijn and Hutter (KDD 2018) used it: fit a random forest to (configuration, score) pairs,
then, per tree, decompose the variance of the tree's prediction over the space (the uniform
measure within the bounds) into the variance explained by each hyperparameter alone and by each
pair. A fraction is a component's variance over the tree's total variance; the reported importance
is the mean of the fractions over the trees whose total variance is not zero (as ``fanova`` does).

Why it is exact: a regression tree is constant on each leaf, and a leaf is an axis-aligned box
within the bounds. Along one dimension, the tree's split points on that dimension cut the bounds
into cells, and every leaf's interval is a union of whole cells. The marginal prediction of a cell
(the mean over all other dimensions) is the sum over the leaves that contain the cell of the leaf's
value times the share of the remaining volume the leaf covers: one product of a (cells x leaves)
indicator matrix with a vector. For a pair it is the (cells x cells) matrix
``I_d @ diag(g) @ I_e.T``. The variances of these step functions, weighted by the cells' widths,
are the ``V_U`` of the paper, with no sampling anywhere. Optuna's ``FanovaImportanceEvaluator``
computes the same single-dimension quantity by walking each tree once per cell in Python (and
one-hot encodes categories, which puts weight on combinations no configuration can have); the
matrix form here gives the same numbers far faster, and pairs as cheaply.

Categorical dimensions are integer codes with bounds [-0.5, k - 0.5], so that every choice has
width 1: the uniform measure over the choices, as in ``fanova``.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager

import numpy as np

N_TREES = 16  # fanova's default, and what the KDD 2018 analysis used


@contextmanager
def one_blas_thread():
    """BLAS on one thread: these products are small, and a second thread only waits for the first
    (25x slower on a busy two-core machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, BLAS keeps its own setting
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


class _Tree:
    """One fitted tree as leaf boxes: ``lo``/``hi`` (leaves x dims), ``value`` (leaves,),
    ``share`` (leaves x dims: each box's width over the bounds' width), ``weight`` (each box's
    share of the volume), ``cuts`` per dim (the sorted distinct split points on that dim).
    """

    def __init__(self, tree, lower: np.ndarray, upper: np.ndarray) -> None:
        self.lower, self.upper = lower, upper
        leaves, lo, hi = _leaf_boxes(tree, lower, upper)
        self.lo, self.hi = lo, hi
        self.value = tree.value[leaves].reshape(len(leaves), -1)[:, 0].astype(float)
        self.share = (hi - lo) / (upper - lower)
        self.weight = self.share.prod(axis=1)
        self.weight = self.weight / self.weight.sum()
        self.mean = float(self.weight @ self.value)
        self.variance = float(self.weight @ (self.value - self.mean) ** 2)
        inner = tree.children_left >= 0
        self.cuts = tuple(
            np.unique(tree.threshold[(tree.feature == d) & inner]) for d in range(len(lower))
        )
        self._cells: dict[int, tuple] = {}

    def cells(self, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(midpoints, shares of the bounds' width, cells x leaves indicator, its transpose) of the
        cells that the tree's split points cut ``dim`` into.
        """
        if dim not in self._cells:
            edges = np.concatenate([[self.lower[dim]], self.cuts[dim], [self.upper[dim]]])
            mid = (edges[1:] + edges[:-1]) / 2
            inside = self.inside(dim, mid)
            self._cells[dim] = (
                mid,
                np.diff(edges) / (self.upper[dim] - self.lower[dim]),
                inside,
                np.ascontiguousarray(inside.T),
            )
        return self._cells[dim]

    def inside(self, dim: int, points: np.ndarray) -> np.ndarray:
        """(points x leaves) indicator, as floats: which leaf intervals on ``dim`` hold
        each point.
        """
        return ((self.lo[:, dim] <= points[:, None]) & (points[:, None] < self.hi[:, dim])).astype(
            float
        )

    def rest_weight(self, dims: tuple[int, ...]) -> np.ndarray:
        """Each leaf's value times the share of the volume of the other dimensions it covers."""
        return self.value * self.weight / np.prod(self.share[:, list(dims)], axis=1)


def _leaf_boxes(
    tree, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(leaf node ids, their boxes' lower and upper corners) of a fitted sklearn tree."""
    left, right, feature, threshold = (
        tree.children_left,
        tree.children_right,
        tree.feature,
        tree.threshold,
    )
    lo = np.empty((tree.node_count, len(lower)))
    hi = np.empty((tree.node_count, len(lower)))
    lo[0], hi[0] = lower, upper
    frontier = np.array([0])
    while frontier.size:  # level by level: every node's box is its parent's, cut once
        inner = frontier[left[frontier] >= 0]
        if not inner.size:
            break
        dims, cut = feature[inner], threshold[inner]
        for children in (left[inner], right[inner]):
            lo[children], hi[children] = lo[inner], hi[inner]
        hi[left[inner], dims] = np.minimum(hi[left[inner], dims], cut)
        lo[right[inner], dims] = np.maximum(lo[right[inner], dims], cut)
        frontier = np.concatenate([left[inner], right[inner]])
    leaves = np.flatnonzero(left < 0)
    return leaves, lo[leaves], hi[leaves]


class Forest:
    """A bootstrapped random forest of scikit-learn regression trees over the box
    ``lower``..``upper`` (scikit-learn estimator API: ``fit`` returns self; ``estimators_``).

    The defaults are ``fanova``'s: 16 trees, grown out (depth 64, one sample per leaf), 70% of the
    dimensions tried per split (at least one).
    """

    def __init__(
        self,
        n_trees: int = N_TREES,
        seed: int = 0,
        max_features: float = 0.7,
        max_depth: int = 64,
        min_samples_leaf: int = 1,
    ):
        self.n_trees = n_trees
        self.seed = seed
        self.max_features = max_features
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf

    def fit(self, X: np.ndarray, y: np.ndarray, lower, upper):
        X = np.asarray(X, dtype=float)
        self.lower_ = np.asarray(lower, dtype=float)
        self.upper_ = np.asarray(upper, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.lower_) or not len(X):
            raise ValueError("X must be a non-empty (runs x dims) matrix matching the bounds")
        if np.any(self.upper_ <= self.lower_):
            raise ValueError("every dimension needs upper > lower (drop constant ones first)")
        self.estimators_ = self._grow(
            np.clip(X, self.lower_, self.upper_), np.asarray(y, dtype=float)
        )
        return self

    def _grow(self, X: np.ndarray, y: np.ndarray) -> list:
        """The trees of a bootstrapped random forest, grown as scikit-learn's forest grows them
        (a bootstrap sample as integer sample weights, a random subset of the dimensions tried at
        each split), without its per-tree cloning and dispatch, which cost more than the trees.
        """
        from sklearn.tree import DecisionTreeRegressor

        rng = np.random.RandomState(self.seed)
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        max_features = max(1, int(X.shape[1] * self.max_features))
        trees = []
        for _ in range(self.n_trees):
            seed = rng.randint(np.iinfo(np.int32).max)
            draw = np.random.RandomState(seed).randint(0, len(X), len(X))
            counts = np.bincount(draw, minlength=len(X)).astype(float)
            tree = DecisionTreeRegressor(
                max_features=max_features,
                max_depth=self.max_depth,
                min_samples_leaf=self.min_samples_leaf,
                random_state=seed,
            )
            trees.append(tree.fit(X32, y, sample_weight=counts, check_input=False))
        return trees

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The forest's prediction (mean over the trees)."""
        # float32, as the forest was fitted; tree by tree, because the forest's own predict pays
        # joblib's dispatch on every call
        X = np.clip(np.asarray(X, dtype=float), self.lower_, self.upper_).astype(np.float32)
        return np.mean(
            [e.tree_.predict(X).reshape(len(X), -1)[:, 0] for e in self.estimators_], axis=0
        )

    def line_points(self, dim: int) -> np.ndarray:
        """One point in each cell that the splits of all trees cut ``dim`` into: the forest is
        constant between these cells' edges along ``dim``, so its best value along a line that
        varies only ``dim`` is attained at one of these points.
        """
        cuts = [
            e.tree_.threshold[(e.tree_.feature == dim) & (e.tree_.children_left >= 0)]
            for e in self.estimators_
        ]
        edges = np.concatenate(
            [[self.lower_[dim]], np.unique(np.concatenate(cuts)), [self.upper_[dim]]]
        )
        return (edges[1:] + edges[:-1]) / 2


class FunctionalAnova(Forest):
    """fANOVA of a :class:`Forest` fitted to ``(X, y)`` over the box ``lower``..``upper``.

    After ``fit``: ``importance_`` (one fraction per column of X), ``importance_std_`` (their
    spread over the trees), ``total_variance_`` (mean over trees), ``trees_used_`` (the trees whose
    prediction varies; the others carry no fractions), and :meth:`pair_importance`,
    :meth:`marginal` and :meth:`predict`.
    """

    def fit(self, X: np.ndarray, y: np.ndarray, lower, upper) -> "FunctionalAnova":
        super().fit(X, y, lower, upper)
        with one_blas_thread():
            self._analyse_trees(np.asarray(X).shape[1])
        return self

    def _analyse_trees(self, n_dims: int) -> None:
        self.trees_ = [_Tree(e.tree_, self.lower_, self.upper_) for e in self.estimators_]
        variances = np.array([t.variance for t in self.trees_])
        # a tree whose leaves all hold one value has no variance to share out (rounding aside)
        scale = np.maximum(1.0, np.array([t.mean for t in self.trees_]) ** 2)
        self.trees_used_ = variances > 1e-12 * scale
        self.total_variance_ = float(variances.mean())
        self._single = np.array(
            [[self._marginal_variance(t, (d,)) for d in range(n_dims)] for t in self.trees_]
        )
        fractions = self._fractions(self._single)
        self.importance_ = fractions.mean(axis=0) if len(fractions) else np.zeros(n_dims)
        self.importance_std_ = fractions.std(axis=0) if len(fractions) else np.zeros(n_dims)

    def _fractions(self, variances: np.ndarray) -> np.ndarray:
        tree_variance = np.array([t.variance for t in self.trees_])[self.trees_used_]
        return variances[self.trees_used_] / tree_variance.reshape(
            (-1,) + (1,) * (variances.ndim - 1)
        )

    def _marginal_variance(self, tree: _Tree, dims: tuple[int, ...]) -> float:
        """Variance over the space of the tree's marginal prediction of ``dims`` (one or two)."""
        g = tree.rest_weight(dims)
        _, p_a, ind_a, _ = tree.cells(dims[0])
        if len(dims) == 1:
            marginal, weight = ind_a @ g, p_a
        else:
            _, p_b, _, ind_b_t = tree.cells(dims[1])
            marginal, weight = (ind_a * g) @ ind_b_t, np.outer(p_a, p_b)
        return float(np.sum(weight * (marginal - tree.mean) ** 2))

    def pair_importance(self) -> dict[tuple[int, int], float]:
        """Fraction of variance explained by each pair's interaction alone (its two main effects
        subtracted), per pair of dimensions; clipped at 0 against rounding, as ``fanova`` does.
        """
        n_dims = len(self.lower_)
        out = {}
        for a, b in itertools.combinations(range(n_dims), 2):
            with one_blas_thread():
                pure = np.array([self._marginal_variance(t, (a, b)) for t in self.trees_])
            pure = np.clip(pure - self._single[:, a] - self._single[:, b], 0.0, None)
            fractions = self._fractions(pure)
            out[(a, b)] = float(fractions.mean()) if len(fractions) else 0.0
        return out

    def marginal(self, dim: int, points) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std over the trees) of the marginal prediction of ``dim`` at ``points``: the
        curve and band of the paper's marginal plots.
        """
        # the last cell is closed on the right: the upper bound itself belongs to it
        points = np.clip(
            np.asarray(points, dtype=float),
            self.lower_[dim],
            np.nextafter(self.upper_[dim], -np.inf),
        )
        per_tree = np.array([t.inside(dim, points) @ t.rest_weight((dim,)) for t in self.trees_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)
