"""Generic encodings shared by every strategy: configurations, task meta-features, scores.

Nothing here knows a pipeline or a configuration key, so that a meta-dataset of any pipelines can
be backtested:
- a key whose values are numbers becomes a numeric column (``None`` is missing), anything else a
  categorical one; a key that mixes both gets one of each;
- the pipeline itself is one more categorical column, so several pipelines share one model.

Two views of the same configurations: ``tree`` (numbers raw, categories as integer codes, for
LightGBM) and ``dist`` (numbers scaled to [0, 1], categories one-hot at weight 1/2, missing flags),
in which the L1 distance counts one per differing category and the scaled gap per number.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

PIPELINE_KEY = "__pipeline__"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class _Column:
    key: str
    kind: str  # "num" or "cat"
    categories: list = field(default_factory=list)
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    # a missing-value flag column in ``dist``, decided at fit (a value missing there) so that every
    # transform has the same width: models trained on the runs must accept any query
    flag: bool = False


class ConfigEncoder:
    """Learns the columns from the configurations it is fitted on; unseen categories map to -1."""

    def fit(self, pipelines, configs) -> "ConfigEncoder":
        values: dict[str, list] = {PIPELINE_KEY: list(pipelines)}
        n = len(values[PIPELINE_KEY])
        for i, config in enumerate(configs):
            for key, value in config.items():
                column = values.get(key)
                if column is None:
                    column = values[key] = [None] * n
                column[i] = value
        columns = []
        for key, column in values.items():
            try:  # distinct values first: columns repeat a few values many times
                distinct = [v for _, v in {(type(v), v) for v in column}]
            except TypeError:  # unhashable values (lists): look at every one
                distinct = column
            numbers = [v for v in distinct if _is_number(v)]
            others = sorted(
                {_category(v) for v in distinct if v is not None and not _is_number(v)}
            )
            if numbers and key != PIPELINE_KEY:
                low, high = float(min(numbers)), float(max(numbers))
                if high > low:  # a constant carries no information
                    log = (
                        low > 0 and high / low >= 100
                    )  # spans orders of magnitude: compare ratios
                    flag = any(not _is_number(v) for v in distinct)
                    columns.append(_Column(key, "num", low=low, high=high, log=log, flag=flag))
            states = len(others) + bool(numbers) + any(v is None for v in distinct)
            if others and states > 1:
                columns.append(_Column(key, "cat", categories=others))
        self.columns_ = columns
        return self

    @property
    def feature_names(self) -> list[str]:
        return [f"{c.key}" if c.kind == "num" else f"{c.key}#cat" for c in self.columns_]

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, c in enumerate(self.columns_) if c.kind == "cat"]

    def _raw(self, pipelines, configs) -> list[list]:
        raw = []
        for column in self.columns_:
            if column.key == PIPELINE_KEY:
                raw.append(list(pipelines))
            else:
                raw.append([config.get(column.key) for config in configs])
        return raw

    def transform(self, pipelines, configs) -> tuple[np.ndarray, np.ndarray]:
        """(tree matrix, distance matrix) for these configurations."""
        pipelines, configs = list(pipelines), list(configs)
        n = len(configs)
        tree = np.full((n, len(self.columns_)), np.nan)
        dist_parts = []
        for j, (column, values) in enumerate(zip(self.columns_, self._raw(pipelines, configs))):
            if column.kind == "num":
                if {type(v) for v in values} <= {int, float, type(None)}:
                    x = np.array([np.nan if v is None else v for v in values], dtype=float)
                    x[~np.isfinite(x)] = np.nan
                else:
                    x = np.array([float(v) if _is_number(v) else np.nan for v in values])
                tree[:, j] = x
                scaled = _scale(x, column)
                missing = np.isnan(scaled)
                dist_parts.append(np.where(missing, 0.0, scaled)[:, None])
                if column.flag:
                    dist_parts.append(missing[:, None].astype(float))
            else:
                index = {c: i for i, c in enumerate(column.categories)}
                memo: dict = {}

                def code(v, index=index, memo=memo):
                    try:
                        key = (type(v), v)
                        hash(key)
                    except TypeError:
                        key = (type(v), json.dumps(v, sort_keys=True, default=str))
                    if key not in memo:
                        memo[key] = (
                            index.get(_category(v), -1)
                            if v is not None and not _is_number(v)
                            else (len(index) if _is_number(v) else -1)
                        )
                    return memo[key]

                codes = np.array([code(v) for v in values], float)
                tree[:, j] = np.where(codes < 0, np.nan, codes)
                onehot = np.zeros((n, len(column.categories) + 2))
                onehot[
                    np.arange(n),
                    np.where(codes < 0, len(column.categories) + 1, codes).astype(int),
                ] = 0.5
                dist_parts.append(onehot)
        dist = np.hstack(dist_parts) if dist_parts else np.zeros((n, 0))
        return tree, dist


def _category(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _scale(x: np.ndarray, column: _Column) -> np.ndarray:
    if column.log:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log(np.where(x > 0, x, np.nan))
        low, high = math.log(column.low), math.log(column.high)
    else:
        low, high = column.low, column.high
    return np.clip((x - low) / (high - low), -1.0, 2.0)


class MetaFeatureScaler:
    """Meta-features for distances: signed log (counts span orders of magnitude), then robust
    standardisation (median and IQR, so one extreme task does not flatten the rest), missing as
    the median. Constant and all-missing qualities are dropped.
    """

    def fit(self, frame: pd.DataFrame) -> "MetaFeatureScaler":
        x = _signed_log(frame.to_numpy(float))
        # numpy warns on all-missing columns (they are dropped below), so they are left out here
        seen = ~np.isnan(x).all(axis=0)
        median, iqr, std = (np.full(x.shape[1], np.nan) for _ in range(3))
        with np.errstate(all="ignore"):
            median[seen] = np.nanmedian(x[:, seen], axis=0)
            iqr[seen] = np.nanpercentile(x[:, seen], 75, axis=0) - np.nanpercentile(
                x[:, seen], 25, axis=0
            )
            std[seen] = np.nanstd(x[:, seen], axis=0)
        spread = np.where(iqr > 0, iqr, std)
        keep = np.isfinite(median) & np.isfinite(spread) & (spread > 0)
        self.columns_ = [c for c, k in zip(frame.columns, keep) if k]
        self.center_, self.spread_ = median[keep], spread[keep]
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self._standardise(frame.reindex(columns=self.columns_).to_numpy(float))

    def transform_values(self, values: np.ndarray, columns: list[str]) -> np.ndarray:
        """One task's scaled meta-features from its raw ``values`` named by ``columns`` (what
        :meth:`transform` makes of a one-row frame, without pandas).
        """
        where = {c: i for i, c in enumerate(columns)}
        x = np.array(
            [values[where[c]] if c in where else np.nan for c in self.columns_], dtype=float
        )
        return self._standardise(x[None, :])[0]

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        x = _signed_log(x)
        z = (x - self.center_) / self.spread_
        # clip so that one wild quality cannot dominate an L1 distance
        return np.clip(np.nan_to_num(z, nan=0.0), -5.0, 5.0)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def normalise_scores(scores: pd.Series, tasks: pd.Series) -> np.ndarray:
    """Min-max within each task, so 1 is the task's best run and 0 its worst (the regret scale)."""
    import pandas as pd

    frame = pd.DataFrame({"s": scores.to_numpy(float), "t": tasks.to_numpy()})
    grouped = frame.groupby("t")["s"]
    low, high = grouped.transform("min"), grouped.transform("max")
    span = (high - low).to_numpy()
    return np.where(span > 0, (frame["s"] - low).to_numpy() / np.where(span > 0, span, 1.0), 0.5)
