"""Simple counts and ratios, the class distribution, and missing values (groups ``general``,
``class`` and ``missing``). Definitions follow OpenML's data-quality code; the target counts as an
attribute in every ``NumberOf...Features`` count, as on OpenML.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metabase.metafeatures.engine import Context, Intermediate, MetaFeature, NotApplicable
from metabase.metafeatures.prep import Columns, Target, is_nominal, summary

# ---------------------------------------------------------------- general: counts and ratios


class _General(MetaFeature):
    abstract = True
    group = "general"


def _target_is_nominal(ctx: Context) -> bool:
    return ctx.y is not None and (ctx.task == "classification" or is_nominal(ctx.y))


class NumberOfInstances(_General):
    """Number of instances (rows)."""

    def compute(self, ctx):
        return float(len(ctx.X))


class NumberOfFeatures(_General):
    """Number of attributes, the target included."""

    def compute(self, ctx):
        return float(ctx.X.shape[1] + (ctx.y is not None))


class NumberOfNumericFeatures(_General):
    """Number of numeric attributes (a numeric target included)."""

    requires = ("ColumnTypes",)

    def compute(self, ctx, cols: Columns):
        return float(len(cols.numeric) + (ctx.y is not None and not _target_is_nominal(ctx)))


class NumberOfSymbolicFeatures(_General):
    """Number of nominal attributes (a nominal target included)."""

    requires = ("ColumnTypes",)

    def compute(self, ctx, cols: Columns):
        return float(len(cols.nominal) + _target_is_nominal(ctx))


class NominalDistinctCounts(Intermediate):
    """Observed distinct values of each nominal attribute, target included."""

    requires = ("NominalMatrix",)

    def compute(self, ctx, codes):
        counts = [float(len(np.unique(c[c >= 0]))) for c in codes.codes]
        if _target_is_nominal(ctx):
            counts.append(float(ctx.y.dropna().nunique()))
        return counts


class NumberOfBinaryFeatures(_General):
    """Number of nominal attributes (target included) that declare exactly two values.

    Settled against OpenML's values: declared, not observed, values (anneal: 4, not the 7 with two
    observed values), and numeric 0/1 attributes do not count (mozilla4: 1, the class).
    """

    requires = ("NominalMatrix",)

    def compute(self, ctx, nom):
        n = sum(1 for k in nom.n_declared if k == 2)
        if _target_is_nominal(ctx):
            y = ctx.y
            declared = (
                len(y.cat.categories)
                if isinstance(y.dtype, pd.CategoricalDtype)
                else y.dropna().nunique()
            )
            n += declared == 2
        return float(n)


class Dimensionality(_General):
    """Number of attributes divided by the number of instances."""

    requires = ("NumberOfFeatures", "NumberOfInstances")

    def compute(self, ctx, f, n):
        return f / n


class PercentageOfNumericFeatures(_General):
    """Percentage of numeric attributes."""

    requires = ("NumberOfNumericFeatures", "NumberOfFeatures")

    def compute(self, ctx, k, f):
        return 100.0 * k / f


class PercentageOfSymbolicFeatures(_General):
    """Percentage of nominal attributes."""

    requires = ("NumberOfSymbolicFeatures", "NumberOfFeatures")

    def compute(self, ctx, k, f):
        return 100.0 * k / f


class PercentageOfBinaryFeatures(_General):
    """Percentage of binary attributes."""

    requires = ("NumberOfBinaryFeatures", "NumberOfFeatures")

    def compute(self, ctx, k, f):
        return 100.0 * k / f


class _Distinct(_General):
    abstract = True
    requires = ("NominalDistinctCounts",)
    how = "mean"

    def compute(self, ctx, distinct):
        return summary(distinct, self.how)


class MaxNominalAttDistinctValues(_Distinct):
    """Largest number of distinct values among nominal attributes (target included)."""

    how = "max"


class MinNominalAttDistinctValues(_Distinct):
    """Smallest number of distinct values among nominal attributes (target included)."""

    how = "min"


class MeanNominalAttDistinctValues(_Distinct):
    """Mean number of distinct values among nominal attributes (target included)."""

    how = "mean"


class StdvNominalAttDistinctValues(_Distinct):
    """Sample standard deviation of the numbers of distinct values of nominal attributes."""

    how = "stdv"


# Legacy names that OpenML still serves for older datasets (e.g. dataset 2's qualities.xml).


class InstanceCount(_General):
    """Legacy name of NumberOfInstances."""

    requires = ("NumberOfInstances",)

    def compute(self, ctx, v):
        return v


class NumAttributes(_General):
    """Legacy name of NumberOfFeatures."""

    requires = ("NumberOfFeatures",)

    def compute(self, ctx, v):
        return v


class NumNominalAtts(_General):
    """Legacy name of NumberOfSymbolicFeatures."""

    requires = ("NumberOfSymbolicFeatures",)

    def compute(self, ctx, v):
        return v


class NumNumericAtts(_General):
    """Legacy name of NumberOfNumericFeatures."""

    requires = ("NumberOfNumericFeatures",)

    def compute(self, ctx, v):
        return v


class NumBinaryAtts(_General):
    """Legacy name of NumberOfBinaryFeatures."""

    requires = ("NumberOfBinaryFeatures",)

    def compute(self, ctx, v):
        return v


class PercentageOfNominalAtts(_General):
    """Legacy: fraction (not percent) of nominal attributes."""

    requires = ("PercentageOfSymbolicFeatures",)

    def compute(self, ctx, v):
        return v / 100.0


class PercentageOfNumericAtts(_General):
    """Legacy: fraction (not percent) of numeric attributes."""

    requires = ("PercentageOfNumericFeatures",)

    def compute(self, ctx, v):
        return v / 100.0


class PercentageOfBinaryAtts(_General):
    """Legacy: fraction (not percent) of binary attributes."""

    requires = ("PercentageOfBinaryFeatures",)

    def compute(self, ctx, v):
        return v / 100.0


# ---------------------------------------------------------------- class distribution


class _Class(MetaFeature):
    abstract = True
    group = "class"
    needs = "classification"


class NumberOfClasses(MetaFeature):
    """Number of classes that occur in a nominal target (0 for a numeric target)."""

    group = "class"

    def compute(self, ctx):
        # OpenML's current values count the classes that occur (anneal: 5, though its ARFF
        # declares a sixth class without instances); its legacy ClassCount counted declared ones.
        if ctx.y is None:
            raise NotApplicable("needs a target")
        if ctx.task != "classification":
            return 0.0
        return float((ctx.get("TargetCodes").counts > 0).sum())


class ClassCount(_Class):
    """Legacy quality: number of *declared* class values."""

    requires = ("TargetCodes",)

    def compute(self, ctx, t: Target):
        return float(len(t.counts))


class MajorityClassSize(_Class):
    """Number of instances of the most frequent class."""

    requires = ("TargetCodes",)

    def compute(self, ctx, t: Target):
        return float(t.counts.max())


class MinorityClassSize(_Class):
    """Number of instances of the least frequent class that occurs."""

    requires = ("TargetCodes",)

    def compute(self, ctx, t: Target):
        return float(t.counts[t.counts > 0].min())


class MajorityClassPercentage(_Class):
    """Percentage of instances in the most frequent class."""

    requires = ("MajorityClassSize", "NumberOfInstances")

    def compute(self, ctx, k, n):
        return 100.0 * k / n


class MinorityClassPercentage(_Class):
    """Percentage of instances in the least frequent class."""

    requires = ("MinorityClassSize", "NumberOfInstances")

    def compute(self, ctx, k, n):
        return 100.0 * k / n


class DefaultAccuracy(_Class):
    """Accuracy of always predicting the majority class (a fraction)."""

    requires = ("MajorityClassSize", "NumberOfInstances")

    def compute(self, ctx, k, n):
        return k / n


class AutoCorrelation(MetaFeature):
    """1 - mean |y[i+1] - y[i]| over consecutive instances (class labels: 1 if they differ)."""

    group = "class"

    def compute(self, ctx):
        # Checked against OpenML: for a numeric target it is 1 - mean absolute difference of
        # consecutive targets (hence negative values), for a nominal one the share of equal pairs.
        if ctx.y is None:
            raise NotApplicable("needs a target")
        if len(ctx.y) < 2:
            raise NotApplicable("needs at least two instances")
        if ctx.task == "classification":
            c = ctx.get("TargetCodes").codes
            return float(np.mean(c[1:] == c[:-1]))
        t = pd.to_numeric(ctx.y, errors="coerce").to_numpy(dtype=float)
        return float(1.0 - np.nanmean(np.abs(np.diff(t))))


# ---------------------------------------------------------------- missing values


class _Missing(MetaFeature):
    abstract = True
    group = "missing"


class MissingMask(Intermediate):
    """Missing-value mask over all attributes, target included."""

    def compute(self, ctx):
        mask = ctx.X.isna().to_numpy()
        if ctx.y is not None:
            mask = np.column_stack([mask, ctx.y.isna().to_numpy()])
        return mask


class NumberOfMissingValues(_Missing):
    """Number of missing values, target included."""

    requires = ("MissingMask",)

    def compute(self, ctx, mask):
        return float(mask.sum())


class NumberOfInstancesWithMissingValues(_Missing):
    """Number of instances with at least one missing value."""

    requires = ("MissingMask",)

    def compute(self, ctx, mask):
        return float(mask.any(axis=1).sum())


class PercentageOfMissingValues(_Missing):
    """Percentage of missing values among all values."""

    requires = ("NumberOfMissingValues", "NumberOfInstances", "NumberOfFeatures")

    def compute(self, ctx, m, n, f):
        return 100.0 * m / (n * f)


class PercentageOfInstancesWithMissingValues(_Missing):
    """Percentage of instances with at least one missing value."""

    requires = ("NumberOfInstancesWithMissingValues", "NumberOfInstances")

    def compute(self, ctx, m, n):
        return 100.0 * m / n


class NumMissingValues(_Missing):
    """Legacy name of NumberOfMissingValues."""

    requires = ("NumberOfMissingValues",)

    def compute(self, ctx, v):
        return v


class IncompleteInstanceCount(_Missing):
    """Legacy name of NumberOfInstancesWithMissingValues."""

    requires = ("NumberOfInstancesWithMissingValues",)

    def compute(self, ctx, v):
        return v
