"""Execute one :class:`RunRequest` on a task's own splits, in this process.

Per (repeat, fold, sample) of the task's split file, as openml-python's ``run_model_on_task``
does: clone the built estimator, fit it on the training rows, predict the test rows (and their
class probabilities, mapped onto the task's class labels), time both. Then OpenML's measures per
fold and their aggregate, and the predictions in OpenML's columns.

Whatever the pipeline raises becomes a ``crashed`` result (a ``MemoryError`` a ``memout``) with
its traceback; only ``KeyboardInterrupt`` and ``SystemExit`` pass through. Executors call this
inside a child process that enforces the time and memory limits.
"""

from __future__ import annotations

import time
import traceback
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np

from metabase.records import CRASHED, MEMOUT, OK, Measurement, RunRequest, RunResult, TaskData
from metabase.runner import environment, measures

Catalogue = Callable[[str], Any]  # pipeline name -> pipelines.Pipeline


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def default_catalogue(name: str):
    import pipelines

    return pipelines.get(name)


def execute(request: RunRequest, data: TaskData, catalogue: Catalogue | None = None) -> RunResult:
    """Run ``request`` on ``data``; never raises for what happens inside the pipeline."""
    started = utcnow()
    device = "cpu"
    try:
        pipeline = (catalogue or default_catalogue)(request.pipeline)
        device = environment.resolve_device(pipeline.device != "cpu", request.device)
        model = _build(pipeline, request, data, device)
        folds = [_run_fold(model, data, key, request) for key in data.splits.keys()]
        result_measures, predictions = _collect(data, folds)
        return RunResult(
            request,
            OK,
            measurements=result_measures,
            predictions=predictions,
            class_labels=data.class_labels,
            started_at=started,
            finished_at=utcnow(),
            environment=environment.record(device),
        )
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a crash is a result
        return failed(
            request,
            MEMOUT if isinstance(exc, MemoryError) else CRASHED,
            exc,
            started,
            environment.record(device) if device else {},
        )


def failed(
    request: RunRequest,
    status: str,
    exc: BaseException,
    started: datetime,
    env: dict | None = None,
    attempts: int = 1,
) -> RunResult:
    text = str(exc).strip()
    return RunResult(
        request,
        status,
        error_type=type(exc).__name__,
        error_message=text.splitlines()[0][:1000] if text else type(exc).__name__,
        traceback="".join(traceback.format_exception(exc)),
        started_at=started,
        finished_at=utcnow(),
        environment=env or {},
        attempts=attempts,
    )


