"""Spaces, canonical form, invalid configurations and OpenML round trips, for every pipeline."""

from __future__ import annotations

import json
import warnings

import pytest
from ConfigSpace import Configuration

import pipelines
from metabase.errors import ConfigError
from pipelines import DataSchema

ALL = pipelines.names()


def _schema(pipeline):
    task = pipeline.task_types[0]
    return DataSchema(
        ["a", "b"],
        ["c"],
        classes=[0, 1] if task == "classification" else None,
        task_type=task,
        columns=["a", "b", "c"],
    )


@pytest.mark.parametrize("name", ALL)
def test_sampled_configs_are_valid_canonical_and_reproducible(name):
    p = pipelines.get(name)
    sampled = p.sample(50, seed=3)
    assert sampled == p.sample(50, seed=3)
    assert sampled != p.sample(50, seed=4)
    for config in sampled:
        assert p.canonicalize(config) == config
        # ConfigSpace itself agrees the configuration is valid (conditions, bounds).
        Configuration(p.space, values=config).check_valid_configuration()
    assert p.canonicalize({}) == p.default_config()


@pytest.mark.parametrize("name", ALL)
def test_openml_round_trip_and_parameters_are_the_built_models(name):
    p = pipelines.get(name)
    for config in [p.default_config(), *p.sample(20, seed=11)]:
        setup = pipelines.to_openml(p, config)
        assert pipelines.from_openml(p, setup.parameters) == config
        assert pipelines.map_openml(setup.flow_name, setup.parameters) == (name, config)
        # Every published parameter is what the built scikit-learn model really holds.
        params = p.build(config, _schema(p)).get_params()
        for key, text in setup.parameters.items():
            assert params[key] == json.loads(text), key
        # As a list of OpenML parameter settings (component + name + value) too.
        assert pipelines.from_openml(p, setup.parameter_settings) == config


def test_published_flow_names_are_what_openml_python_generates():
    from openml.extensions.sklearn import SklearnExtension

    extension = SklearnExtension()
    for name in (
        "sklearn.random_forest",
        "sklearn.adaboost",
        "sklearn.svr",
        "lightgbm",
        "torch.mlp",
    ):
        p = pipelines.get(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flow = extension.model_to_flow(p.build(p.default_config(), _schema(p)))
        assert flow.name == pipelines.to_openml(p, p.default_config()).flow_name


@pytest.mark.parametrize("name", ALL)
def test_each_out_of_range_value_is_named_with_its_allowed_range(name):
    p = pipelines.get(name)
    for hp in p.space.values():
        if hasattr(hp, "upper"):
            bad = hp.upper * 2 + 1
            with pytest.raises(
                ConfigError, match=rf"{hp.name} = .*\[{hp.lower:g}, {hp.upper:g}\]"
            ):
                p.canonicalize({hp.name: bad})
            with pytest.raises(ConfigError, match=hp.name):
                p.canonicalize({hp.name: "not a number"})
        elif hasattr(hp, "choices"):
            with pytest.raises(ConfigError, match=rf"{hp.name} = 'no-such-choice'.*one of"):
                p.canonicalize({hp.name: "no-such-choice"})


def test_integer_parameters_refuse_fractions_and_accept_integral_floats():
    rf = pipelines.get("sklearn.random_forest")
    with pytest.raises(ConfigError, match=r"min_samples_leaf = 2\.5 .*integer in \[1, 20\]"):
        rf.canonicalize({"min_samples_leaf": 2.5})
    assert rf.canonicalize({"min_samples_leaf": 2.0})["min_samples_leaf"] == 2
    with pytest.raises(ConfigError, match="bootstrap"):
        rf.canonicalize({"bootstrap": 1})  # 1 is not True: no silent bool coercion


def test_inactive_parameters_are_dropped_and_active_ones_defaulted():
    svc = pipelines.get("sklearn.svc")
    config = svc.canonicalize({"kernel": "rbf", "degree": 4, "coef0": 0.5})
    assert "degree" not in config and "coef0" not in config
    poly = svc.canonicalize({"kernel": "poly"})
    assert poly["degree"] == 3 and poly["coef0"] == 0.0
    mlp = pipelines.get("torch.mlp")
    chain = mlp.canonicalize({"n_layers": 2, "units_1": 64, "units_5": 32})
    assert [k for k in chain if k.startswith("units_")] == ["units_1", "units_2"]
    assert chain["units_2"] == 128


def test_config_hash_ignores_order_spelling_defaults_and_inactive_values():
    h = pipelines.config_hash
    base = h("sklearn.svc", {"kernel": "rbf", "C": 2.0})
    assert base == h("sklearn.svc", {"C": "2.0", "kernel": '"rbf"'})
    assert base == h("sklearn.svc", {"C": 2, "kernel": "rbf", "degree": 5, "gamma": 0.1})
    assert base != h("sklearn.svc", {"C": 2.5, "kernel": "rbf"})
    assert base != h("sklearn.svr", {"kernel": "rbf", "C": 2.0})
    # Pipelines outside the catalogue hash their typed values.
    assert h("mlr.classif.xgboost", {"eta": "0.3", "nrounds": 10}) == h(
        "mlr.classif.xgboost", {"nrounds": "10", "eta": 0.3}
    )
    with pytest.raises(ConfigError):
        h("sklearn.svc", {"C": -1})


def test_ranger_maps_when_features_are_known_and_not_otherwise():
    params = {"num.trees": "500", "mtry": "4", "min.node.size": "5", "replace": "TRUE"}
    assert pipelines.map_openml("mlr.classif.ranger(8)", params) is None  # mtry is a count
    name, config = pipelines.map_openml("mlr.classif.ranger(8)", params, n_features=16)
    assert name == "sklearn.random_forest"
    assert config["max_features"] == 0.25 and config["n_estimators"] == 500
    assert config["min_samples_leaf"] == 5 and config["bootstrap"] is True
    assert (
        pipelines.map_openml(
            "mlr.classif.ranger(8)", {**params, "splitrule": "extratrees"}, n_features=16
        )
        is None
    )
