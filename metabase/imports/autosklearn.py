"""``metabase import autosklearn PATH``: auto-sklearn's meta-learning base (ASlib folders).

PATH is one folder ``<metric>_<task type>_<dense|sparse>`` or the ``files/`` folder above them.
Each folder holds ``algorithm_runs.arff`` (the incumbent configuration per dataset and its
cost), ``configurations.csv`` (configuration id -> auto-sklearn hyperparameters) and
``feature_values.arff`` (auto-sklearn's meta-features). Two layouts exist: the 2020 one
(``_history/830822b23``) keys instances by OpenML **task id**, the current one by dataset **name**.

What lands where:

- one run per incumbent: ``runs`` with ``run_key = autosklearn:<folder>:<instance>:<config id>``,
  pipeline ``autosklearn``, the configuration's active hyperparameters typed as ``config``,
  ``task_id`` in the task-id layout (NULL when keyed by name), and ASlib's ``runstatus``;
- ``evaluations``: ASlib stores a **cost**. auto-sklearn writes ``loss = optimum - sign * score``
  (optimum 1 for bounded scores such as accuracy or r2, 0 for errors such as log loss), so the
  raw value is kept as ``autosklearn_loss_<metric>`` and the metric itself is recovered exactly:
  ``1 - loss`` for scores, ``loss`` for errors. It is stored under OpenML's name where the
  definitions agree (``accuracy`` -> ``predictive_accuracy``, binary ``roc_auc`` ->
  ``area_under_roc_curve``, ``mean_absolute_error``, ``root_mean_squared_error``) and under
  auto-sklearn's name otherwise (``balanced_accuracy``, ``f1_macro``, ``log_loss``, ``r2``, ...);
- meta-features: ``task_qualities`` (task-id layout) or, for names that map to exactly one OpenML
  dataset id (:mod:`metabase.imports._dataset_names`), ``dataset_qualities``; source
  ``autosklearn``. Names that do not map are counted and logged, not guessed.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from metabase.errors import ImportFormatError
from metabase.formats.delimited import read_rows
from metabase.formats.numbers import positive_ids
from metabase.imports._arff import read_arff
from metabase.imports._configs import canonical_json, fallback_hash, typed_token
from metabase.imports._dataset_names import NameIndex, build_index, find_data_root
from metabase.imports.base import ImportBatch, Importer, TableLoad

log = logging.getLogger(__name__)

SOURCE = "autosklearn"
PIPELINE = "autosklearn"
FOLDER = re.compile(
    r"^(?P<metric>[a-z0-9_]+?)_(?P<task>binary\.classification|multiclass\.classification|"
    r"multilabel\.classification|regression)_(?P<kind>dense|sparse)$"
)
# Metrics whose loss is an error (optimum 0, lower is better): the loss is the metric itself.
ERRORS = {
    "log_loss",
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "median_absolute_error",
    "root_mean_squared_error",
}
# Where auto-sklearn's metric is OpenML's measure (same definition).
OPENML_MEASURES = {
    "accuracy": "predictive_accuracy",
    "mean_absolute_error": "mean_absolute_error",
    "root_mean_squared_error": "root_mean_squared_error",
}
FILES = ("algorithm_runs.arff", "configurations.csv", "feature_values.arff")


@dataclass(frozen=True)
class Incumbent:
    instance: str
    config_id: str
    loss: float | None
    status: str


@dataclass(frozen=True)
class Folder:
    name: str
    metric: str
    regression: bool
    binary: bool
    incumbents: tuple[Incumbent, ...]
    configs: dict[str, dict]
    features: dict[str, dict[str, float]]

    @property
    def by_task_id(self) -> bool:
        # "-5" or "3.5" among task ids is a damaged id, not a dataset name: such a folder is
        # task-keyed too, and its ids are then checked (and refused)
        return all(_number(i.instance) for i in self.incumbents) and all(
            _number(k) for k in self.features
        )

    def measure(self) -> str:
        if self.metric == "roc_auc" and self.binary:
            return "area_under_roc_curve"
        return OPENML_MEASURES.get(self.metric, self.metric)

    def metric_value(self, loss: float) -> float:
        return loss if self.metric in ERRORS else 1.0 - loss


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_arff(path: Path) -> tuple[list[str], list[tuple]]:
    """The attribute names and the data rows of an ASlib ARFF, read by the shared strict reader
    (NUMERIC values as floats, others as text; ``?`` as None).
    """
    if not path.exists():
        raise ImportFormatError(path.parent, f"missing {path.name}")
    header, frame = read_arff(path)
    frame = frame.astype(object).where(frame.notna(), None)
    return header.names, list(frame.itertuples(index=False, name=None))


def _incumbents(path: Path, metric: str) -> tuple[Incumbent, ...]:
    names, data = _load_arff(path)
    expected = ["instance_id", "repetition", "algorithm", metric, "runstatus"]
    if names != expected:
        raise ImportFormatError(path, f"attributes {names}, expected {expected}")
    rows = []
    for i, (instance, _, algorithm, cost, status) in enumerate(data, start=1):
        if instance is None or algorithm is None:
            raise ImportFormatError(path, f"data row {i}: empty instance_id or algorithm")
        loss = None if cost is None or math.isnan(float(cost)) else float(cost)
        if loss is not None and not math.isfinite(loss):
            raise ImportFormatError(path, f"data row {i}: {metric} is not finite: {cost!r}")
        rows.append(Incumbent(str(instance), str(algorithm).strip(), loss, str(status or "ok")))
    if not rows:
        raise ImportFormatError(path, "no data rows")
    return tuple(rows)


def _features(path: Path) -> dict[str, dict[str, float]]:
    names, data = _load_arff(path)
    if names[:2] != ["instance_id", "repetition"] or len(names) < 3:
        raise ImportFormatError(
            path, "expected attributes instance_id, repetition, then meta-features"
        )
    out = {}
    for i, row in enumerate(data, start=1):
        values = {
            q: float(v)
            for q, v in zip(names[2:], row[2:])
            if v is not None and not math.isnan(float(v))
        }
        infinite = [q for q, v in values.items() if not math.isfinite(v)]
        if infinite:
            raise ImportFormatError(
                path, f"data row {i}: {infinite[0]} is not finite: {values[infinite[0]]}"
            )
        out.setdefault(str(row[0]), {}).update(values)
    return out


def _configs(path: Path) -> dict[str, dict]:
    if not path.exists():
        raise ImportFormatError(path.parent, f"missing {path.name}")
    table = read_rows(
        path
    )  # strict: UTF-8, distinct header names, every row as long as the header
    if table.header[0] != "idx":
        raise ImportFormatError(path, "expected a header starting with idx")
    out = {}
    for i, row in enumerate(table.rows):
        idx = row[0].strip()
        if idx in out:  # which of two settings an incumbent used is not ours to guess
            raise ImportFormatError(path, f"{table.at(i)}: configuration {idx} occurs twice")
        # empty cells are inactive hyperparameters: leave them out of the config
        out[idx] = {k: typed_token(v) for k, v in zip(table.header[1:], row[1:]) if v != ""}
    return out


def read_folder(folder: Path) -> Folder:
    m = FOLDER.match(folder.name)
    if m is None:
        raise ImportFormatError(
            folder, "not an auto-sklearn folder <metric>_<task type>_<dense|sparse>"
        )
    incumbents = _incumbents(folder / "algorithm_runs.arff", m["metric"])
    configs = _configs(folder / "configurations.csv")
    unknown = sorted({i.config_id for i in incumbents} - set(configs))
    if unknown:
        raise ImportFormatError(
            folder / "configurations.csv", f"no configuration for ids {', '.join(unknown[:5])}"
        )
    read = Folder(
        name=folder.name,
        metric=m["metric"],
        regression=m["task"] == "regression",
        binary=m["task"] == "binary.classification",
        incumbents=incumbents,
        configs=configs,
        features=_features(folder / "feature_values.arff"),
    )
    if read.by_task_id:  # instance ids are OpenML task ids: 0 or a 20-digit number is none
        positive_ids(
            folder / "algorithm_runs.arff",
            "instance_id",
            [i.instance for i in incumbents],
            lambda i: f"data row {i + 1}",
        )
        keys = list(read.features)
        positive_ids(
            folder / "feature_values.arff", "instance_id", keys, lambda i: f"instance {keys[i]!r}"
        )
    return read


def _folders(path: Path) -> list[Path]:
    if FOLDER.match(path.name):
        return [path]
    found = sorted(p for p in path.iterdir() if p.is_dir() and FOLDER.match(p.name))
    if not found:
        raise ImportFormatError(
            path, "no auto-sklearn folders (<metric>_<task type>_<dense|sparse>) here"
        )
    return found


def _runs_and_evaluations(folders: list[Folder]) -> tuple[pa.Table, pa.Table]:
    runs, evals, seen = [], [], set()
    # 'autosklearn' is not a catalogue pipeline: its configs hash generically (and repeat a lot)
    hashes: dict[str, str] = {}
    for folder in folders:
        for inc in folder.incumbents:
            key = f"autosklearn:{folder.name}:{inc.instance}:{inc.config_id}"
            if key in seen:  # the same incumbent listed twice: one run
                continue
            seen.add(key)
            config = folder.configs[inc.config_id]
            text = canonical_json(config)
            runs.append(
                {
                    "run_key": key,
                    "task_id": int(inc.instance) if folder.by_task_id else None,
                    "pipeline": PIPELINE,
                    "config": text,
                    "config_hash": hashes.get(text)
                    or hashes.setdefault(text, fallback_hash(PIPELINE, text)),
                    "source": SOURCE,
                    "status": inc.status,
                }
            )
            if inc.loss is not None:
                evals.append((key, f"autosklearn_loss_{folder.metric}", inc.loss))
                if inc.status == "ok":
                    evals.append((key, folder.measure(), folder.metric_value(inc.loss)))
    run_table = pa.table(
        {
            "run_key": pa.array([r["run_key"] for r in runs], pa.string()),
            "task_id": pa.array([r["task_id"] for r in runs], pa.int64()),
            "pipeline": pa.array([r["pipeline"] for r in runs], pa.string()),
            "config": pa.array([r["config"] for r in runs], pa.string()),
            "config_hash": pa.array([r["config_hash"] for r in runs], pa.string()),
            "source": pa.array([r["source"] for r in runs], pa.string()),
            "status": pa.array([r["status"] for r in runs], pa.string()),
        }
    )
    eval_table = pa.table(
        {
            "run_key": pa.array([e[0] for e in evals], pa.string()),
            "measure": pa.array([e[1] for e in evals], pa.string()),
            "value": pa.array([e[2] for e in evals], pa.float64()),
            "source": pa.array([SOURCE] * len(evals), pa.string()),
        }
    )
    return run_table, eval_table


def _qualities(
    folders: list[Folder], index: NameIndex
) -> tuple[dict, dict, dict[str, int | None]]:
    """Task-keyed and dataset-keyed qualities; the first folder (sorted) wins a disagreement."""
    by_task: dict[tuple[int, str], float] = {}
    by_dataset: dict[tuple[int, str], float] = {}
    names: dict[str, int | None] = {}
    for folder in folders:
        for instance, values in folder.features.items():
            if folder.by_task_id:
                target, key = by_task, int(instance)
            else:
                did = index.resolve(
                    instance, regression=folder.regression, n_classes=values.get("NumberOfClasses")
                )
                names[f"{instance}|{folder.regression}"] = did
                if did is None:
                    continue
                target, key = by_dataset, did
            for quality, value in values.items():
                target.setdefault((key, quality), value)
    return by_task, by_dataset, names


def _long(table: dict[tuple[int, str], float], id_column: str) -> pa.Table:
    return pa.table(
        {
            id_column: pa.array([k[0] for k in table], pa.int64()),
            "quality": pa.array([k[1] for k in table], pa.string()),
            "value": pa.array(list(table.values()), pa.float64()),
            "source": pa.array([SOURCE] * len(table), pa.string()),
        }
    )


def build_batch(path: Path, index: NameIndex | None = None) -> tuple[ImportBatch, dict]:
    folders = [read_folder(f) for f in _folders(path)]
    runs, evals = _runs_and_evaluations(folders)
    if index is None and not all(f.by_task_id for f in folders):
        index = build_index(find_data_root(path))
    by_task, by_dataset, names = _qualities(folders, index or NameIndex())
    loads = [
        TableLoad("runs", runs),
        TableLoad("evaluations", evals, mode="replace", by=("run_key",)),
    ]
    if by_task:
        loads.append(TableLoad("task_qualities", _long(by_task, "task_id")))
    if by_dataset:
        loads.append(TableLoad("dataset_qualities", _long(by_dataset, "dataset_id")))
    stats = {
        "folders": len(folders),
        "runs": runs.num_rows,
        "names": len(names),
        "names_mapped": sum(v is not None for v in names.values()),
    }
    if names:
        log.info(
            "autosklearn: mapped %d of %d dataset names (per task kind) to OpenML dataset ids",
            stats["names_mapped"],
            stats["names"],
        )
    return ImportBatch(source=SOURCE, loads=tuple(loads), path=path), stats


class AutosklearnImporter(Importer):
    name = "autosklearn"
    description = (
        "auto-sklearn meta-learning ASlib folders: incumbents, their configs and meta-features"
    )
    expects = "dir"

    def read(self, path: Path) -> ImportBatch:
        batch, self.stats = build_batch(Path(path))
        return batch
