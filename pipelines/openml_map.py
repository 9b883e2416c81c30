"""OpenML flows and setups <-> catalogue pipelines and canonical configurations.

Reading: a flow is a catalogue pipeline when its id is known (6969) or its name is a scikit-learn
flow whose only model is the pipeline's estimator class (any sklearn version's module path, any
preprocessing of imputers, encoders, scalers and column selection in front), or another toolkit's
flow with corresponding hyperparameters (see ``pipelines.foreign``). Parameter keys may come as
OpenML gives them (``randomforestclassifier__max_features``, ``max_features``) or flow-qualified
(``sklearn.ensemble.forest.RandomForestClassifier(12)_max_features``).

Writing: a canonical config becomes the flow name of the pipeline ``build`` makes and its
parameter settings, JSON-encoded as openml-python's scikit-learn extension encodes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metabase.errors import ConfigError
from pipelines.flow_ids import KNOWN_FLOW_IDS
from pipelines.values import to_openml_value

if TYPE_CHECKING:
    from pipelines.base import Pipeline

# Components that may sit in front of the model without changing what the model is.
PREPROCESSING = frozenset(
    {
        "Pipeline",
        "ColumnTransformer",
        "FeatureUnion",
        "SimpleImputer",
        "Imputer",
        "ConditionalImputer",
        "IterativeImputer",
        "MissingIndicator",
        "OneHotEncoder",
        "OrdinalEncoder",
        "StandardScaler",
        "MinMaxScaler",
        "RobustScaler",
        "MaxAbsScaler",
        "VarianceThreshold",
        "FunctionTransformer",
        "Normalizer",
    }
)
# Base estimators that a meta-estimator in the catalogue is allowed to wrap.
WRAPPED = {
    "AdaBoostClassifier": "DecisionTreeClassifier",
    "AdaBoostRegressor": "DecisionTreeRegressor",
}
_CLASS = re.compile(r"(?:[A-Za-z_]\w*\.)+([A-Z]\w*)")
_QUALIFIED = re.compile(r"^(?P<flow>.*)\((?P<version>\d+)\)_(?P<param>[^()]+)$")
_IMPUTER = re.compile(r"imput", re.IGNORECASE)


@dataclass(frozen=True)
class OpenMLSetup:
    """A configuration as OpenML sees it: the flow name and the parameter values (JSON text)."""

    flow_name: str
    class_name: str
    parameters: dict[str, str]  # sklearn get_params keys ("randomforestclassifier__max_features")

    @property
    def parameter_settings(self) -> list[dict[str, str]]:
        """The run upload's ``oml:parameter_setting`` entries: component path, name, value."""
        out = []
        for key, value in self.parameters.items():
            component, _, name = key.rpartition("__")
            out.append({"component": component, "name": name, "value": value})
        return out


# -- which pipeline is this flow --------------------------------------------------------------
def could_be_catalogue(flow_name: str | None, flow_id: int | None = None) -> bool:
    """False when a flow cannot be a catalogue pipeline, decided without building the catalogue
    (ConfigSpace and scipy cost ~1.4 s to import: a sync of other flows need not pay it). True
    means "ask :func:`match_flow`". It applies match_flow's own rules: a known id, another
    toolkit's known prefix, or a scikit-learn flow name.
    """
    from pipelines.foreign import FOREIGN

    if flow_id is not None and int(flow_id) in KNOWN_FLOW_IDS:
        return True
    if not flow_name:
        return False
    bare = re.sub(r"\(\d+\)$", "", flow_name.strip())
    prefixes = [prefix for foreign in FOREIGN.values() for prefix in foreign]
    if any(bare == prefix or bare.startswith(prefix + "(") for prefix in prefixes):
        return True
    return "sklearn." in flow_name