def schema_for(data: TaskData):
    """Numeric columns are imputed (and scaled where the pipeline wants it); all others are
    nominal. Columns are selected by position, as flows that openml-python publishes need.
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    from pipelines import DataSchema

    columns = [str(c) for c in data.X.columns]
    numeric = [
        str(c)
        for c in data.X.columns
        if is_numeric_dtype(data.X[c].dtype) and not is_bool_dtype(data.X[c].dtype)
    ]
    categorical = [c for c in columns if c not in set(numeric)]
    return DataSchema(
        numeric,
        categorical,
        classes=list(data.class_labels) if data.class_labels else None,
        task_type=data.task_type,
        columns=columns,
    )


def _build(pipeline, request: RunRequest, data: TaskData, device: str):
    from pipelines import BuildOptions

    fidelity = request.fidelity
    options = BuildOptions(
        max_estimators=fidelity.n_estimators,
        max_epochs=fidelity.epochs,
        random_state=int(request.seed),
        n_jobs=1,
        device=device if pipeline.device != "cpu" else None,
    )
    return pipeline.build(dict(request.config), schema_for(data), options)


def _train_rows(train: np.ndarray, request: RunRequest, key: tuple[int, int, int]) -> np.ndarray:
    fraction = request.fidelity.data_fraction
    if fraction is None or fraction >= 1.0:
        return train
    keep = max(1, int(round(len(train) * fraction)))
    rng = np.random.RandomState(
        (int(request.seed) * 1_000_003 + key[0] * 1009 + key[1] * 31 + key[2]) % 2**32
    )
    return np.sort(rng.choice(train, size=keep, replace=False))


def _run_fold(model, data: TaskData, key: tuple[int, int, int], request: RunRequest) -> dict:
    import sklearn.base

    train, test = (np.asarray(i, dtype=np.int64) for i in data.splits.indices[key])
    train = _train_rows(train, request, key)
    X_train, y_train = data.X.iloc[train], data.y.iloc[train]
    X_test = data.X.iloc[test]
    fitted = sklearn.base.clone(model, safe=True)
    cpu, wall = time.process_time(), time.time()
    fitted.fit(X_train, y_train)
    fit_cpu, fit_wall = (time.process_time() - cpu) * 1000, (time.time() - wall) * 1000
    cpu, wall = time.process_time(), time.time()
    predicted = fitted.predict(X_test)
    proba = (
        _probabilities(fitted, X_test, predicted, data) if data.class_labels is not None else None
    )
    test_cpu, test_wall = (time.process_time() - cpu) * 1000, (time.time() - wall) * 1000
    timings = {
        "usercpu_time_millis_training": fit_cpu,
        "usercpu_time_millis_testing": test_cpu,
        "usercpu_time_millis": fit_cpu + test_cpu,
        "wall_clock_time_millis_training": fit_wall,
        "wall_clock_time_millis_testing": test_wall,
        "wall_clock_time_millis": fit_wall + test_wall,
    }
    return {
        "key": key,
        "test": test,
        "truth": data.y.iloc[test].to_numpy(),
        "predicted": np.asarray(predicted),
        "proba": proba,
        "timings": timings,
    }


def _probabilities(fitted, X_test, predicted, data: TaskData) -> np.ndarray:
    """Class probabilities with one column per task class label, in the task's order (classes
    that the training rows lacked get 0, as openml-python fills them).
    """
    labels = list(data.class_labels)
    final = fitted.steps[-1][1] if hasattr(fitted, "steps") else fitted
    classes = [str(c) if isinstance(labels[0], str) else c for c in final.classes_]
    try:
        raw = np.asarray(fitted.predict_proba(X_test), dtype=np.float64)
    except AttributeError:  # no probabilities: the prediction gets 1
        raw = np.asarray([[1.0 if p == c else 0.0 for c in classes] for p in predicted])
    out = np.zeros((len(raw), len(labels)), dtype=np.float64)
    position = {label: j for j, label in enumerate(labels)}
    for j, cls in enumerate(classes):
        if cls in position:
            out[:, position[cls]] = raw[:, j]
    return out


def _collect(data: TaskData, folds: list[dict]) -> tuple[tuple[Measurement, ...], Any]:
    per_fold = []
    for fold in folds:
        values = _scores(data, fold["truth"], fold["predicted"], fold["proba"])
        values.update(fold["timings"])
        per_fold.append((fold["key"], values))
    last_sample = data.splits.samples - 1
    final = [fold for fold in folds if fold["key"][2] == last_sample]
    pooled = _scores(
        data,
        np.concatenate([f["truth"] for f in final]),
        np.concatenate([f["predicted"] for f in final]),
        None if data.class_labels is None else np.vstack([f["proba"] for f in final]),
    )
    pooled.update(
        measures.aggregate_timings(values for key, values in per_fold if key[2] == last_sample)
    )
    out = []
    for (r, f, s), values in per_fold:
        out.extend(Measurement(name, v, r, f, s) for name, v in values.items() if np.isfinite(v))
    for name, value in pooled.items():
        if np.isfinite(value):
            fold_values = [
                values[name]
                for key, values in per_fold
                if key[2] == last_sample and name in values
            ]
            out.append(Measurement(name, value, stdev=measures.stdev(fold_values)))
    return tuple(out), _predictions_frame(data, folds)


def _scores(data: TaskData, truth, predicted, proba) -> dict[str, float]:
    if data.class_labels is None:
        return measures.regression(truth, predicted)
    return measures.classification(truth, predicted, proba, data.class_labels)


def _predictions_frame(data: TaskData, folds: list[dict]):
    """The rows of OpenML's predictions file, fold after fold: labels as text, regression values
    as the shortest text that reads back to the same float, and for classification a
    ``confidence`` list per row held in one Arrow list column (the result travels from its child
    process as a pickle: per-row numpy arrays cost more to pickle than the rest of the result).
    """
    import pandas as pd

    sizes = [len(fold["test"]) for fold in folds]
    frame = {
        name: np.repeat(np.asarray([fold["key"][i] for fold in folds], dtype=np.int32), sizes)
        for i, name in enumerate(("repeat", "fold", "sample"))
    }
    frame["row_id"] = np.concatenate([fold["test"] for fold in folds]).astype(np.int64)
    predicted = np.concatenate([np.asarray(fold["predicted"]) for fold in folds])
    truth = np.concatenate([np.asarray(fold["truth"]) for fold in folds])
    if data.class_labels is None:
        frame["prediction"] = [repr(float(v)) for v in predicted]
        frame["correct"] = [repr(float(v)) for v in truth]
        return pd.DataFrame(frame)
    import pyarrow as pa

    frame["prediction"] = [str(v) for v in predicted]
    frame["correct"] = [str(v) for v in truth]
    proba = np.vstack([fold["proba"] for fold in folds]).astype(np.float64, copy=False)
    k = proba.shape[1]
    offsets = pa.array(np.arange(0, proba.size + 1, k, dtype=np.int32))
    confidence = pa.ListArray.from_arrays(offsets, pa.array(proba.ravel()))
    frame["confidence"] = pd.Series(confidence, dtype=pd.ArrowDtype(confidence.type))
    return pd.DataFrame(frame)
