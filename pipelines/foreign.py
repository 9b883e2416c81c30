"""Flows of other toolkits whose hyperparameters correspond to a catalogue pipeline.

R's ranger and randomForest (via mlr) are random forests: their trees, bootstrap switch and node
size are ours under other names. ``mtry`` is a count of features where we use a fraction, so it
converts only when the number of features is known; without it the run does not map rather than
map wrongly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipelines.values import parse_value


def _plain_keys(parameters: Mapping[str, Any]) -> dict[str, Any]:
    # OpenML full names look like "mlr.classif.ranger(8)_num.trees": keep the parameter name.
    out = {}
    for key, value in parameters.items():
        name = str(key).rsplit(")_", 1)[-1]
        out[name] = parse_value(value)
    return out


def _mtry_fraction(mtry: Any, n_features: int | None) -> float | None:
    if n_features is None or n_features <= 0:
        return None
    if mtry is None:  # the R packages' default: floor(sqrt(p))
        mtry = max(1, math.floor(math.sqrt(n_features)))
    if not isinstance(mtry, (int, float)) or isinstance(mtry, bool):
        return None
    return min(1.0, float(mtry) / n_features)


def ranger_to_random_forest(
    parameters: Mapping[str, Any], n_features: int | None = None
) -> dict[str, Any] | None:
    """sklearn.random_forest values for an mlr.classif.ranger setup, or None where they differ."""
    p = _plain_keys(parameters)
    if p.get("splitrule", "gini") not in ("gini", None):
        return None  # extratrees/hellinger split differently
    replace = p.get("replace", True)
    if "sample.fraction" in p and p["sample.fraction"] is not None:
        if float(p["sample.fraction"]) != (1.0 if replace else 0.632):
            return None
    fraction = _mtry_fraction(p.get("mtry"), n_features)
    if fraction is None:
        return None
    return {
        "n_estimators": p.get("num.trees", 500),
        "criterion": "gini",
        "max_features": fraction,
        "min_samples_leaf": p.get("min.node.size", 1),
        "bootstrap": bool(replace),
    }


def randomforest_to_random_forest(
    parameters: Mapping[str, Any], n_features: int | None = None
) -> dict[str, Any] | None:
    """sklearn.random_forest values for an mlr.classif.randomForest setup, or None."""
    p = _plain_keys(parameters)
    if p.get("maxnodes") is not None:
        return None
    fraction = _mtry_fraction(p.get("mtry"), n_features)
    if fraction is None:
        return None
    return {
        "n_estimators": p.get("ntree", 500),
        "criterion": "gini",
        "max_features": fraction,
        "min_samples_leaf": p.get("nodesize", 1),
        "bootstrap": bool(p.get("replace", True)),
    }


def weka_random_forest_to_random_forest(
    parameters: Mapping[str, Any], n_features: int | None = None
) -> dict[str, Any] | None:
    """sklearn.random_forest values for a weka.RandomForest setup, or None where they differ.

    Weka's trees split on information gain (our "entropy") on bootstrap samples. -I is the number
    of trees, -K the features per split (0: log2(p) + 1), -M the minimum leaf size, -depth 0 no
    limit.
    """
    p = _plain_keys(parameters)
    if "I" not in p or n_features is None or n_features <= 0:
        return None
    depth = p.get("depth", 0)
    if depth not in (0, None):
        return None
    k = p.get("K", 0)
    if k in (0, None):
        k = int(math.log2(n_features)) + 1
    fraction = _mtry_fraction(k, n_features)
    if fraction is None:
        return None
    return {
        "n_estimators": p["I"],
        "criterion": "entropy",
        "max_features": fraction,
        "min_samples_leaf": p.get("M", 1),
        "bootstrap": True,
    }


FOREIGN_RANDOM_FOREST = {
    "mlr.classif.ranger": ranger_to_random_forest,
    "mlr.classif.randomForest": randomforest_to_random_forest,
    "weka.RandomForest": weka_random_forest_to_random_forest,
}
FOREIGN = {
    "sklearn.random_forest": FOREIGN_RANDOM_FOREST
}  # catalogue pipeline -> its foreign flows
