"""A JSON-ready description of a pipeline and its space, for listings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ConfigSpace import (
    CategoricalHyperparameter,
    Constant,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from pipelines.spaces import allowed
from pipelines.values import parse_value

if TYPE_CHECKING:
    from pipelines.base import Pipeline


def hyperparameters(pipeline: Pipeline) -> list[dict[str, Any]]:
    """One record per hyperparameter: name, type, range or choices, log, default, condition."""
    space = pipeline.space
    rows = []
    for name, hp in space.items():
        row: dict[str, Any] = {
            "name": name,
            "type": _kind(hp),
            "range": None,
            "choices": None,
            "log": bool(getattr(hp, "log", False)),
            "default": None,
            "condition": None,
        }
        if isinstance(hp, (UniformIntegerHyperparameter, UniformFloatHyperparameter)):
            cast = int if isinstance(hp, UniformIntegerHyperparameter) else float
            row["range"] = [cast(hp.lower), cast(hp.upper)]
            row["default"] = cast(hp.default_value)
        elif isinstance(hp, Constant):
            row["default"] = parse_value(hp.value)
            row["choices"] = [row["default"]]
        elif isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
            choices = hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence
            row["choices"] = [parse_value(c) for c in choices]
            row["default"] = parse_value(hp.default_value)
        conditions = space.parent_conditions_of[name]
        if conditions:
            row["condition"] = " and ".join(str(c).split(" | ", 1)[-1] for c in conditions)
        row["allowed"] = allowed(hp)
        rows.append(row)
    return rows


def _kind(hp) -> str:
    if isinstance(hp, UniformIntegerHyperparameter):
        return "integer"
    if isinstance(hp, UniformFloatHyperparameter):
        return "float"
    if isinstance(hp, Constant):
        return "constant"
    if isinstance(hp, OrdinalHyperparameter):
        return "ordinal"
    return "categorical"


def describe(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "name": pipeline.name,
        "summary": pipeline.summary,
        "task_types": list(pipeline.task_types),
        "device": pipeline.device,
        "openml_class": pipeline.openml.publish_class,
        "openml_flow_ids": list(pipeline.openml.flow_ids),
        "foreign_flows": sorted(pipeline.openml.foreign),
        "default_config": pipeline.default_config(),
        "hyperparameters": hyperparameters(pipeline),
    }


__all__ = ["describe", "hyperparameters"]
