"""Executing one configuration on a task's splits: measures, predictions, keys, crashes.

Expected values come from scikit-learn's reference metric functions or are recomputed from the
run's own predictions table, never from the code under test's intermediate results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from metabase.records import CRASHED, OK, Fidelity, RunRequest, Splits, TaskData, run_key
from metabase.runner import execute, measures
from metabase.testing import faulty
from metabase.testing.executor_contract import request


# ---------------------------------------------------------------- measures against scikit-learn
@pytest.fixture(scope="module")
def three_classes():
    rng = np.random.RandomState(3)
    labels = ["b", "a", "c"]  # the task's order, not the sorted one
    truth = rng.choice(labels, size=200, p=[0.5, 0.3, 0.2])
    proba = rng.dirichlet([1, 1, 1], size=200)
    proba[np.arange(200), [labels.index(t) for t in truth]] += rng.uniform(0, 0.6, 200)
    proba /= proba.sum(axis=1, keepdims=True)
    predicted = np.asarray(labels)[proba.argmax(axis=1)]
    return truth, predicted, proba, labels


def test_classification_measures_equal_scikit_learn_weighted_ones(three_classes):
    truth, predicted, proba, labels = three_classes
    got = measures.classification(truth, predicted, proba, labels)
    kw = {"labels": labels, "average": "weighted", "zero_division": 0}
    assert got["predictive_accuracy"] == metrics.accuracy_score(truth, predicted)
    assert got["f_measure"] == pytest.approx(metrics.f1_score(truth, predicted, **kw), abs=1e-12)
    assert got["precision"] == pytest.approx(
        metrics.precision_score(truth, predicted, **kw), abs=1e-12
    )
    assert got["recall"] == pytest.approx(metrics.recall_score(truth, predicted, **kw), abs=1e-12)
    assert got["kappa"] == pytest.approx(metrics.cohen_kappa_score(truth, predicted), abs=1e-12)
    order = [labels.index(c) for c in sorted(labels)]  # scikit-learn wants its columns sorted
    expected_auc = metrics.roc_auc_score(
        truth, proba[:, order], multi_class="ovr", average="weighted", labels=sorted(labels)
    )
    assert got["area_under_roc_curve"] == pytest.approx(expected_auc, abs=1e-12)


def test_binary_auc_is_the_plain_auc_and_ties_count_half():
    truth = np.array(["n", "y", "y", "n", "y", "n"])
    proba = np.array([[0.6, 0.4], [0.4, 0.6], [0.5, 0.5], [0.5, 0.5], [0.2, 0.8], [0.9, 0.1]])
    got = measures.classification(
        truth, np.array(["n", "y", "n", "n", "y", "n"]), proba, ["n", "y"]
    )
    assert got["area_under_roc_curve"] == pytest.approx(
        metrics.roc_auc_score(truth == "y", proba[:, 1])
    )


def test_average_ranks_are_scipys_rankdata_to_the_bit():
    from scipy.stats import rankdata

    rng = np.random.default_rng(7)
    for n in (1, 2, 9, 500):
        for values in (rng.random(n), np.round(rng.random(n), 1), np.zeros(n)):
            assert np.array_equal(measures.average_ranks(values), rankdata(values))
    assert np.isnan(measures.average_ranks(np.array([0.2, np.nan, 0.1]))).all()


def test_auc_of_a_fold_with_one_class_is_undefined_and_kappa_of_full_agreement_is_one():
    got = measures.classification(
        ["a", "a"], ["a", "a"], np.array([[0.9, 0.1], [0.8, 0.2]]), ["a", "b"]
    )
    assert np.isnan(got["area_under_roc_curve"]) and got["kappa"] == 1.0


def test_regression_measures():
    truth, predicted = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 1.0])
    got = measures.regression(truth, predicted)
    assert got["mean_absolute_error"] == metrics.mean_absolute_error(truth, predicted)
    assert got["root_mean_squared_error"] == pytest.approx(
        np.sqrt(np.mean((truth - predicted) ** 2))
    )


# ---------------------------------------------------------------- one run on a task's splits
def _aggregate(result, name):
    return next(m for m in result.measurements if m.measure == name and m.fold is None)


def test_a_classification_run_has_per_fold_and_pooled_measures_and_predictions():
    data = faulty.synthetic_task(n=90, folds=3, repeats=2)
    result = execute(request("sklearn.random_forest", {"n_estimators": 16}, seed=1), data)
    assert result.status == OK and result.class_labels == ("no", "yes", "maybe")
    folds = [
        m for m in result.measurements if m.measure == "predictive_accuracy" and m.fold is not None
    ]
    assert sorted((m.repeat, m.fold) for m in folds) == [
        (r, f) for r in range(2) for f in range(3)
    ]
    p = result.predictions
    assert list(p.columns) == [
        "repeat",
        "fold",
        "sample",
        "row_id",
        "prediction",
        "correct",
        "confidence",
    ]
    for r in range(2):  # every row is predicted exactly once per repeat
        assert sorted(p.loc[p["repeat"] == r, "row_id"]) == list(range(90))
    # truths are the task's labels of those rows, read from the data
    assert (p["correct"].to_numpy() == data.y.astype(str).to_numpy()[p["row_id"]]).all()
    confidence = np.vstack(p["confidence"].to_numpy())
    assert np.allclose(confidence.sum(axis=1), 1.0)
    predicted_column = [result.class_labels.index(v) for v in p["prediction"]]
    # the predicted class has the highest confidence (ties are broken by the model's class order)
    assert (confidence[np.arange(len(p)), predicted_column] == confidence.max(axis=1)).all()
    # the aggregate is OpenML's: over the pooled predictions of all folds and repeats
    pooled = (p["prediction"] == p["correct"]).mean()
    assert _aggregate(result, "predictive_accuracy").value == pytest.approx(pooled)
    fold_values = [m.value for m in folds]
    assert _aggregate(result, "predictive_accuracy").stdev == pytest.approx(np.std(fold_values))
    fold_cpu = sum(
        m.value
        for m in result.measurements
        if m.measure == "usercpu_time_millis" and m.fold is not None
    )
    assert _aggregate(result, "usercpu_time_millis").value == pytest.approx(fold_cpu)


def test_a_regression_run_predicts_values_that_read_back_exactly():
    data = faulty.synthetic_task(task_type="regression", folds=3)
    result = execute(request("sklearn.decision_tree_regressor", {"max_depth": 3}), data)
    p = result.predictions
    assert result.status == OK and "confidence" not in p.columns
    truth = data.y.to_numpy()[p["row_id"]]
    assert [float(v) for v in p["correct"]] == truth.tolist()
    errors = np.abs(p["prediction"].astype(float).to_numpy() - truth)
    assert _aggregate(result, "mean_absolute_error").value == pytest.approx(errors.mean())
    assert {m.measure for m in result.measurements} >= {
        "mean_absolute_error",
        "root_mean_squared_error",
    }


def test_a_class_missing_from_a_training_fold_gets_zero_confidence():
    X = pd.DataFrame({"a": np.arange(12, dtype=float)})
    y = pd.Series(pd.Categorical(["p"] * 5 + ["q"] * 5 + ["r"] * 2, categories=["p", "q", "r"]))
    train, test = np.arange(10), np.arange(10, 12)  # "r" only in the test rows
    data = TaskData(
        7,
        None,
        "classification",
        "y",
        X,
        y,
        Splits(1, 1, 1, {(0, 0, 0): (train, test)}),
        class_labels=("p", "q", "r"),
    )
    result = execute(request("sklearn.decision_tree", {}, task_id=7), data)
    assert result.status == OK
    assert all(c[2] == 0.0 for c in result.predictions["confidence"])


def test_a_crashing_configuration_is_a_result_with_its_traceback():
    result = execute(
        request("testing.faulty", faulty.config("crash")), faulty.synthetic_task(), faulty.get
    )
    assert result.status == CRASHED and result.error_type == "ValueError"
    assert "boom" in result.error_message and "Traceback" in result.traceback
    assert result.started_at <= result.finished_at


def test_data_fraction_trains_on_fewer_rows_and_changes_nothing_else():
    data = faulty.synthetic_task(n=90, folds=3)
    full = execute(request("testing.faulty", faulty.config("ok")), data, faulty.get)
    req = request("testing.faulty", faulty.config("ok"))
    half = execute(
        RunRequest(
            req.task_id,
            req.pipeline,
            req.config,
            req.config_hash,
            fidelity=Fidelity(data_fraction=0.5),
        ),
        data,
        faulty.get,
    )
    # the faulty estimator's noise is seeded by its training size: fewer rows, other confidences
    assert half.status == OK and len(half.predictions) == len(full.predictions)
    assert not np.allclose(
        np.vstack(half.predictions["confidence"]), np.vstack(full.predictions["confidence"])
    )


def test_the_run_records_what_makes_it_reproducible():
    result = execute(
        request("testing.faulty", faulty.config("ok"), seed=5), faulty.synthetic_task(), faulty.get
    )
    env = result.environment
    assert env["device"] == "cpu" and env["device_name"] and env["host"]
    assert env["versions"]["scikit-learn"] == __import__("sklearn").__version__


def test_run_keys_are_deterministic_in_task_pipeline_config_seed_and_fidelity():
    base = run_key(1, "p", "h", 0, Fidelity())
    assert base == run_key(1, "p", "h", 0, Fidelity()) and base.startswith("local:")
    others = [
        run_key(2, "p", "h", 0, Fidelity()),
        run_key(1, "q", "h", 0, Fidelity()),
        run_key(1, "p", "g", 0, Fidelity()),
        run_key(1, "p", "h", 1, Fidelity()),
        run_key(1, "p", "h", 0, Fidelity(n_estimators=8)),
    ]
    assert len({base, *others}) == 6


# ---------------------------------------------------------------- torch pipelines and devices
def _torch_run(device=None):
    from metabase.records import Fidelity

    req = request("torch.mlp", {"n_layers": 1, "units_1": 16, "batch_size": 32})
    req = RunRequest(
        req.task_id,
        req.pipeline,
        req.config,
        req.config_hash,
        fidelity=Fidelity(epochs=1),
        device=device,
    )
    return execute(req, faulty.synthetic_task(n=60, folds=2))


def test_a_torch_run_on_the_cpu_records_the_cpu():
    result = _torch_run(device="cpu")
    assert result.status == OK, result.traceback
    assert result.environment["device"] == "cpu" and "torch" in result.environment["versions"]


@pytest.mark.gpu
def test_a_torch_run_trains_on_cuda_when_the_worker_has_it():
    import torch

    result = _torch_run()
    assert result.status == OK, result.traceback
    assert result.environment["device"] == "cuda"
    assert result.environment["device_name"] == torch.cuda.get_device_name(0)
