"""auto-sklearn's 39 meta-features (group ``autosklearn``), as in its ``feature_values.arff``.

Definitions follow auto-sklearn's ``metafeatures.py``: the target is *not* an attribute,
percentages are fractions, class probabilities use numpy's population std, skewness and kurtosis
are scipy's biased estimators (Fisher kurtosis) on mean-imputed numeric attributes, and the
Symbols* statistics ignore all-missing columns. Nine names are also OpenML quality names with a
different definition; those are reported under ``autosklearn.<name>`` (see
:data:`AUTOSKLEARN_NAMES` for the mapping back to auto-sklearn's exact names).
"""

from __future__ import annotations

import math

import numpy as np

from metabase.metafeatures.engine import Context, Intermediate, MetaFeature, NotApplicable
from metabase.metafeatures.prep import Columns, NominalCodes, Target

#: auto-sklearn's name -> the key under which ``compute`` reports it.
AUTOSKLEARN_NAMES: dict[str, str] = {}
_CLASHES = {
    "ClassEntropy",
    "NumberOfClasses",
    "NumberOfFeatures",
    "NumberOfInstances",
    "NumberOfInstancesWithMissingValues",
    "NumberOfMissingValues",
    "NumberOfNumericFeatures",
    "PercentageOfInstancesWithMissingValues",
    "PercentageOfMissingValues",
}


class _Auto(MetaFeature):
    abstract = True
    group = "autosklearn"
    auto_name = ""

    def __init_subclass__(cls, **kw):
        if not cls.__dict__.get("abstract", False):
            auto = cls.__name__.removeprefix("Auto")
            cls.name = f"autosklearn.{auto}" if auto in _CLASHES else auto
            AUTOSKLEARN_NAMES[auto] = cls.name
        super().__init_subclass__(**kw)


class AutoCounts(Intermediate):
    """n, p, numeric and categorical counts, and the missing-value mask without the target."""

    requires = ("ColumnTypes",)

    def compute(self, ctx: Context, cols: Columns):
        return {
            "n": float(len(ctx.X)),
            "p": float(ctx.X.shape[1]),
            "num": float(len(cols.numeric)),
            "cat": float(len(cols.nominal)),
            "missing": ctx.X.isna().to_numpy(),
        }


class AutoNumberOfInstances(_Auto):
    """Number of instances."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return c["n"]


class AutoLogNumberOfInstances(_Auto):
    """Natural log of the number of instances."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return math.log(c["n"])


class AutoNumberOfClasses(_Auto):
    """Number of classes that occur."""

    needs = "classification"
    requires = ("TargetCodes",)

    def compute(self, ctx, t: Target):
        return float((t.counts > 0).sum())


class AutoNumberOfFeatures(_Auto):
    """Number of attributes, target excluded."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return c["p"]


class AutoLogNumberOfFeatures(_Auto):
    """Natural log of the number of attributes."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        if c["p"] == 0:
            raise NotApplicable("no attributes")
        return math.log(c["p"])


class AutoNumberOfInstancesWithMissingValues(_Auto):
    """Instances with a missing attribute value (target excluded)."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return float(c["missing"].any(axis=1).sum())


class AutoPercentageOfInstancesWithMissingValues(_Auto):
    """Fraction of instances with a missing attribute value."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return float(c["missing"].any(axis=1).sum()) / c["n"]


class AutoNumberOfFeaturesWithMissingValues(_Auto):
    """Attributes with at least one missing value."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return float(c["missing"].any(axis=0).sum())


class AutoPercentageOfFeaturesWithMissingValues(_Auto):
    """Fraction of attributes with at least one missing value."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return float(c["missing"].any(axis=0).sum()) / c["p"]


class AutoNumberOfMissingValues(_Auto):
    """Missing attribute values (target excluded)."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return float(c["missing"].sum())


class AutoPercentageOfMissingValues(_Auto):
    """Fraction of attribute values that are missing."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return float(c["missing"].sum()) / (c["n"] * c["p"])


class AutoNumberOfNumericFeatures(_Auto):
    """Numeric attributes, target excluded."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return c["num"]


class AutoNumberOfCategoricalFeatures(_Auto):
    """Nominal attributes, target excluded."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return c["cat"]


class AutoRatioNumericalToNominal(_Auto):
    """Numeric / nominal attributes (0 without nominal ones)."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return c["num"] / c["cat"] if c["cat"] else 0.0


class AutoRatioNominalToNumerical(_Auto):
    """Nominal / numeric attributes (0 without numeric ones)."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return c["cat"] / c["num"] if c["num"] else 0.0


class AutoDatasetRatio(_Auto):
    """Attributes / instances."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return c["p"] / c["n"]


class AutoLogDatasetRatio(_Auto):
    """Natural log of attributes / instances."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return math.log(c["p"] / c["n"])


