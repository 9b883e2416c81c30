"""Frozen records that cross module boundaries: what a run is asked to do and what it gave.

Everything may import this module (the runner, the OpenML gateway, the store's writers, the
services, the bot); it imports nothing of metabase but the errors, so it stays a leaf.

- :class:`TaskData` and :class:`Splits`: an OpenML task as the runner needs it (data, target,
  class labels and the task's own split file), built by ``metabase.openml``.
- :class:`Fidelity`: where a caller lowered the cost of a run (trees, epochs, a data fraction).
- :class:`RunRequest`: one configuration of one pipeline on one task, with its seed and limits.
- :class:`RunResult`: the outcome, whatever it was: per-fold and aggregate measures and the
  predictions of an ``ok`` run, the exception and traceback of a ``crashed`` one, and the
  reproducibility record of every run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

# A run's outcome. Only ``ok`` runs have measures and predictions.
OK, CRASHED, TIMEOUT, MEMOUT, WORKER_LOST = "ok", "crashed", "timeout", "memout", "worker_lost"
STATUSES = (OK, CRASHED, TIMEOUT, MEMOUT, WORKER_LOST)


@dataclass(frozen=True)
class Splits:
    """A task's split file: for each (repeat, fold, sample), the train and test row indices.

    Row indices are positions in :attr:`TaskData.X` (OpenML's ``row_id``). ``samples`` is 1
    except for learning-curve tasks.
    """

    repeats: int
    folds: int
    samples: int
    indices: Mapping[tuple[int, int, int], tuple[Any, Any]] = field(repr=False)

    def keys(self) -> list[tuple[int, int, int]]:
        """(repeat, fold, sample) in OpenML's order: repeats, then folds, then samples."""
        return [
            (r, f, s)
            for r in range(self.repeats)
            for f in range(self.folds)
            for s in range(self.samples)
        ]


@dataclass(frozen=True)
class TaskData:
    """An OpenML supervised task with its data, as openml-python's ``get_X_and_y`` gives it.

    ``task_type`` is ``classification`` or ``regression``; ``class_labels`` are the target's
    nominal values in the task's order (the order of the ``confidence.<class>`` columns).
    """

    task_id: int
    dataset_id: int | None
    task_type: str
    target: str
    X: Any = field(repr=False)  # pandas DataFrame
    y: Any = field(repr=False)  # pandas Series
    splits: Splits = field(repr=False)
    class_labels: tuple | None = None
    evaluation_measure: str | None = None
    estimation_procedure: str | None = None
    dataset_name: str | None = None


@dataclass(frozen=True)
class Fidelity:
    """Caps that make a run cheaper than its configuration says; all None is full fidelity.

    ``n_estimators`` caps trees and boosting rounds, ``epochs`` caps torch epochs and
    ``data_fraction`` trains each fold on that fraction of its training rows (a seeded sample).
    """

    n_estimators: int | None = None
    epochs: int | None = None
    data_fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (
                ("n_estimators", self.n_estimators),
                ("epochs", self.epochs),
                ("data_fraction", self.data_fraction),
            )
            if v is not None
        }

    @property
    def full(self) -> bool:
        return not self.to_dict()


def run_key(task_id: int, pipeline: str, config_hash: str, seed: int, fidelity: Fidelity) -> str:
    """The key of a local run: the same task, pipeline, configuration, seed and fidelity always
    give the same key, so that asking for a run again finds it instead of running it twice.
    """
    payload = json.dumps(
        [int(task_id), pipeline, config_hash, int(seed), fidelity.to_dict()],
        sort_keys=True,
        separators=(",", ":"),
    )
    return "local:" + hashlib.sha256(payload.encode()).hexdigest()[:32]


def publish_tag(key: str) -> str:
    """The OpenML tag unique to a local run (OpenML's tag alphabet, well under 128 characters):
    a retried upload finds the run on the server by it.
    """
    return "metabase-run-" + hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class RunRequest:
    """Run ``config`` (canonical, in ``pipeline``'s space) on ``task_id``'s splits.

    ``time_limit_s`` and ``memory_limit_mb`` bound the whole process tree of the run;
    ``device`` is ``cpu``, ``cuda`` or None (CUDA when the pipeline wants it and it exists).
    """

    task_id: int
    pipeline: str
    config: Mapping[str, Any]
    config_hash: str
    seed: int = 0
    fidelity: Fidelity = Fidelity()
    time_limit_s: float | None = None
    memory_limit_mb: float | None = None
    device: str | None = None

    @property
    def run_key(self) -> str:
        return run_key(self.task_id, self.pipeline, self.config_hash, self.seed, self.fidelity)


@dataclass(frozen=True)
class Measurement:
    """One value of one OpenML measure; repeat/fold/sample are None for the aggregate."""

    measure: str
    value: float
    repeat: int | None = None
    fold: int | None = None
    sample: int | None = None
    stdev: float | None = None  # aggregates only: the standard deviation over folds


@dataclass(frozen=True)
class RunResult:
    """What became of a :class:`RunRequest`. Never an exception: a failure is a status.

    ``predictions`` (ok runs) is a DataFrame in OpenML's predictions-file columns: ``repeat``,
    ``fold``, ``sample``, ``row_id``, ``prediction``, ``correct`` and, for classification,
    ``confidence`` (a list per row, in ``class_labels`` order). ``environment`` records what
    makes the run reproducible: library versions, host, device, Python.
    """

    request: RunRequest
    status: str
    measurements: tuple[Measurement, ...] = ()
    predictions: Any = field(default=None, repr=False)
    class_labels: tuple | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = field(default=None, repr=False)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 1

    @property
    def run_key(self) -> str:
        return self.request.run_key

    @property
    def runtime_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def aggregate(self, measure: str) -> float | None:
        for m in self.measurements:
            if m.measure == measure and m.fold is None:
                return m.value
        return None
