"""Benchmark: metabase.metafeatures against pymfe 0.4.4, side by side in one run, same datasets.

Comparable groups:

- "stats+info": ours ``general, class, missing, statistical, infotheory`` against pymfe's
  ``general, statistical, info-theory`` (summaries min, max, mean, quantiles);
- "landmarking-all": ours ``landmarking`` (45 values: 15 Weka-style learners, 10-fold CV) against
  pymfe's ``landmarking`` (21 values: 7 models, 10-fold CV, its default);
- "landmarking-basic": only our landmarkers whose models pymfe also has (decision stump, naive
  Bayes, 1-NN: 9 values) against the same pymfe run.

Both libraries are warmed up first (imports, first calls), then each (dataset, group) is timed
as the best of ``REPEATS`` runs. Also: the full OpenML set on eeg-eye-state with and without
landmarkers. Run with:

    pytest -m benchmark tests/benchmarks/bench_metafeatures.py -s
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

RESULTS = Path(__file__).parent / "results" / "metafeatures.json"
REPEATS = 2
DATASETS = [
    ("credit-g", "class"),
    ("anneal", "class"),
    ("eeg-eye-state", "Class"),
    ("mozilla4", "state"),
    ("electricity", "class"),
]
OURS = {
    "stats+info": ["general", "class", "missing", "statistical", "infotheory"],
    "landmarking-basic": ["landmarking"],
    "landmarking-all": ["landmarking"],
}
PYMFE = {
    "stats+info": ["general", "statistical", "info-theory"],
    "landmarking-basic": ["landmarking"],
    "landmarking-all": ["landmarking"],
}
# "basic": only our landmarkers whose models pymfe also has (decision stump ~ best_node,
# naive Bayes, 1-NN)
BASIC = ("DecisionStump", "NaiveBayes", "kNN1N")


def _path(base: Path, name: str) -> Path:
    if name == "anneal":
        return base / "openml-python/tests/files/org/openml/test/datasets/2/dataset.arff"
    return base / "datasets" / name / f"{name}.arff"


def _best(fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _ours(X, y, groups, basic=False):
    from metabase.metafeatures import compute, members

    skip = [q for q in members("landmarking") if not q.startswith(BASIC)] if basic else ()
    result = compute(X, y, groups=groups, skip=skip)
    return int(sum(not np.isnan(v) for v in result.values.values()))


def _pymfe(X, y, groups):
    from pymfe.mfe import MFE

    cat_cols = [i for i, c in enumerate(X.columns) if isinstance(X[c].dtype, pd.CategoricalDtype)]
    data = X.copy()
    for c in data.columns[cat_cols]:
        data[c] = (
            data[c].astype(object).where(data[c].notna(), "?")
        )  # pymfe wants no NaN in categories
    num = [c for i, c in enumerate(data.columns) if i not in cat_cols]
    data[num] = data[num].fillna(data[num].mean())  # pymfe rejects NaN in numeric columns
    mfe = MFE(groups=groups, summary=["min", "max", "mean", "quantiles"], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe.fit(
            data.to_numpy(), y.astype(str).to_numpy(), cat_cols=cat_cols, suppress_warnings=True
        )
        names, values = mfe.extract(suppress_warnings=True)
    return int(sum(v is not None and np.isfinite(v) for v in np.asarray(values, dtype=float)))


@pytest.mark.benchmark
@pytest.mark.realdata
def test_bench_metafeatures_vs_pymfe(openml_data):
    from metabase.metafeatures import compute, load_table

    X0, y0 = load_table(_path(openml_data, "credit-g"), "class")
    for group in OURS:  # warm-up: imports and first calls on both sides
        _ours(X0.head(200), y0.head(200), OURS[group])
        _pymfe(X0.head(200), y0.head(200), PYMFE[group])

    rows = []
    for name, target in DATASETS:
        X, y = load_table(_path(openml_data, name), target)
        for group in OURS:
            t_ours, n_ours = _best(
                lambda: _ours(X, y, OURS[group], basic=group == "landmarking-basic")
            )
            t_peer, n_peer = _best(lambda: _pymfe(X, y, PYMFE[group]))
            rows.append(
                {
                    "dataset": name,
                    "shape": f"{X.shape[0]}x{X.shape[1]}",
                    "group": group,
                    "metabase_s": round(t_ours, 3),
                    "pymfe_s": round(t_peer, 3),
                    "speedup": round(t_peer / t_ours, 1),
                    "metabase_values": n_ours,
                    "pymfe_values": n_peer,
                }
            )
    table = pd.DataFrame(rows)

    X, y = load_table(_path(openml_data, "eeg-eye-state"), "Class")
    t_full, full = _best(lambda: compute(X, y))
    t_nolm, _ = _best(lambda: compute(X, y, skip=("landmarking",)))
    eeg = {
        "full_s": round(t_full, 3),
        "without_landmarkers_s": round(t_nolm, 3),
        "qualities": len(full.values),
        "per_group_s": {g: round(s, 3) for g, s in full.timings.items()},
    }

    print()
    print(table.to_string(index=False))
    geo = {g: float(np.exp(np.log(table[table["group"] == g]["speedup"]).mean())) for g in OURS}
    print("geometric-mean speedup:", {g: round(v, 1) for g, v in geo.items()})
    print("eeg-eye-state (14,980 x 14), all groups:", eeg)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"rows": rows, "geomean_speedup": geo, "eeg_eye_state": eeg}, indent=2)
    )
    assert (table["metabase_s"] > 0).all()
