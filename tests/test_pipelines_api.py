"""The public API others code against: names, get, map_openml, config_hash, canonicalize."""

from __future__ import annotations

import pytest

import pipelines
from metabase.errors import ConfigError, NotFoundError

ISSUE_NAMES = {
    "sklearn.random_forest",
    "sklearn.extra_trees",
    "sklearn.adaboost",
    "sklearn.gradient_boosting",
    "sklearn.hist_gradient_boosting",
    "sklearn.svc",
    "sklearn.logistic_regression",
    "sklearn.knn",
    "sklearn.decision_tree",
    "lightgbm",
    "torch.mlp",
    "torch.resnet",
}

# A flow-6969 run as importers pass it: OpenML's own keys, Python-repr strings.
PIMP_RUN = {
    "randomforestclassifier__bootstrap": "True",
    "randomforestclassifier__criterion": "entropy",
    "randomforestclassifier__max_depth": "None",
    "randomforestclassifier__max_features": "0.8026968345397216",
    "randomforestclassifier__max_leaf_nodes": "None",
    "randomforestclassifier__min_samples_leaf": "18",
    "randomforestclassifier__min_samples_split": "9",
    "randomforestclassifier__min_weight_fraction_leaf": "0.0",
    "randomforestclassifier__n_estimators": "100",
    "columntransformer__numeric__imputer__strategy": "median",
}


def test_catalogue_has_every_pipeline_the_issue_names():
    assert ISSUE_NAMES <= set(pipelines.names())
    assert pipelines.names() == sorted(pipelines.names())


def test_get_unknown_name_lists_known_ones():
    with pytest.raises(NotFoundError, match="sklearn.random_forest"):
        pipelines.get("sklearn.nope")


def test_flow_6969_without_name_maps_to_random_forest_with_typed_values():
    name, config = pipelines.map_openml(None, PIMP_RUN, flow_id=6969)
    assert name == "sklearn.random_forest"
    assert config["max_features"] == 0.8026968345397216
    assert config["bootstrap"] is True
    assert config["max_depth"] is None
    assert config["min_samples_leaf"] == 18 and isinstance(config["min_samples_leaf"], int)
    assert config["criterion"] == "entropy"
    assert config["imputation_strategy"] == "median"


def test_json_encoded_and_plain_keys_hash_the_same():
    json_encoded = {
        "bootstrap": "true",
        "criterion": '"entropy"',
        "max_depth": "null",
        "max_features": "0.8026968345397216",
        "min_samples_leaf": 18,
        "min_samples_split": "9",
        "columntransformer__numeric__simpleimputer__strategy": '"median"',
    }
    a = pipelines.map_openml("sklearn.ensemble.forest.RandomForestClassifier(3)", json_encoded)
    b = pipelines.map_openml(None, PIMP_RUN, flow_id=6969)
    assert a == b
    assert pipelines.config_hash(*a) == pipelines.config_hash(*b)


def test_config_hash_differs_when_a_value_differs():
    _, config = pipelines.map_openml(None, PIMP_RUN, flow_id=6969)
    other = dict(config, min_samples_leaf=17)
    assert pipelines.config_hash("sklearn.random_forest", config) != pipelines.config_hash(
        "sklearn.random_forest", other
    )


def test_flow_qualified_keys():
    params = {
        "sklearn.ensemble.forest.RandomForestClassifier(12)_max_features": "0.3",
        "sklearn.ensemble.forest.RandomForestClassifier(12)_bootstrap": "false",
    }
    name, config = pipelines.map_openml(
        "sklearn.ensemble.forest.RandomForestClassifier(12)", params
    )
    assert name == "sklearn.random_forest"
    assert config["max_features"] == 0.3 and config["bootstrap"] is False


def test_non_catalogue_flows_map_to_none():
    assert pipelines.map_openml("weka.J48(1)", {"C": "0.9", "M": "2"}) is None
    grid = (
        "sklearn.model_selection._search.GridSearchCV(estimator=sklearn.pipeline.Pipeline("
        "imputer=sklearn.impute._base.SimpleImputer,"
        "classifier=sklearn.tree._classes.DecisionTreeClassifier))(1)"
    )
    assert pipelines.map_openml(grid, {}) is None


def test_canonicalize_rejects_out_of_range_naming_parameter_and_range():
    rf = pipelines.get("sklearn.random_forest")
    with pytest.raises(ConfigError, match=r"max_features.*\[0\.05, 1\]"):
        rf.canonicalize({"max_features": 1.5})
    with pytest.raises(ConfigError, match=r"criterion.*'gini'"):
        rf.canonicalize({"criterion": "mse"})
    with pytest.raises(ConfigError, match="no_such_param"):
        rf.canonicalize({"no_such_param": 1})