def match_flow(flow_name: str | None, flow_id: int | None = None):
    """The catalogue Pipeline a flow is, or None."""
    if not could_be_catalogue(flow_name, flow_id):
        return None
    from pipelines.registry import catalogue

    pipelines = catalogue()
    if flow_id is not None:
        for p in pipelines.values():
            if int(flow_id) in p.openml.flow_ids:
                return p
    if not flow_name:
        return None
    bare = re.sub(r"\(\d+\)$", "", flow_name.strip())
    for p in pipelines.values():
        if any(bare == prefix or bare.startswith(prefix + "(") for prefix in p.openml.foreign):
            return p
    if "sklearn." not in flow_name:
        return None
    models = [c for c in _CLASS.findall(flow_name) if c not in PREPROCESSING]
    if len(models) == 2 and WRAPPED.get(models[0]) == models[1]:
        models = models[:1]
    if len(models) != 1:
        return None  # a search wrapper, an ensemble of several models, or no model at all
    for p in pipelines.values():
        if models[0] in p.openml.classes:
            return p
    return None


def _by_architecture(pipeline: Pipeline, parameters: Mapping[str, Any]) -> Pipeline | None:
    """Among pipelines sharing one estimator class (torch), the one the setup's architecture
    names.
    """
    if pipeline.openml.architecture is None:
        return pipeline
    from pipelines.registry import catalogue
    from pipelines.values import parse_value

    wanted = next(
        (
            parse_value(v)
            for k, v in parameters.items()
            if str(k).split("__")[-1].rsplit(")_", 1)[-1] == "architecture"
        ),
        None,
    )
    for p in catalogue().values():
        if p.openml.classes == pipeline.openml.classes and p.openml.architecture == wanted:
            return p
    return None


