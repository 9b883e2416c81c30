"""Pure helpers over ConfigSpace hyperparameters: what a value may be, and its typed form.

A leaf module (ConfigSpace and ``pipelines.values`` only), so that the Pipeline record and the
listings that describe it can both use it without importing each other.
"""

from __future__ import annotations

import math
from typing import Any

from ConfigSpace import (
    CategoricalHyperparameter,
    Constant,
    NormalFloatHyperparameter,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from metabase.errors import ConfigError
from pipelines.values import parse_value


def parents(condition) -> list:
    if hasattr(condition, "parent"):
        return [condition.parent]
    return [p for c in condition.components for p in parents(c)]


def plain_default(hp) -> Any:
    return parse_value(hp.value if isinstance(hp, Constant) else hp.default_value)


def allowed(hp) -> str:
    """A short text of what a hyperparameter allows, for error messages and listings."""
    if isinstance(hp, UniformIntegerHyperparameter):
        return f"an integer in [{hp.lower}, {hp.upper}]" + (" (log scale)" if hp.log else "")
    if isinstance(hp, (UniformFloatHyperparameter, NormalFloatHyperparameter)):
        return f"a number in [{hp.lower:g}, {hp.upper:g}]" + (" (log scale)" if hp.log else "")
    if isinstance(hp, Constant):
        return f"exactly {parse_value(hp.value)!r}"
    if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
        choices = hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence
        return "one of " + ", ".join(repr(parse_value(c)) for c in choices)
    return "a value of " + type(hp).__name__


def coerce(pipeline: str, hp, value: Any) -> Any:
    """The typed value of ``value`` for ``hp``, or ConfigError naming both."""
    v = parse_value(value)

    def fail() -> ConfigError:
        return ConfigError(
            f"{pipeline}: {hp.name} = {value!r} is not valid; it must be {allowed(hp)}"
        )

    if isinstance(hp, UniformIntegerHyperparameter):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise fail()
        if isinstance(v, float):
            if not (math.isfinite(v) and v.is_integer()):
                raise fail()
            v = int(v)
        if not hp.lower <= v <= hp.upper:
            raise fail()
        return int(v)
    if isinstance(hp, (UniformFloatHyperparameter, NormalFloatHyperparameter)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise fail()
        # ConfigSpace stores bounds as float64; compare with a hair of tolerance for
        # values that went through text and back.
        if not (hp.lower - 1e-12 <= v <= hp.upper + 1e-12):
            raise fail()
        return float(min(max(v, hp.lower), hp.upper))
    if isinstance(hp, Constant):
        target = parse_value(hp.value)
        if _same(v, target):
            return target
        raise fail()
    choices = hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence
    for choice in choices:
        typed = parse_value(choice)
        if _same(v, typed):
            return typed
    raise fail()


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps True apart from 1 and 1.0 apart from "1"."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return type(a) is type(b) and a == b
