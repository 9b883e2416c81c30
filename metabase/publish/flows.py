"""A run's OpenML flow: openml-python's own for scikit-learn pipelines, else one built from the
catalogue (a stable name ``metabase.<pipeline>``, one parameter per hyperparameter with its
default, library versions as dependencies, and how to rebuild it with metabase).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class FlowPlan:
    """A flow to find or publish, and how to get a run's parameter settings from it once it has
    ids.
    """

    flow: Any  # openml.flows.OpenMLFlow
    sklearn: bool
    pipeline: str


def is_sklearn(pipeline: str) -> bool:
    return pipeline.startswith("sklearn.")


def sklearn_flow(pipeline: str, config: dict, seed: int, fidelity: dict, data) -> FlowPlan:
    """openml-python's flow of the estimator the runner built for this run."""
    from openml.extensions.sklearn import SklearnExtension

    import pipelines
    from metabase.runner.execute import schema_for
    from pipelines import BuildOptions

    options = BuildOptions(
        max_estimators=(fidelity or {}).get("n_estimators"),
        max_epochs=(fidelity or {}).get("epochs"),
        random_state=int(seed or 0),
        n_jobs=1,
    )
    model = pipelines.get(pipeline).build(dict(config), schema_for(data), options)
    return FlowPlan(SklearnExtension().model_to_flow(model), True, pipeline)


def catalogue_flow(pipeline: str, versions: dict[str, str]) -> FlowPlan:
    """The flow of a catalogue pipeline openml-python cannot serialise (torch, LightGBM)."""
    from openml.flows import OpenMLFlow

    import pipelines

    entry = pipelines.get(pipeline)
    defaults = entry.default_config()
    name = f"metabase.{pipeline}"
    deps = "\n".join(f"{lib}=={ver}" for lib, ver in sorted(versions.items()) if ver)
    described = {h["name"]: h for h in _hyperparameters(entry)}
    parameters = {k: json.dumps(v) for k, v in sorted(defaults.items())}
    meta = {
        k: {
            "data_type": described.get(k, {}).get("kind") or type(v).__name__,
            "description": f"{pipeline} hyperparameter {k}",
        }
        for k, v in sorted(defaults.items())
    }
    description = (
        f"The metabase catalogue pipeline {pipeline}: preprocessing (impute, encode, scale) then "
        f"the model. Rebuild it with `pipelines.get({pipeline!r}).build(config, schema)` from "
        "metabase's pipelines package, or run it with `metabase run --pipeline "
        f"{pipeline} --config JSON`; the run's parameter settings are that JSON's values."
    )
    external = ",".join(
        [
            f"metabase.{pipeline}=={_catalogue_hash(entry)}",
            *(f"{lib}=={ver}" for lib, ver in sorted(versions.items()) if ver),
        ]
    )[:128]
    flow = OpenMLFlow(
        name=name,
        description=description,
        model=None,
        components={},
        parameters=parameters,
        parameters_meta_info=meta,
        external_version=external,
        tags=["metabase"],
        language="English",
        dependencies=deps,
        class_name=name,
        custom_name=name,
    )
    return FlowPlan(flow, False, pipeline)


def _hyperparameters(entry) -> list[dict]:
    from pipelines.describe import hyperparameters

    try:
        return hyperparameters(entry)
    except Exception:  # noqa: BLE001 - descriptions are a nicety; the flow stands without them
        return []


def _catalogue_hash(entry) -> str:
    """A short digest of the space: a changed space is a new flow version."""
    import hashlib

    space = json.dumps(
        {k: repr(v) for k, v in sorted(entry.default_config().items())}, sort_keys=True
    )
    return hashlib.sha256(space.encode()).hexdigest()[:10]


def library_versions(pipeline: str, environment: dict | None) -> dict[str, str]:
    """The versions the run used (its stored environment), for the libraries its pipeline needs."""
    env = environment or {}
    libs = env.get("versions") if isinstance(env.get("versions"), dict) else env
    wanted = (
        ["metabase", "scikit-learn", "numpy"]
        + (["lightgbm"] if "lightgbm" in pipeline else [])
        + (["torch"] if "torch" in pipeline else [])
    )
    out = {}
    for lib in wanted:
        for key in (lib, lib.replace("-", "_"), "sklearn" if lib == "scikit-learn" else lib):
            if isinstance(libs.get(key), str):
                out[lib] = libs[key]
                break
    return out


def parameter_settings(plan: FlowPlan, config: dict) -> list[dict]:
    """The run's ``oml:parameter_setting`` list; ``plan.flow`` must carry its server ids."""
    if plan.sklearn:
        return plan.flow.extension.obtain_parameter_values(plan.flow)
    return [
        {"oml:name": k, "oml:value": json.dumps(v), "oml:component": plan.flow.flow_id}
        for k, v in sorted(config.items())
    ]