def map_openml(
    flow_name: str | None,
    parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    flow_id: int | None = None,
    *,
    n_features: int | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """(pipeline name, canonical config) for an OpenML setup, or None when it is no catalogue
    pipeline or its values lie outside the pipeline's space.
    """
    pipeline = match_flow(flow_name, flow_id)
    if pipeline is None:
        return None
    pipeline = _by_architecture(pipeline, _as_mapping(parameters))
    if pipeline is None:
        return None
    bare = re.sub(r"\(\d+\)$", "", (flow_name or "").strip())
    for prefix, translate in pipeline.openml.foreign.items():
        if bare == prefix or bare.startswith(prefix + "("):
            config = translate(_as_mapping(parameters), n_features=n_features)
            if config is None:
                return None
            try:
                return pipeline.name, pipeline.canonicalize(config)
            except ConfigError:
                return None
    try:
        return pipeline.name, from_openml(pipeline, parameters)
    except ConfigError:
        return None


# -- parameters -> config ---------------------------------------------------------------------
def _as_mapping(parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Key -> value from a mapping, or from OpenML parameter records (name/full_name + value)."""
    if isinstance(parameters, Mapping):
        return dict(parameters)
    out: dict[str, Any] = {}
    for record in parameters:
        key = record.get("full_name") or record.get("name") or record.get("parameter_name")
        if "component" in record and record.get("component") and "name" in record:
            key = f"{record['component']}__{record['name']}"
        out[str(key)] = record.get("value")
    return out


def _split_key(key: str) -> tuple[list[str], str]:
    """(component path, parameter name) of an OpenML parameter key."""
    qualified = _QUALIFIED.match(key)
    if qualified:
        classes = _CLASS.findall(qualified["flow"]) or [qualified["flow"]]
        return [classes[-1]], qualified["param"]
    parts = key.split("__")
    return parts[:-1], parts[-1]


def from_openml(
    pipeline: Pipeline, parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The canonical config of ``pipeline`` from OpenML parameter values (ConfigError if invalid).

    Parameters of components outside the space (encoders, variance thresholds, n_jobs,
    random_state, the serialised steps) are ignored; the imputer's strategy is kept.
    """
    from pipelines.values import parse_value

    config: dict[str, Any] = {}
    for key, value in _as_mapping(parameters).items():
        if pipeline.openml.architecture is not None and _split_key(str(key))[1] == "config":
            nested = parse_value(value)
            if isinstance(nested, Mapping):  # the torch estimators take the config whole
                config.update(nested)
            continue
        ours = _resolve(pipeline, str(key))
        if ours is not None:
            config[ours] = value
    return pipeline.canonicalize(config)


def _resolve(pipeline: Pipeline, key: str) -> str | None:
    """Our hyperparameter for an OpenML parameter key, or None to ignore it (memoised: imports
    resolve the same few keys for every setup of a flow).
    """
    cache = pipeline.__dict__.setdefault("_openml_keys", {})
    if key in cache:
        return cache[key]
    names = set(pipeline.space.keys())
    by_path = {path: ours for ours, path in pipeline.openml.paths.items()}
    model_components = {
        pipeline.openml.step,
        "classifier",
        "regressor",
        "estimator",
        "clf",
        "model",
    }
    model_components |= {c.lower() for c in pipeline.openml.classes} | set(pipeline.openml.classes)
    component, param = _split_key(key)
    ours = _match_path(component, param, by_path)
    imputer = any(_IMPUTER.search(c) for c in component) or (
        not component and "strategy" not in names
    )
    if ours is None and param == "strategy" and imputer:
        # A bare "strategy" (OpenML's parameter_name without its component) can only be the
        # imputer's in a pipeline whose model has no parameter of that name.
        ours = "imputation_strategy"
    elif ours is None and (not component or component[-1] in model_components):
        if param in names and param not in pipeline.openml.paths:
            ours = param
    cache[key] = ours
    return ours


def _match_path(component: list[str], param: str, by_path: Mapping[str, str]) -> str | None:
    full = "__".join([*component, param])
    for path, ours in by_path.items():
        if full == path or full.endswith("__" + path):
            return ours
    return None


# -- config -> OpenML -------------------------------------------------------------------------
def sklearn_flow_name(model: Any) -> str:
    """The flow name openml-python's scikit-learn extension gives ``model``: each component's
    module path, with its sub-components in parentheses.
    """
    from sklearn.base import BaseEstimator
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline as SkPipeline

    cls = type(model)
    if isinstance(model, SkPipeline):
        parts = [(name, step) for name, step in model.steps]
    elif isinstance(model, ColumnTransformer):
        parts = [(name, t) for name, t, _ in model.transformers if not isinstance(t, str)]
    else:
        parts = [
            (k, v) for k, v in model.get_params(deep=False).items() if isinstance(v, BaseEstimator)
        ]
    inner = ",".join(f"{name}={sklearn_flow_name(part)}" for name, part in parts)
    return f"{cls.__module__}.{cls.__qualname__}" + (f"({inner})" if inner else "")


def to_openml(
    pipeline: Pipeline, config: Mapping[str, Any], task_type: str | None = None
) -> OpenMLSetup:
    """The flow name and parameter settings (JSON text) to publish ``config`` on OpenML."""
    from pipelines.base import DataSchema

    config = pipeline.canonicalize(config)
    task_type = task_type or pipeline.task_types[0]
    # The flow's structure does not depend on the data beyond having both column kinds.
    schema = DataSchema(
        ["numeric"],
        ["nominal"],
        classes=[0, 1] if task_type == "classification" else None,
        task_type=task_type,
        columns=["numeric", "nominal"],
    )
    model = pipeline.build(config, schema)
    step = pipeline.openml.step
    parameters: dict[str, str] = {}
    if pipeline.openml.architecture is not None:
        network = {k: v for k, v in config.items() if k != "imputation_strategy"}
        parameters[f"{step}__architecture"] = to_openml_value(pipeline.openml.architecture)
        parameters[f"{step}__config"] = to_openml_value(network)
        config = {"imputation_strategy": config["imputation_strategy"]}
    for name, value in config.items():
        if name == "imputation_strategy":
            key = "columntransformer__numeric__simpleimputer__strategy"
        else:
            key = f"{step}__{pipeline.openml.paths.get(name, name)}"
        parameters[key] = to_openml_value(value)
    final = type(model.steps[-1][1])
    return OpenMLSetup(
        sklearn_flow_name(model), f"{final.__module__}.{final.__qualname__}", parameters
    )
