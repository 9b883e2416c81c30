"""A meta-dataset prepared once for every strategy: encoded configurations, scaled meta-features,
normalised scores. Leave-one-task-out folds are cheap views (:meth:`Prepared.training`) that share
the encodings and a cache of costly cross-task lookups (:class:`PreparedCache`).

A warm ``recommend`` reads a pickled :class:`Prepared` and must not import pandas (half of its
start-up): pickled, the frames become numpy columns (:meth:`Prepared.__getstate__`), the accessors
:meth:`Prepared.column`, :meth:`Prepared.task_matrix` and :attr:`Prepared.feature_columns` read
those, and the frames themselves are rebuilt only when some code asks for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from metabase.errors import InputError
from metabase.recommend.encoding import ConfigEncoder, MetaFeatureScaler, normalise_scores

if TYPE_CHECKING:
    import pandas as pd


def usable_tasks(runs: pd.DataFrame) -> list[int]:
    """Tasks that can teach or be scored: at least two runs and scores that are not all equal
    (normalised regret is undefined on a constant task).
    """
    stats = runs.groupby("task_id")["score"].agg(["size", "min", "max"])
    ok = (stats["size"] >= 2) & (stats["max"] > stats["min"])
    return sorted(int(t) for t in stats.index[ok])


@dataclass
class PreparedCache:
    """What strategies compute from a prepared meta-dataset once and share across folds and
    strategies. Everything here is derived from the prepared data alone (or, for ``surrogate``,
    from one training of it), so it never changes an answer, only its cost.
    """

    pipeline_codes: tuple[np.ndarray, dict[str, int]] | None = None  # per run, and name -> code
    task_rows: dict[int, np.ndarray] | None = None  # task -> its run rows
    design: np.ndarray | None = None  # surrogate inputs of every run
    task_scales: dict[tuple, float] = field(
        default_factory=dict
    )  # training tasks -> distance scale
    pools: dict[int, tuple] = field(default_factory=dict)  # per_task -> (pool, tasks, G)
    # the surrogate model of the latest training it was fitted on, as (training key, model): the
    # strategies fitted on one backtest fold (``default`` and ``surrogate``) train it once
    surrogate: tuple[tuple, object] | None = None
    rgpe_models: dict[int, object] = field(default_factory=dict)  # training task -> its RGPE model
    # ``default``'s chosen parts per (training rows digest, seed): strategies fitted on one fold
    # (``default``, and ``rgpe`` and ``residual`` that hold it) choose once
    choices: dict[tuple, tuple] = field(default_factory=dict)
    # (source task, target task) -> share of the target's run pairs the source's model orders right
    twin_concordance: dict[tuple, float] = field(default_factory=dict)
    # recommend's query-independent candidates, canonicalised: (fresh, seed, runnable_only) ->
    # (pipelines, configs, rows, canonical); kept in the prepared-data cache so that a warm
    # recommend needs neither the catalogue's spaces nor ConfigSpace
    candidates: dict[tuple, tuple] = field(default_factory=dict)
    # run key -> canonical config of every task's best runs, and the catalogue's pipeline names
    canonical: dict[str, tuple | None] = field(default_factory=dict)
    runnable: set[str] | None = None


@dataclass
class Prepared:
    runs: (
        pd.DataFrame
    )  # task_id, pipeline, config (text), score, norm, key; optional run_key, runtime
    configs: list  # parsed dicts, aligned with runs
    encoder: ConfigEncoder
    tree: np.ndarray  # configs for LightGBM
    dist: np.ndarray  # configs for L1 distances
    features: pd.DataFrame  # raw meta-features, index task_id (every task in runs or tasks)
    scaler: MetaFeatureScaler
    scaled: pd.DataFrame  # scaled meta-features, same index
    cache: PreparedCache = field(default_factory=PreparedCache)

    @classmethod
    def build(cls, runs: pd.DataFrame, tasks: pd.DataFrame, extra_configs=()) -> "Prepared":
        """``extra_configs`` are (pipeline, config) pairs that will be asked about later (fresh
        samples), so that the encoder knows their categories and ranges.
        """
        runs = runs[runs["score"].notna()]
        keep = usable_tasks(runs)
        if len(keep) < 2:
            raise InputError(
                f"the meta-dataset has {len(keep)} usable task(s) (a usable task has at least two "
                "runs with different scores); at least 2 are needed to learn across tasks"
            )
        import pandas as pd

        runs = runs[runs["task_id"].isin(keep)].reset_index(drop=True).copy()
        configs = [json.loads(c) if isinstance(c, str) else dict(c) for c in runs["config"]]
        runs["norm"] = normalise_scores(runs["score"], runs["task_id"])
        # the config text is the identity: interchange writers emit canonical (sorted-key) JSON
        runs["key"] = runs["pipeline"].astype(str) + "|" + runs["config"].astype(str)
        extra = list(extra_configs)
        encoder = ConfigEncoder().fit(
            list(runs["pipeline"]) + [p for p, _ in extra], configs + [c for _, c in extra]
        )
        tree, dist = encoder.transform(runs["pipeline"], configs)
        features = tasks.drop(columns=[c for c in ("dataset_id",) if c in tasks]).set_index(
            "task_id"
        )
        features = features.reindex(sorted(set(features.index) | set(keep)))
        scaler = MetaFeatureScaler().fit(features)
        scaled = pd.DataFrame(scaler.transform(features), index=features.index)
        return cls(runs, configs, encoder, tree, dist, features, scaler, scaled)

    # -- pandas-free views: what a warm ``recommend`` reads --------------------------------------
    def column(self, name: str) -> np.ndarray:
        """One column of ``runs`` as numpy (missing values None in object columns); KeyError when
        there is no such column.
        """
        columns = self.__dict__.setdefault("_columns", {})
        if name not in columns:
            columns[name] = _plain(self.runs[name])
        return columns[name]

    def has_column(self, name: str) -> bool:
        stored = self.__dict__.get("_columns", {})
        return name in stored or ("runs" in self.__dict__ and name in self.runs.columns)

    @property
    def feature_columns(self) -> list[str]:
        """The meta-feature names, in the order of the columns of ``features``."""
        return self._matrix("features")[1]

    def task_matrix(self, task_ids, scaled: bool = False) -> np.ndarray:
        """Rows of the raw (or scaled) meta-features of these tasks; KeyError for a task without
        a row.
        """
        index, _, values = self._matrix("scaled" if scaled else "features")
        return values[[index[int(t)] for t in task_ids]]

    def has_task(self, task_id) -> bool:
        return int(task_id) in self._matrix("scaled")[0]

    def _matrix(self, which: str) -> tuple[dict, list, np.ndarray]:
        """(task id -> row, column names, float values) of ``features`` or ``scaled``."""
        stored = self.__dict__.get("_" + which)
        if stored is None:
            frame = getattr(self, which)
            stored = self.__dict__["_" + which] = {
                "index": [int(t) for t in frame.index],
                "name": frame.index.name,
                "columns": list(frame.columns),
                "values": frame.to_numpy(float),
            }
        lookup = self.__dict__.setdefault("_lookup", {})
        if which not in lookup:
            lookup[which] = {t: i for i, t in enumerate(stored["index"])}
        return lookup[which], stored["columns"], stored["values"]

    # -- pickling without pandas -----------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        for name in ("runs", "features", "scaled", "configs"):
            state.pop(name, None)
        dtypes = self.__dict__.get("_runs_dtypes")
        if dtypes is None:
            dtypes = {c: str(self.runs[c].dtype) for c in self.runs.columns}
        state["_runs_dtypes"] = dtypes
        state["_columns"] = {c: TextColumn.pack(self.column(c)) for c in dtypes}
        for which in ("features", "scaled"):
            self._matrix(which)
            state["_" + which] = self.__dict__["_" + which]
        configs = self.__dict__.get("configs")
        if configs is not None and not isinstance(state["_columns"].get("config"), TextColumn):
            state["configs"] = configs  # not derivable from the config text
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str):
        """The frames (and parsed configs) of an unpickled Prepared, rebuilt on first use."""
        state = self.__dict__
        if name == "runs" and "_runs_dtypes" in state:
            import pandas as pd

            dtypes = state["_runs_dtypes"]
            state["runs"] = pd.DataFrame(
                {c: pd.Series(np.asarray(state["_columns"][c]), dtype=dtypes[c]) for c in dtypes}
            )
            return state["runs"]
        if name in ("features", "scaled") and "_" + name in state:
            import pandas as pd

            stored = state["_" + name]
            columns = stored["columns"]
            state[name] = pd.DataFrame(
                stored["values"],
                index=pd.Index(stored["index"], dtype="int64", name=stored["name"]),
                columns=pd.RangeIndex(len(columns)) if name == "scaled" else columns,
            )
            return state[name]
        if name == "configs" and "_runs_dtypes" in state and "config" in state["_columns"]:
            state["configs"] = ParsedConfigs(state["_columns"]["config"])
            return state["configs"]
        raise AttributeError(name)

    @property
    def run_pipeline_codes(self) -> np.ndarray:
        """Integer code of each run's pipeline (comparing ints, not strings, in hot loops)."""
        if self.cache.pipeline_codes is None:
            names, first, inverse = np.unique(
                np.asarray(self.column("pipeline")).astype(str),
                return_index=True,
                return_inverse=True,
            )
            order = np.argsort(first)  # codes in order of first appearance
            code = np.empty(len(order), int)
            code[order] = np.arange(len(order))
            self.cache.pipeline_codes = (
                code[inverse],
                {str(names[i]): int(code[i]) for i in range(len(names))},
            )
        return self.cache.pipeline_codes[0]

    def pipeline_codes(self, pipelines) -> np.ndarray:
        """Codes of the given pipeline names (-1: a pipeline without runs)."""
        self.run_pipeline_codes
        index = self.cache.pipeline_codes[1]
        return np.array([index.get(str(p), -1) for p in pipelines])

    @property
    def task_ids(self) -> list[int]:
        if "_task_ids" not in self.__dict__:  # a million-run store: 30 ms a time
            self.__dict__["_task_ids"] = [int(t) for t in np.unique(self.column("task_id"))]
        return list(self.__dict__["_task_ids"])

    def training(self, exclude: int | None = None) -> "Training":
        tasks = [t for t in self.task_ids if t != exclude]
        run_tasks = self.column("task_id")
        rows = (
            np.flatnonzero(run_tasks != exclude)
            if exclude is not None
            else np.arange(len(run_tasks))
        )
        return Training(self, np.asarray(tasks), rows)

    def task_query(self, task_id: int) -> "Query":
        rows = np.flatnonzero(self.column("task_id") == task_id)
        return Query(
            features=self.task_matrix([task_id])[0],
            scaled=self.task_matrix([task_id], scaled=True)[0],
            pipelines=self.column("pipeline")[rows],
            tree=self.tree[rows],
            dist=self.dist[rows],
        )

    def query(self, features: dict, pipelines, configs) -> "Query":
        """A query for a task given by its meta-features (a dict of quality name to value)."""
        values = np.array(
            [np.nan if features.get(c) is None else features[c] for c in self.feature_columns],
            dtype=float,
        )
        tree, dist = self.encoder.transform(pipelines, configs)
        return Query(
            features=values,
            scaled=self.scaler.transform_values(values, self.feature_columns),
            pipelines=np.asarray(list(pipelines), dtype=object),
            tree=tree,
            dist=dist,
        )


