"""The small engine: meta-feature classes, a registry, and a caching dependency resolver.

A :class:`MetaFeature` subclass declares its OpenML ``name``, its ``group``, the names it
``requires`` (other meta-features or :class:`Intermediate` results) and a one-line docstring.
Shared intermediates (the numeric matrix, per-column moments, a landmarker's cross-validated
predictions) are computed once per :func:`compute` call and cached in the :class:`Context`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

REGISTRY: dict[str, type["Node"]] = {}


class NotApplicable(Exception):
    """Raised by a node whose value is undefined for this data; the message is the NaN's reason."""


class BudgetExceeded(Exception):
    """A group ran past its time budget."""


class Node:
    """Anything the engine can compute and cache: a meta-feature or an intermediate."""

    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__
        if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
            raise TypeError(f"meta-feature name {cls.name!r} is defined twice")
        REGISTRY[cls.name] = cls

    def compute(self, ctx: "Context", *deps: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class Intermediate(Node):
    """A shared result several meta-features need; never reported."""

    abstract = True


class MetaFeature(Node):
    """One reported quality (float, NaN allowed)."""

    abstract = True
    group: ClassVar[str] = ""
    #: "classification" makes the value NaN (with a reason) when the target is numeric or absent.
    needs: ClassVar[str | None] = None


@dataclass
class Context:
    """The data and the cache for one :func:`compute` call."""

    X: pd.DataFrame
    y: pd.Series | None
    task: str  # "classification", "regression" or "none"
    seed: int = 0
    cache: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    deadline: float | None = None

    def check_budget(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise BudgetExceeded("budget exceeded")

    def get(self, name: str) -> Any:
        if name in self.cache:
            return self.cache[name]
        if name in self.errors:
            raise NotApplicable(self.errors[name])
        node = REGISTRY[name]
        try:
            if (
                isinstance(node, type)
                and issubclass(node, MetaFeature)
                and node.needs == "classification"
                and self.task != "classification"
            ):
                raise NotApplicable(
                    "classification only" if self.task == "regression" else "needs a target"
                )
            deps = [self.get(d) for d in node.requires]
            self.check_budget()
            value = node().compute(self, *deps)
        except BudgetExceeded:
            raise
        except NotApplicable as exc:
            self.errors[name] = str(exc)
            raise
        except (ValueError, ZeroDivisionError, FloatingPointError, IndexError) as exc:
            self.errors[name] = f"undefined for this data ({type(exc).__name__}: {exc})"
            raise NotApplicable(self.errors[name])
        self.cache[name] = value
        return value


@dataclass(frozen=True)
class MetaFeatureResult:
    """What :func:`compute` returns: values, the reason for each NaN, and time per group."""

    values: dict[str, float]
    reasons: dict[str, str]
    timings: dict[str, float]
    groups: dict[str, str]

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {
                "quality": q,
                "value": v,
                "group": self.groups.get(q, ""),
                "reason": self.reasons.get(q),
            }
            for q, v in self.values.items()
        ]
        return pd.DataFrame(rows, columns=["quality", "value", "group", "reason"])

    def __getitem__(self, name: str) -> float:
        return self.values[name]


def metafeatures() -> dict[str, type[MetaFeature]]:
    return {n: c for n, c in REGISTRY.items() if issubclass(c, MetaFeature)}


def as_float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if np.isfinite(out) else math.nan
