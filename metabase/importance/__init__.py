"""Hyperparameter importance across tasks: functional ANOVA on random forests (Hutter et al. 2014,
as van Rijn and Hutter 2018 applied it to OpenML runs), tunability and data-driven defaults (Probst
et al. 2019). Pure: DataFrames and ConfigSpace spaces in, frozen records out; no store, no network.
"""

from metabase.importance.analysis import analyse
from metabase.importance.fanova import FunctionalAnova
from metabase.importance.records import Curve, ImportanceResult, TaskImportance
from metabase.importance.space import Dimension, dimensions_from_space, encode

__all__ = [
    "Curve",
    "Dimension",
    "FunctionalAnova",
    "ImportanceResult",
    "TaskImportance",
    "analyse",
    "dimensions_from_space",
    "encode",
]
