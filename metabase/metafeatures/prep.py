"""Shared intermediates: the typed view of the data that every group starts from.

OpenML (its Java data-quality code on Weka ``Instances``) counts the target as one of the
attributes: ``NumberOfFeatures``, ``NumberOfSymbolicFeatures``, ``NumberOfBinaryFeatures`` and the
nominal distinct-value statistics include it. The per-attribute statistics (means, entropy, mutual
information) are over the non-target attributes only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metabase.metafeatures.engine import Context, Intermediate, NotApplicable


def is_nominal(series: pd.Series) -> bool:
    return is_nominal_dtype(series.dtype)


def is_nominal_dtype(dtype) -> bool:
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def codes_of(series: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes (-1 for missing) and the number of declared (or observed) categories."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(dtype=np.int64), len(series.cat.categories)
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), len(uniques)


@dataclass(frozen=True)
class Columns:
    nominal: list[str]
    numeric: list[str]


class ColumnTypes(Intermediate):
    """Split the attributes (target excluded) into nominal and numeric."""

    def compute(self, ctx: Context) -> Columns:
        dtypes = ctx.X.dtypes
        nominal = [c for c, dtype in dtypes.items() if is_nominal_dtype(dtype)]
        chosen = set(nominal)
        numeric = [c for c in ctx.X.columns if c not in chosen]
        return Columns(nominal, numeric)


class NumericMatrix(Intermediate):
    """The numeric attributes as a float matrix (NaN for missing), one column per attribute."""

    requires = ("ColumnTypes",)

    def compute(self, ctx: Context, cols: Columns) -> np.ndarray:
        if not cols.numeric:
            return np.empty((len(ctx.X), 0))
        return ctx.X[cols.numeric].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)


@dataclass(frozen=True)
class NominalCodes:
    codes: list[np.ndarray]  # -1 marks a missing value
    n_declared: list[int]


class NominalMatrix(Intermediate):
    """The nominal attributes as integer codes, with their numbers of declared values."""

    requires = ("ColumnTypes",)

    def compute(self, ctx: Context, cols: Columns) -> NominalCodes:
        pairs = [codes_of(ctx.X[c]) for c in cols.nominal]
        return NominalCodes([p[0] for p in pairs], [p[1] for p in pairs])


@dataclass(frozen=True)
class Target:
    codes: np.ndarray  # class index per row, -1 for a missing label
    counts: np.ndarray  # instances per declared class
    labels: list


class TargetCodes(Intermediate):
    """The class labels as integer codes and the count of each declared class."""

    def compute(self, ctx: Context) -> Target:
        if ctx.y is None or ctx.task != "classification":
            raise NotApplicable("classification only" if ctx.y is not None else "needs a target")
        y = ctx.y
        if isinstance(y.dtype, pd.CategoricalDtype):
            codes, labels = y.cat.codes.to_numpy(np.int64), list(y.cat.categories)
        else:
            codes, uniq = pd.factorize(y, sort=True, use_na_sentinel=True)
            codes, labels = codes.astype(np.int64), list(uniq)
        counts = np.bincount(codes[codes >= 0], minlength=len(labels)).astype(float)
        return Target(codes, counts, labels)


def summary(values, how: str) -> float:
    """min/max/mean/std/quartiles of a vector, ignoring NaN; NaN (with a reason) when it is
    empty.
    """
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise NotApplicable("no attributes of the required type")
    if how == "min":
        return float(arr.min())
    if how == "max":
        return float(arr.max())
    if how == "mean":
        return float(arr.mean())
    if how == "sum":
        return float(arr.sum())
    if how == "std":  # population std, as numpy and auto-sklearn use
        return float(arr.std())
    if how == "stdv":  # sample std (n-1), as OpenML's StdvNominalAttDistinctValues
        return float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    if how in ("q1", "q2", "q3"):
        return quartile(arr, int(how[1]))
    raise ValueError(how)


def quartile(arr: np.ndarray, which: int) -> float:
    """Quartile as OpenML computes it (Apache commons-math ``Percentile``: position p(n+1))."""
    arr = np.sort(arr)
    n = arr.size
    pos = which / 4 * (n + 1)
    if pos < 1:
        return float(arr[0])
    if pos >= n:
        return float(arr[-1])
    lo = int(np.floor(pos))
    frac = pos - lo
    return float(arr[lo - 1] + frac * (arr[lo] - arr[lo - 1]))
