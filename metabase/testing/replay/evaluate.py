"""The replay server as OpenML's evaluation engine: a run's measures computed from its uploaded
predictions and the task's splits, not taken from the client's description.

The definitions are metabase's own (:mod:`metabase.runner.measures`, which follows OpenML's
engine), so a published run's server evaluations equal its local ones. The truth is the
dataset's target where the server has the data file (else the file's ``correct`` column), and
each fold's rows must be exactly the test rows of that fold in the task's splits.
"""

from __future__ import annotations

import io

import numpy as np


class PredictionsRejected(ValueError):
    """The predictions do not fit the task (OpenML answers such an upload with an error)."""


def evaluate(
    predictions: bytes, splits: bytes | None, truth: list[str] | None
) -> dict[str, tuple[float, list]]:
    """``{measure: (aggregate over pooled folds, [(repeat, fold, value)])}``."""
    import arff

    from metabase.runner import measures

    data = arff.load(io.StringIO(predictions.decode("utf-8")))
    names = [a[0] for a in data["attributes"]]
    kinds = dict(data["attributes"])
    rows = data["data"]
    col = {n: i for i, n in enumerate(names)}
    regression = "truth" in col
    test_rows = _test_rows(splits) if splits else None
    per: dict[tuple[int, int], list] = {}
    for r in rows:
        per.setdefault((int(r[col["repeat"]]), int(r[col["fold"]])), []).append(r)
    out: dict[str, tuple[float, list]] = {}
    pooled_true, pooled_pred, pooled_proba = [], [], []
    labels = None if regression else list(kinds["prediction"])
    for (rep, fold), chunk in sorted(per.items()):
        ids = [int(r[col["row_id"]]) for r in chunk]
        if test_rows is not None and sorted(ids) != test_rows.get((rep, fold)):
            raise PredictionsRejected(
                f"the predictions of repeat {rep} fold {fold} are not that fold's test rows"
            )
        if regression:
            y_true = [
                float(truth[i]) if truth else float(r[col["truth"]]) for i, r in zip(ids, chunk)
            ]
            y_pred = [float(r[col["prediction"]]) for r in chunk]
            values = measures.regression(y_true, y_pred)
        else:
            y_true = [truth[i] if truth else r[col["correct"]] for i, r in zip(ids, chunk)]
            y_pred = [r[col["prediction"]] for r in chunk]
            proba = np.array([[float(r[col[f"confidence.{c}"]]) for c in labels] for r in chunk])
            values = measures.classification(y_true, y_pred, proba, labels)
            pooled_proba.append(proba)
        pooled_true += y_true
        pooled_pred += y_pred
        for m, v in values.items():
            out.setdefault(m, (np.nan, []))[1].append((str(rep), str(fold), v))
    if regression:
        total = measures.regression(pooled_true, pooled_pred)
    else:
        total = measures.classification(pooled_true, pooled_pred, np.vstack(pooled_proba), labels)
    return {m: (total[m], folds) for m, (_, folds) in out.items()}


def _test_rows(splits: bytes) -> dict[tuple[int, int], list[int]]:
    import arff

    data = arff.load(io.StringIO(splits.decode("utf-8")))
    names = [a[0] for a in data["attributes"]]
    c = {n: i for i, n in enumerate(names)}
    out: dict[tuple[int, int], list[int]] = {}
    for r in data["data"]:
        if (
            r[c["type"]] == "TEST"
            and int(r[c.get("sample", c["fold"])] if "sample" in c else 0) == 0
        ):
            out.setdefault((int(r[c["repeat"]]), int(r[c["fold"]])), []).append(int(r[c["rowid"]]))
    return {k: sorted(v) for k, v in out.items()}
