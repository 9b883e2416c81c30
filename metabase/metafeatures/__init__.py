"""OpenML-compatible meta-features ("qualities") of any table, plus auto-sklearn's meta-features.

Pure: DataFrames in, values out; no store and no network.

    >>> from metabase.metafeatures import compute, load_table
    >>> X, y = load_table("credit-g.arff", "class")
    >>> compute(X, y, groups=["general", "statistical"]).values["NumberOfFeatures"]
    21.0

See ``README.md`` in this folder for the list of qualities, the agreement with OpenML's values and
the notes on landmarkers that OpenML computes with Weka.
"""

from metabase.metafeatures import autosklearn, cfs, general, infotheory, landmarkers, statistical  # noqa: F401  (register)
from metabase.metafeatures.api import (
    GROUPS,
    compute,
    infer_task,
    looks_like_class_codes,
    members,
    to_store_frame,
)
from metabase.metafeatures.engine import MetaFeature, MetaFeatureResult, metafeatures
from metabase.metafeatures.loading import load_table, read_arff

__all__ = [
    "GROUPS",
    "MetaFeature",
    "MetaFeatureResult",
    "compute",
    "infer_task",
    "load_table",
    "looks_like_class_codes",
    "members",
    "metafeatures",
    "read_arff",
    "to_store_frame",
]
