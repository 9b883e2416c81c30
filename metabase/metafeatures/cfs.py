"""``CfsSubsetEval_*`` landmarkers: a learner trained on the attributes that correlation-based
feature selection (CFS) picks inside each training fold, as Weka's AttributeSelectedClassifier
with ``CfsSubsetEval -P 1 -E 1`` and ``BestFirst -D 1 -N 5`` does on OpenML. The learner is J48 for
all three names (see the note above ``_LEARNERS``).

Approximation (documented per quality): numeric attributes are discretised into 10 equal-frequency
bins (Weka uses supervised MDL discretisation), a missing value is its own bin, and the search is
greedy forward selection that stops at the first step without improvement (Weka's best-first
search tolerates 5 such steps).
Merit = k * mean(SU(attr, class)) / sqrt(k + k(k-1) mean(SU(attr, attr))).
"""

from __future__ import annotations

import numpy as np

from metabase.metafeatures.engine import Context, Intermediate, MetaFeature
from metabase.metafeatures.landmark_measures import error_rate, kappa, weighted_auc
from metabase.metafeatures.landmarkers import CVOutcome, LandmarkData, _tree_design, node_counts
from metabase.metafeatures.weka_like import pessimistic_prune

N_BINS = 10


def _entropy(codes: np.ndarray) -> float:
    # bincount is fastest, but a joint code of two high-cardinality attributes can be huge
    counts = (
        np.bincount(codes)
        if codes.max(initial=0) < 8 * codes.size
        else np.unique(codes, return_counts=True)[1]
    )
    p = counts[counts > 0] / codes.size
    return float(-(p * np.log2(p)).sum())


def symmetric_uncertainty(a: np.ndarray, b: np.ndarray) -> float:
    h_a, h_b = _entropy(a), _entropy(b)
    if h_a + h_b == 0:
        return 0.0
    joint = a * (b.max() + 1) + b
    return 2.0 * (h_a + h_b - _entropy(joint)) / (h_a + h_b)


def discretise(d: LandmarkData) -> np.ndarray:
    """Every attribute as non-negative integer codes: numeric ones binned, missing its own code."""
    cols = []
    for j in range(d.num.shape[1]):
        x = d.num[:, j]
        ok = ~np.isnan(x)
        codes = np.full(x.size, N_BINS, dtype=np.int64)
        if ok.any():
            edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, N_BINS + 1)[1:-1]))
            codes[ok] = np.searchsorted(edges, x[ok], side="right")
        cols.append(codes)
    for j in range(d.nom.shape[1]):
        x = d.nom[:, j]
        cols.append(np.where(x >= 0, x, x.max() + 1 if x.size else 0).astype(np.int64))
    return np.column_stack(cols) if cols else np.empty((len(d.y), 0), dtype=np.int64)


def cfs_select(codes: np.ndarray, y: np.ndarray) -> list[int]:
    """Greedy forward CFS on one training fold; returns attribute indices (never empty)."""
    m = codes.shape[1]
    r_cf = np.array([symmetric_uncertainty(codes[:, j], y) for j in range(m)])
    selected: list[int] = []
    pair: dict[tuple[int, int], float] = {}
    best_merit = 0.0
    while True:
        best, best_j = best_merit, None
        for j in range(m):
            if j in selected or r_cf[j] <= 0:
                continue
            subset = selected + [j]
            k = len(subset)
            ff = []
            for a in range(k):
                for b in range(a + 1, k):
                    key = (min(subset[a], subset[b]), max(subset[a], subset[b]))
                    if key not in pair:
                        pair[key] = symmetric_uncertainty(codes[:, key[0]], codes[:, key[1]])
                    ff.append(pair[key])
            merit = (
                k * r_cf[subset].mean() / np.sqrt(k + k * (k - 1) * (np.mean(ff) if ff else 0.0))
            )
            if merit > best + 1e-12:
                best, best_j = merit, j
        if best_j is None:
            break
        selected.append(best_j)
        best_merit = best
    return selected or [int(np.argmax(r_cf))] if m else []


def _subset(d: LandmarkData, attrs: list[int]) -> LandmarkData:
    n_num = d.num.shape[1]
    num_idx = [a for a in attrs if a < n_num]
    nom_idx = [a - n_num for a in attrs if a >= n_num]
    return LandmarkData(
        d.num[:, num_idx],
        d.nom[:, nom_idx],
        [d.levels[i] for i in nom_idx],
        d.y,
        d.n_classes,
        d.folds,
    )


class CfsSelections(Intermediate):
    """The CFS-selected attributes of each training fold."""

    requires = ("LandmarkSetup",)

    def compute(self, ctx: Context, d: LandmarkData):
        codes = discretise(d)
        out = []
        for train, _ in d.folds:
            ctx.check_budget()
            out.append(cfs_select(codes[train], d.y[train]))
        return out


class _CfsCV(Intermediate):
    abstract = True
    requires = ("LandmarkSetup", "CfsSelections")

    def fit_predict(self, ctx, sub: LandmarkData, train, test) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def compute(self, ctx, d: LandmarkData, selections) -> CVOutcome:
        proba = np.zeros((len(d.y), d.n_classes))
        for (train, test), attrs in zip(d.folds, selections):
            ctx.check_budget()
            proba[test] = self.fit_predict(ctx, _subset(d, attrs), train, test)
        return CVOutcome(d.y, proba)


class CV_Cfs_J48(_CfsCV):
    """J48 (C4.5, confidence 0.25, as approximated in landmarkers.py) on the CFS-selected
    attributes.
    """

    def fit_predict(self, ctx, sub, train, test):
        from sklearn.tree import DecisionTreeClassifier

        X = _tree_design(sub)
        tree = DecisionTreeClassifier(
            criterion="entropy", min_samples_leaf=2, random_state=ctx.seed
        )
        tree.fit(X[train], sub.y[train])
        counts = node_counts(tree, sub.n_classes)
        dist = counts[pessimistic_prune(tree, counts, 0.25)[tree.apply(X[test])]]
        return dist / np.maximum(dist.sum(axis=1, keepdims=True), 1e-12)


class _CfsLandmarker(MetaFeature):
    abstract = True
    group = "landmarking"
    needs = "classification"


# On OpenML the three CfsSubsetEval landmarkers give identical values on 97.8% of the 648 datasets
# that have them: the -W option naming the learner did not take effect, and Weka's
# AttributeSelectedClassifier used its default learner, J48. The values here follow that.
_LEARNERS = ("DecisionStump", "NaiveBayes", "kNN1N")
_MEASURES = {"ErrRate": error_rate, "AUC": weighted_auc, "Kappa": kappa}

for _learner in _LEARNERS:
    for _measure, _fn in _MEASURES.items():
        _name = f"CfsSubsetEval_{_learner}{_measure}"
        globals()[_name] = type(
            _name,
            (_CfsLandmarker,),
            {
                "__doc__": f"{_measure} of Weka's AttributeSelectedClassifier "
                f"(CfsSubsetEval, named for {_learner}, "
                "but J48 on OpenML), approximated: greedy CFS then a C4.5-pruned tree.",
                "requires": ("CV_Cfs_J48",),
                "__module__": __name__,
                "compute": (lambda f: lambda self, ctx, outcome: f(outcome))(_fn),
            },
        )
