"""The catalogue of ML pipelines metabase recommends and runs.

Per pipeline: a ConfigSpace search space, a canonical configuration form, a builder (config +
data schema -> scikit-learn estimator with its preprocessing), device needs, and the mapping
between OpenML flows/setups and canonical configurations. Depends only on ConfigSpace,
scikit-learn, lightgbm and torch (the last two loaded lazily) and ``metabase.errors``.

>>> import pipelines
>>> pipelines.map_openml(None, {"randomforestclassifier__max_features": "0.8"}, flow_id=6969)[0]
'sklearn.random_forest'
"""

from __future__ import annotations

__version__ = "0.1.0"  # openml-python records it in the flows of the torch estimators

import importlib
from collections.abc import Mapping
from typing import Any

from pipelines.openml_map import OpenMLSetup, from_openml, map_openml, match_flow, to_openml
from pipelines.values import generic_config, hash_text, parse_value

# Loaded on first use: the spaces need ConfigSpace (and so scipy), ~1.4 s to import, which code
# that only types values or asks whether a flow is a catalogue pipeline should not pay.
_LAZY = {
    "flow_coverage": "pipelines.coverage",
    "pipeline_for_flow": "pipelines.coverage",
    "BuildOptions": "pipelines.base",
    "DataSchema": "pipelines.base",
    "Pipeline": "pipelines.base",
    "get": "pipelines.registry",
    "names": "pipelines.registry",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def config_hash(pipeline: str, config: Mapping[str, Any]) -> str:
    """A stable hash of a configuration: equal for the same setting from any source.

    Catalogue pipelines hash their canonical form (so "0.8" and 0.8, missing defaults and present
    ones, inactive parameters or not, all agree); other pipelines hash their typed values.
    Raises ConfigError for a configuration outside a catalogue pipeline's space.
    """
    from pipelines.registry import catalogue

    entry = catalogue().get(pipeline)
    canonical = entry.canonicalize(config) if entry is not None else generic_config(config)
    return hash_text(pipeline, canonical)


def listing() -> list[dict[str, Any]]:
    """One row per catalogue pipeline: name, task types, device, size of the space, summary."""
    from pipelines.registry import get, names

    rows = []
    for name in names():
        p = get(name)
        rows.append(
            {
                "name": name,
                "task_types": ",".join(p.task_types),
                "device": p.device,
                "params": len(p.space),
                "conditional": len(p.space.conditions),
                "summary": p.summary,
            }
        )
    return rows


__all__ = [
    "listing",
    "BuildOptions",
    "DataSchema",
    "OpenMLSetup",
    "Pipeline",
    "config_hash",
    "flow_coverage",
    "pipeline_for_flow",
    "get",
    "map_openml",
    "from_openml",
    "to_openml",
    "match_flow",
    "names",
    "parse_value",
]
