"""Information-theoretic qualities (group ``infotheory``), in bits.

As on OpenML, attribute entropy and mutual information are over the *nominal* attributes only
(numeric attributes are not discretised), and missing values are left out of each count.
"""

from __future__ import annotations

import numpy as np

from metabase.metafeatures.engine import Context, Intermediate, MetaFeature, NotApplicable
from metabase.metafeatures.prep import NominalCodes, Target, summary


def entropy(counts: np.ndarray) -> float:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


class AttributeEntropies(Intermediate):
    """Entropy of each nominal attribute (target excluded)."""

    requires = ("NominalMatrix",)

    def compute(self, ctx: Context, nom: NominalCodes) -> np.ndarray:
        return np.array(
            [
                entropy(np.bincount(c[c >= 0], minlength=k))
                for c, k in zip(nom.codes, nom.n_declared)
            ]
        )


class MutualInformations(Intermediate):
    """Mutual information of each nominal attribute with the class."""

    requires = ("NominalMatrix", "TargetCodes")

    def compute(self, ctx: Context, nom: NominalCodes, t: Target) -> np.ndarray:
        out = []
        k_y = len(t.counts)
        for c, k in zip(nom.codes, nom.n_declared):
            ok = (c >= 0) & (t.codes >= 0)
            joint = np.bincount(c[ok] * k_y + t.codes[ok], minlength=max(k, 1) * k_y).reshape(
                -1, k_y
            )
            h_x = entropy(joint.sum(axis=1))
            h_y = entropy(joint.sum(axis=0))
            out.append(h_x + h_y - entropy(joint.ravel()))
        return np.array(out)


class ClassEntropy(MetaFeature):
    """Entropy of the class distribution (bits)."""

    group = "infotheory"
    needs = "classification"
    requires = ("TargetCodes",)

    def compute(self, ctx, t: Target):
        return entropy(t.counts)


class _InfoSummary(MetaFeature):
    abstract = True
    group = "infotheory"
    source = "AttributeEntropies"
    how = "mean"

    def __init_subclass__(cls, **kw):
        cls.requires = (cls.source,)
        super().__init_subclass__(**kw)

    def compute(self, ctx, values):
        return summary(values, self.how)


class _MISummary(_InfoSummary):
    abstract = True
    needs = "classification"
    source = "MutualInformations"


class MinAttributeEntropy(_InfoSummary):
    """Smallest entropy among nominal attributes."""

    how = "min"


class MaxAttributeEntropy(_InfoSummary):
    """Largest entropy among nominal attributes."""

    how = "max"


class MeanAttributeEntropy(_InfoSummary):
    """Mean entropy of the nominal attributes."""

    how = "mean"


class Quartile1AttributeEntropy(_InfoSummary):
    """First quartile of the entropies of the nominal attributes."""

    how = "q1"


class Quartile2AttributeEntropy(_InfoSummary):
    """Median entropy of the nominal attributes."""

    how = "q2"


class Quartile3AttributeEntropy(_InfoSummary):
    """Third quartile of the entropies of the nominal attributes."""

    how = "q3"


class MinMutualInformation(_MISummary):
    """Smallest mutual information between a nominal attribute and the class."""

    how = "min"


class MaxMutualInformation(_MISummary):
    """Largest mutual information between a nominal attribute and the class."""

    how = "max"


class MeanMutualInformation(_MISummary):
    """Mean mutual information between the nominal attributes and the class."""

    how = "mean"


class Quartile1MutualInformation(_MISummary):
    """First quartile of the mutual information of nominal attributes with the class."""

    how = "q1"


class Quartile2MutualInformation(_MISummary):
    """Median mutual information of nominal attributes with the class."""

    how = "q2"


class Quartile3MutualInformation(_MISummary):
    """Third quartile of the mutual information of nominal attributes with the class."""

    how = "q3"


class EquivalentNumberOfAtts(MetaFeature):
    """Class entropy divided by the mean mutual information."""

    group = "infotheory"
    needs = "classification"
    requires = ("ClassEntropy", "MeanMutualInformation")

    def compute(self, ctx, h, mi):
        if mi <= 0:
            raise NotApplicable("mean mutual information is 0")
        return h / mi


class MeanNoiseToSignalRatio(MetaFeature):
    """(Mean attribute entropy - mean mutual information) / mean mutual information."""

    group = "infotheory"
    needs = "classification"
    requires = ("MeanAttributeEntropy", "MeanMutualInformation")

    def compute(self, ctx, h, mi):
        if mi <= 0:
            raise NotApplicable("mean mutual information is 0")
        return (h - mi) / mi


class NoiseToSignalRatio(MetaFeature):
    """Legacy name of MeanNoiseToSignalRatio."""

    group = "infotheory"
    needs = "classification"
    requires = ("MeanNoiseToSignalRatio",)

    def compute(self, ctx, v):
        return v