def test_bare_openml_parameter_names_of_flow_6969():
    bare = {
        "strategy": "most_frequent",
        "max_features": "0.5",
        "bootstrap": "False",
        "n_jobs": "-1",
    }
    name, config = pipelines.map_openml(None, bare, flow_id=6969)
    assert config["imputation_strategy"] == "most_frequent"
    assert config["max_features"] == 0.5 and config["bootstrap"] is False


def test_importing_the_catalogue_loads_neither_torch_nor_lightgbm():
    import subprocess
    import sys

    code = (
        "import sys, pipelines; pipelines.names(); pipelines.get('torch.mlp').sample(3, 0); "
        "print(sorted(m for m in ('torch', 'lightgbm', 'duckdb', 'openml') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_pipelines_imports_only_errors_from_metabase():
    import ast
    from pathlib import Path

    package = Path(pipelines.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                if name.split(".")[0] in ("metabase", "cli"):
                    assert name == "metabase.errors", f"{path.name} imports {name}"


def test_already_typed_numpy_and_missing_values_map_like_strings():
    import numpy as np
    import pandas as pd

    typed = {
        "randomforestclassifier__bootstrap": np.bool_(True),
        "randomforestclassifier__criterion": "entropy",
        "randomforestclassifier__max_depth": float("nan"),  # pandas reads "None" as NaN
        "randomforestclassifier__max_features": np.float64(0.8026968345397216),
        "randomforestclassifier__max_leaf_nodes": pd.NA,
        "randomforestclassifier__min_samples_leaf": np.int64(18),
        "randomforestclassifier__min_samples_split": 9,
        "randomforestclassifier__min_weight_fraction_leaf": 0,
        "randomforestclassifier__n_estimators": 100.0,
        "columntransformer__numeric__imputer__strategy": "median",
    }
    assert pipelines.map_openml(None, typed, flow_id=6969) == pipelines.map_openml(
        None, PIMP_RUN, flow_id=6969
    )


def test_values_json_has_no_numbers_for_hash_and_store_as_text():
    """OpenML setups can hold "1e400" or "NaN"; Python's json reads them as inf/nan, which
    canonical JSON cannot write: they must not stop a sync, and the same text must give the same
    hash.
    """
    import json

    from pipelines.values import canonical_json, hash_text, parse_value

    assert (
        parse_value("1e400") == "1e400"
        and parse_value("NaN") == "NaN"
        and parse_value("-Infinity") == "-Infinity"
    )
    assert parse_value("1e300") == 1e300
    for config in (
        {"C": "1e400"},
        {"C": float("inf")},
        {"C": float("nan")},
        {"C": [1, float("-inf")]},
    ):
        json.loads(canonical_json(config))  # valid JSON, no exception
    assert hash_text("flow-1", {"C": "1e400"}) == hash_text("flow-1", {"C": "1e400"})
    assert hash_text("flow-1", {"C": "1e400"}) != hash_text("flow-1", {"C": "1e300"})
    assert canonical_json({"C": float("inf")}) == '{"C":"inf"}'


def test_the_quick_catalogue_check_never_rules_out_a_catalogue_flow():
    """``could_be_catalogue`` answers without building the catalogue; it may say "maybe" too
    often, never "no" for a flow that ``match_flow`` maps.
    """
    from pipelines.openml_map import could_be_catalogue
    from pipelines.registry import catalogue

    for pipeline in catalogue().values():
        for flow_id in pipeline.openml.flow_ids:
            assert (
                could_be_catalogue(None, flow_id)
                and pipelines.match_flow(None, flow_id) is pipeline
            )
        for prefix in pipeline.openml.foreign:
            assert (
                could_be_catalogue(f"{prefix}(4)", 1)
                and pipelines.match_flow(f"{prefix}(4)", 1) is not None
            )
        flow = (
            "sklearn.pipeline.Pipeline(imputer=sklearn.impute.SimpleImputer,"
            f"model={pipeline.openml.publish_class})"
        )
        assert could_be_catalogue(flow, 1)
    for name, flow_id in [
        ("synthetic.replay.flow_1", 90_000_002),
        ("weka.J48", 2),
        ("mlr.classif.svm(3)", 3),
        (None, 1),
    ]:
        assert (
            not could_be_catalogue(name, flow_id) and pipelines.match_flow(name, flow_id) is None
        )


def test_importing_pipelines_and_asking_about_a_foreign_flow_does_not_load_configspace():
    import subprocess
    import sys

    code = (
        "import sys, pipelines; assert pipelines.match_flow('weka.J48', 2) is None; "
        "pipelines.hash_text('flow-2', {'C': 1}); print('ConfigSpace' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
    assert (
        pipelines.get("sklearn.random_forest").name == "sklearn.random_forest"
    )  # lazily loaded on use
