"""Statistics of the numeric attributes (group ``statistical``): per attribute mean, standard
deviation, skewness and kurtosis, then their min, max, mean and quartiles across attributes.

The per-attribute moments ignore missing values. Their exact definitions (sample standard
deviation with n-1; bias-corrected skewness G1 and excess kurtosis G2, as Apache commons-math's
``DescriptiveStatistics`` computes them) were settled by comparing with OpenML's stored values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metabase.metafeatures.engine import Context, Intermediate, MetaFeature
from metabase.metafeatures.prep import summary


class NumericMoments(Intermediate):
    """Per numeric attribute (a numeric target included, as on OpenML): count, mean, sample std,
    skewness G1, kurtosis G2.
    """

    requires = ("NumericMatrix",)

    def compute(self, ctx: Context, num: np.ndarray) -> dict[str, np.ndarray]:
        if ctx.y is not None and ctx.task == "regression":
            # OpenML's "numeric attributes" include a numeric target: with it, 85% of the PMLB
            # regression datasets agree on these statistics, without it 44%.
            target = pd.to_numeric(ctx.y, errors="coerce").to_numpy(dtype=float)
            num = np.column_stack([num, target])
        valid = ~np.isnan(num)
        n = valid.sum(axis=0).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(valid, num, 0.0).sum(axis=0) / n
            dev = np.where(valid, num - mean, 0.0)
            m2 = (dev**2).sum(axis=0)
            m3 = (dev**3).sum(axis=0)
            m4 = (dev**4).sum(axis=0)
            var = m2 / (n - 1)
            std = np.sqrt(var)
            # commons-math Skewness: n / ((n-1)(n-2)) * sum((x-mean)^3) / s^3
            skew = n / ((n - 1) * (n - 2)) * m3 / std**3
            # commons-math Kurtosis:
            # n(n+1)/((n-1)(n-2)(n-3)) * sum((x-mean)^4)/s^4 - 3(n-1)^2/((n-2)(n-3))
            kurt = n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * m4 / var**2 - 3 * (n - 1) ** 2 / (
                (n - 2) * (n - 3)
            )
            # A constant column has an undefined skewness and kurtosis (0/0); commons-math yields
            # NaN.
            skew = np.where(m2 > 0, skew, np.nan)
            kurt = np.where(m2 > 0, kurt, np.nan)
        return {"n": n, "mean": mean, "std": std, "skew": skew, "kurt": kurt}


class _NumericSummary(MetaFeature):
    abstract = True
    group = "statistical"
    requires = ("NumericMoments",)
    moment = "mean"
    how = "mean"

    def compute(self, ctx, moments):
        return summary(moments[self.moment], self.how)


def _declare(prefix: str, suffix: str, moment: str, what: str) -> None:
    """Declare Min/Max/Mean/Quartile1-3 classes for one per-attribute moment."""
    for how, label in (
        ("min", "Minimum"),
        ("max", "Maximum"),
        ("mean", "Mean"),
        ("q1", "First quartile"),
        ("q2", "Median"),
        ("q3", "Third quartile"),
    ):
        name = (
            {
                "min": "Min",
                "max": "Max",
                "mean": "Mean",
                "q1": "Quartile1",
                "q2": "Quartile2",
                "q3": "Quartile3",
            }[how]
            + prefix
            + suffix
        )
        doc = f"{label} of the {what} of the numeric attributes."
        cls = type(
            name,
            (_NumericSummary,),
            {"__doc__": doc, "moment": moment, "how": how, "__module__": __name__},
        )
        globals()[name] = cls


# Four moments x six summaries = 24 small classes, e.g. ``MeanKurtosisOfNumericAtts``.
_declare("Means", "OfNumericAtts", "mean", "means")
_declare("StdDev", "OfNumericAtts", "std", "sample standard deviations (n-1)")
_declare("Skewness", "OfNumericAtts", "skew", "skewness (bias-corrected G1)")
_declare("Kurtosis", "OfNumericAtts", "kurt", "excess kurtosis (bias-corrected G2)")