@dataclass(frozen=True)
class Training:
    """The tasks and runs a strategy may learn from (all of them, or all but a held-out task)."""

    prepared: Prepared
    task_ids: np.ndarray
    rows: np.ndarray

    @property
    def runs(self) -> pd.DataFrame:
        return self.prepared.runs.iloc[self.rows]

    @property
    def features(self) -> np.ndarray:
        return self.prepared.task_matrix(self.task_ids)

    @property
    def scaled(self) -> np.ndarray:
        return self.prepared.task_matrix(self.task_ids, scaled=True)


@dataclass(frozen=True)
class Query:
    """The task to rank for (its meta-features) and the candidate configurations."""

    features: np.ndarray
    scaled: np.ndarray
    pipelines: np.ndarray
    tree: np.ndarray
    dist: np.ndarray

    def __len__(self) -> int:
        return len(self.tree)


class ParsedConfigs:
    """The configurations of an unpickled Prepared, parsed from their JSON text when first read
    (a warm ``recommend`` reads a few of thousands).
    """

    def __init__(self, texts: np.ndarray) -> None:
        self._texts = texts
        self._parsed: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i not in self._parsed:
            self._parsed[i] = json.loads(self._texts[i])
        return self._parsed[i]

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class TextColumn:
    """A column of strings as one UTF-8 blob and offsets: two arrays, which a cache file maps
    instead of unpickling a Python object per row (a million-run store's configs are 90 MB of
    text). Reads like a numpy object array: an index gives a string, an array of indices an
    object array of them.
    """

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob, self.offsets = blob, offsets

    @classmethod
    def pack(cls, values: np.ndarray):
        """``values`` as a TextColumn when every one is a string, else unchanged."""
        if isinstance(values, TextColumn):  # a column of a Prepared read from a cache
            return values
        if values.dtype != object or not all(isinstance(v, str) for v in values):
            return values
        encoded = [v.encode() for v in values]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            i = int(i) + (len(self) if i < 0 else 0)
            return bytes(self.blob[self.offsets[i] : self.offsets[i + 1]]).decode()
        rows = np.arange(len(self))[i]
        out = np.empty(len(rows), object)
        out[:] = [self[int(r)] for r in rows]
        return out

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype)


def _plain(series) -> np.ndarray:
    """A column as a numpy array that unpickles without pandas: numbers as they are, anything
    else (strings, nullable integers) as Python objects with None for a missing value.
    """
    if series.dtype.kind in "biuf" and type(series.dtype).__module__.startswith("numpy"):
        return series.to_numpy()
    values = series.astype(object).to_numpy()
    missing = series.isna().to_numpy()
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values
