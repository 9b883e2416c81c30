"""From a ConfigSpace space and stored configurations to the numeric box fANOVA works in.

- A numeric hyperparameter is one dimension over the space's bounds (on the log scale when the
  space samples it on that scale, so that the uniform measure fANOVA integrates over is the
  space's own); integers are treated as continuous over [lower, upper], as ``fanova`` does.
- A categorical or ordinal one is an integer code with bounds [-0.5, k - 0.5]: each choice has
  width 1, the uniform measure over the choices.
- Constants in the space, and hyperparameters that take one value in every run, are constant:
  they are reported as such and never enter a forest.
- A conditional hyperparameter (active only under a parent's value) takes its default where the
  space makes it inactive (stored canonical configurations leave inactive keys out), the
  imputation ``fanova``'s authors recommend: it then varies only where it is active, so it can
  only explain variance there.
- The bounds are the space's, narrowed to the range the runs cover: outside it the forest has no
  data and would only stretch its outermost leaves (openml-pimp sampled ``max_features`` from
  [0.1, 0.9], the catalogue's space allows [0.05, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_MISSING = object()


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter as fANOVA sees it. ``lower``/``upper`` are on the encoded scale."""

    name: str
    kind: str  # "numeric", "categorical" or "constant"
    lower: float
    upper: float
    default: Any
    log: bool = False
    integer: bool = False
    choices: tuple = ()
    conditional: bool = False

    def encode(self, value: Any) -> float:
        """The coordinate of ``value``; NaN when the value is not one the space allows."""
        if value is _MISSING or value is None:
            value = self.default
        if self.kind == "categorical":
            for code, choice in enumerate(self.choices):
                if _same_choice(value, choice):
                    return float(code)
            return math.nan
        try:
            number = float(value)
        except (TypeError, ValueError):
            return math.nan
        if self.log:
            return math.log(number) if number > 0 else math.nan
        return number

    def decode(self, coordinate: float) -> Any:
        """The hyperparameter value at ``coordinate`` (a choice, or a number on the raw scale)."""
        if self.kind == "categorical":
            return self.choices[int(round(min(max(coordinate, 0), len(self.choices) - 1)))]
        value = math.exp(coordinate) if self.log else float(coordinate)
        return int(round(value)) if self.integer else value


def _same_choice(value: Any, choice: Any) -> bool:
    """True also for 2.0 against the choice 2, or "True" against True; never for 1 against True."""
    if isinstance(value, bool) or isinstance(choice, bool):
        return value is choice or str(value) == str(choice)
    if isinstance(value, (int, float)) and isinstance(choice, (int, float)):
        return float(value) == float(choice)
    return value == choice or str(value) == str(choice)


def dimensions_from_space(space) -> list[Dimension]:
    """One :class:`Dimension` per hyperparameter of a ConfigSpace ``space``, in its order."""
    from ConfigSpace import CategoricalHyperparameter, Constant, OrdinalHyperparameter
    from ConfigSpace.hyperparameters import IntegerHyperparameter, NumericalHyperparameter

    dims = []
    for name, hp in space.items():
        conditional = bool(space.parent_conditions_of[name])
        if isinstance(hp, Constant):
            dims.append(Dimension(name, "constant", 0.0, 0.0, hp.value, conditional=conditional))
        elif isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
            choices = tuple(
                hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence
            )
            dims.append(
                Dimension(
                    name,
                    "categorical",
                    -0.5,
                    len(choices) - 0.5,
                    hp.default_value,
                    choices=choices,
                    conditional=conditional,
                )
            )
        elif isinstance(hp, NumericalHyperparameter):
            log = bool(getattr(hp, "log", False))
            lower, upper = (
                (math.log(hp.lower), math.log(hp.upper))
                if log
                else (float(hp.lower), float(hp.upper))
            )
            dims.append(
                Dimension(
                    name,
                    "numeric",
                    lower,
                    upper,
                    hp.default_value,
                    log=log,
                    integer=isinstance(hp, IntegerHyperparameter),
                    conditional=conditional,
                )
            )
        else:  # a distribution fANOVA cannot integrate over uniformly: leave it out, visibly
            dims.append(Dimension(name, "constant", 0.0, 0.0, getattr(hp, "default_value", None)))
    return dims


@dataclass(frozen=True)
class Encoded:
    """Configurations as a matrix over the dimensions that vary, and what was left out."""

    X: np.ndarray  # (runs kept) x (len(dims))
    dims: tuple[Dimension, ...]  # the varying dimensions, bounds narrowed to the runs
    constant: dict  # name -> the one value it takes (space constants included)
    kept: np.ndarray  # boolean mask over the input configurations
    unknown_keys: tuple[str, ...]  # stored keys the space does not have (ignored)


def encode(
    configs: Sequence[Mapping[str, Any]],
    dims: Sequence[Dimension],
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> Encoded:
    """Encode stored configurations (dicts) over ``dims``. Runs with a value the space does not
    allow (outside a categorical's choices, a non-number) are dropped (``kept`` says which).

    ``ranges`` (name -> (min, max) on the raw scale) are the values the runs cover, when they are
    known beyond ``configs`` (all the pipeline's runs, when only some tasks are analysed): the
    bounds then do not depend on which tasks were picked. Without them, ``configs``' own.
    """
    names = {d.name for d in dims}
    unknown = sorted({k for c in configs for k in c} - names)
    columns, constant, varying = [], {}, []
    for dim in dims:
        if dim.kind == "constant":
            constant[dim.name] = dim.default
            continue
        column = np.array([dim.encode(c.get(dim.name, _MISSING)) for c in configs], dtype=float)
        columns.append(column)
        varying.append(dim)
    X = np.column_stack(columns) if columns else np.empty((len(configs), 0))
    kept = ~np.isnan(X).any(axis=1)
    X = X[kept]
    out_dims, out_cols = [], []
    for j, dim in enumerate(varying):
        values = X[:, j]
        if len(values) == 0 or values.min() == values.max():
            constant[dim.name] = dim.decode(values[0]) if len(values) else dim.default
            continue
        if dim.kind == "numeric":  # the space's bounds, narrowed to what the runs cover
            low, high = (values.min(), values.max())
            if ranges and dim.name in ranges and None not in ranges[dim.name]:
                low, high = (dim.encode(v) for v in ranges[dim.name])
            lower, upper = max(dim.lower, low), min(dim.upper, high)
            if upper <= lower:
                constant[dim.name] = dim.decode(lower)
                continue
            dim = Dimension(
                dim.name,
                dim.kind,
                lower,
                upper,
                dim.default,
                dim.log,
                dim.integer,
                dim.choices,
                dim.conditional,
            )
            values = np.clip(values, lower, upper)
        out_dims.append(dim)
        out_cols.append(values)
    matrix = np.column_stack(out_cols) if out_cols else np.empty((len(X), 0))
    return Encoded(matrix, tuple(out_dims), constant, kept, tuple(unknown))


def encode_one(config: Mapping[str, Any], dims: Sequence[Dimension]) -> np.ndarray:
    """One configuration (e.g. the pipeline's default) over ``dims``, clipped into their bounds."""
    values = [d.encode(config.get(d.name, _MISSING)) for d in dims]
    values = [d.encode(d.default) if math.isnan(v) else v for d, v in zip(dims, values)]
    return np.clip(np.array(values, dtype=float), [d.lower for d in dims], [d.upper for d in dims])
