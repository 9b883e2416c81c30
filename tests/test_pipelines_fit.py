"""Every pipeline's default and 20 sampled configurations build, fit and predict on real data.

credit-g (OpenML d/31) for classification, PMLB's 230_machine_cpu (OpenML d/230) for regression.
Kept fast by subsampling rows and by the builder's caps (trees, boosting rounds, epochs), never by
narrowing the spaces.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import pipelines
from metabase.errors import ConfigError
from pipelines import BuildOptions, DataSchema

pytestmark = pytest.mark.realdata

N_SAMPLED = 20
CAPS = BuildOptions(max_estimators=8, max_epochs=2, max_iter=300, random_state=0)


@pytest.fixture(scope="module")
def credit_g(openml_data):
    folder = openml_data / "datasets" / "credit-g"
    frame = pd.read_csv(folder / "credit-g.csv")
    roles = json.loads((folder / "features.json").read_text())
    frame = frame.sample(n=240, random_state=0).reset_index(drop=True)
    y = frame.pop("class").to_numpy()
    numeric = [c for c in frame if roles[c] == "numerical"]
    categorical = [c for c in frame if roles[c] == "categorical"]
    frame[categorical] = frame[categorical].astype(str).astype(object)
    # credit-g has no missing values; blank a few cells so imputation and encoding are exercised.
    rng = np.random.default_rng(0)
    for col in (numeric[0], categorical[0]):
        frame.loc[rng.choice(len(frame), 12, replace=False), col] = np.nan
    schema = DataSchema(numeric, categorical, classes=sorted(set(y)), task_type="classification")
    return frame, y, schema


@pytest.fixture(scope="module")
def machine_cpu(openml_data):
    frame = pd.read_csv(
        openml_data / "pmlb" / "datasets" / "230_machine_cpu" / "230_machine_cpu.tsv.gz", sep="\t"
    )
    y = frame.pop("target").to_numpy(dtype=float)
    return frame, y, DataSchema(list(frame.columns), [], task_type="regression")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Several processes share two cores here; spinning OpenMP/torch threads would only contend.
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(previous)


def _configs(pipeline):
    return [pipeline.default_config(), *pipeline.sample(N_SAMPLED, seed=7)]


def _fit_predict(pipeline, config, frame, y, schema):
    split = int(len(frame) * 0.8)
    model = pipeline.build(config, schema, CAPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # capped iterations warn about convergence, on purpose
        model.fit(frame.iloc[:split], y[:split])
        return model, model.predict(frame.iloc[split:])


CLASSIFIERS = [n for n in pipelines.names() if "classification" in pipelines.get(n).task_types]
REGRESSORS = [n for n in pipelines.names() if "regression" in pipelines.get(n).task_types]


def test_every_sklearn_classifier_has_a_regression_variant_where_sklearn_has_one():
    assert len(CLASSIFIERS) >= 12 and len(REGRESSORS) >= 10
    for base in (
        "random_forest",
        "extra_trees",
        "adaboost",
        "gradient_boosting",
        "hist_gradient_boosting",
        "knn",
        "decision_tree",
    ):
        assert f"sklearn.{base}_regressor" in REGRESSORS
    assert "sklearn.svr" in REGRESSORS


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_default_and_sampled_configs_fit_predict_on_credit_g(name, credit_g):
    frame, y, schema = credit_g
    pipeline = pipelines.get(name)
    test_y = y[int(len(frame) * 0.8) :]
    for config in _configs(pipeline):
        model, predicted = _fit_predict(pipeline, config, frame, y, schema)
        assert len(predicted) == len(test_y)
        assert set(predicted) <= {"good", "bad"}, config
        proba = model.predict_proba(frame.iloc[:5])
        assert proba.shape == (5, 2)
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", REGRESSORS)
def test_regressor_default_and_sampled_configs_fit_predict_on_machine_cpu(name, machine_cpu):
    frame, y, schema = machine_cpu
    pipeline = pipelines.get(name)
    for config in _configs(pipeline):
        _, predicted = _fit_predict(pipeline, config, frame, y, schema)
        assert predicted.shape == (len(frame) - int(len(frame) * 0.8),)
        assert np.isfinite(predicted).all(), config


def test_regression_pipeline_refuses_a_classification_schema(credit_g):
    frame, y, schema = credit_g
    with pytest.raises(ConfigError, match="does not support classification"):
        pipelines.get("sklearn.svr").build({}, schema)


def test_schema_with_column_order_selects_by_index(credit_g):
    # Publishing needs index lists (openml-python cannot serialise column selectors by name).
    frame, y, schema = credit_g
    indexed = DataSchema(
        schema.numeric, schema.categorical, schema.classes, columns=list(frame.columns)
    )
    model = pipelines.get("sklearn.random_forest").build({}, indexed, CAPS)
    selected = [cols for _, _, cols in model.steps[0][1].transformers]
    assert all(isinstance(c, int) for cols in selected for c in cols)
    model.fit(frame.to_numpy(), y)
    assert len(model.predict(frame.to_numpy()[:3])) == 3