class AutoInverseDatasetRatio(_Auto):
    """Instances / attributes."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return c["n"] / c["p"]


class AutoLogInverseDatasetRatio(_Auto):
    """Natural log of instances / attributes."""

    requires = ("AutoCounts",)

    def compute(self, ctx, c):
        return math.log(c["n"] / c["p"])


class ClassProbabilities(Intermediate):
    """Share of the instances in each class that occurs."""

    requires = ("TargetCodes",)

    def compute(self, ctx, t: Target):
        counts = t.counts[t.counts > 0]
        return counts / counts.sum()


class _ClassProb(_Auto):
    abstract = True
    needs = "classification"
    requires = ("ClassProbabilities",)
    fn = staticmethod(np.mean)

    def compute(self, ctx, p):
        return float(self.fn(p))


class AutoClassProbabilityMin(_ClassProb):
    """Smallest class probability."""

    fn = staticmethod(np.min)


class AutoClassProbabilityMax(_ClassProb):
    """Largest class probability."""

    fn = staticmethod(np.max)


class AutoClassProbabilityMean(_ClassProb):
    """Mean class probability."""

    fn = staticmethod(np.mean)


class AutoClassProbabilitySTD(_ClassProb):
    """Population std of the class probabilities."""

    fn = staticmethod(np.std)


class AutoClassEntropy(_ClassProb):
    """Class entropy in bits (the same value as OpenML's ClassEntropy)."""

    def compute(self, ctx, p):
        return float(-(p * np.log2(p)).sum())


class NumSymbols(Intermediate):
    """Observed distinct values per nominal attribute (target excluded)."""

    requires = ("NominalMatrix",)

    def compute(self, ctx, nom: NominalCodes):
        return np.array([float(np.unique(c[c >= 0]).size) for c in nom.codes])


class _Symbols(_Auto):
    abstract = True
    requires = ("NumSymbols",)

    def compute(self, ctx, values):
        values = values[values > 0]  # auto-sklearn drops all-missing columns here
        if values.size == 0:
            return 0.0
        return float(self.fn(values))


class AutoSymbolsMin(_Symbols):
    """Fewest distinct values of a nominal attribute."""

    fn = staticmethod(np.min)


class AutoSymbolsMax(_Symbols):
    """Most distinct values of a nominal attribute."""

    fn = staticmethod(np.max)


class AutoSymbolsMean(_Symbols):
    """Mean number of distinct values of nominal attributes."""

    fn = staticmethod(np.mean)


class AutoSymbolsSTD(_Symbols):
    """Population std of the numbers of distinct values."""

    fn = staticmethod(np.std)


class AutoSymbolsSum(_Symbols):
    """Total number of distinct values over nominal attributes."""

    fn = staticmethod(np.sum)


class BiasedMoments(Intermediate):
    """scipy's biased skewness and Fisher kurtosis per mean-imputed numeric attribute."""

    requires = ("NumericMatrix",)

    def compute(self, ctx, num: np.ndarray):
        if num.shape[1] == 0:
            return {"skew": np.array([]), "kurt": np.array([])}
        import warnings

        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: mean of nothing
            means = np.nanmean(num, axis=0) if num.shape[0] else np.zeros(num.shape[1])
            filled = np.where(np.isnan(num), np.where(np.isnan(means), 0.0, means), num)
            dev = filled - filled.mean(axis=0)
            m2, m3, m4 = (dev**2).mean(axis=0), (dev**3).mean(axis=0), (dev**4).mean(axis=0)
            # scipy.stats.skew / kurtosis (bias=True, fisher=True); a constant column gives NaN.
            skew = np.where(m2 > 0, m3 / m2**1.5, np.nan)
            kurt = np.where(m2 > 0, m4 / m2**2 - 3.0, np.nan)
        return {"skew": skew, "kurt": kurt}


class _Moment(_Auto):
    abstract = True
    requires = ("BiasedMoments",)
    moment = "skew"

    def compute(self, ctx, m):
        values = m[self.moment]
        values = values[np.isfinite(values)]
        return float(self.fn(values)) if values.size else 0.0


def _moment_classes():
    for prefix, moment in (("Kurtosis", "kurt"), ("Skewness", "skew")):
        for suffix, fn in (("Min", np.min), ("Max", np.max), ("Mean", np.mean), ("STD", np.std)):
            name = f"Auto{prefix}{suffix}"
            globals()[name] = type(
                name,
                (_Moment,),
                {
                    "__doc__": f"{suffix} of the per-attribute {prefix.lower()} (auto-sklearn).",
                    "moment": moment,
                    "fn": staticmethod(fn),
                    "__module__": __name__,
                },
            )


_moment_classes()
