"""Scale mode: a deterministic generator of synthetic runs, setups and evaluations.

``--scale N`` adds N synthetic runs after the real ones, each with one ``predictive_accuracy``
evaluation, so N evaluations. Nothing is materialised: run ``k`` (0-based) is computed from k:

* run id ``100_000_001 + k``; setup id ``200_000_001 + k``; uploader 999; upload time
  2025-01-01 00:00:00 UTC + k seconds;
* task ``T[k % len(T)]`` where T is the sorted list of the openml-pimp (OpenML100) task ids, so
  that ``task/{id}`` of a synthetic run's task is a real task;
* flow ``90_000_001 + (k // len(T)) % 10``, named ``synthetic.replay.flow_<i>`` and tagged
  ``synthetic`` (flow names, tags and the uploader label everything here as synthetic);
* setup parameters ``x`` (float) and ``depth`` (int) and the accuracy come from an integer hash
  of k.
"""

from __future__ import annotations

import numpy as np

from .catalog import Flow

SCALE_RUN = 100_000_001
SCALE_SETUP = 200_000_001
SCALE_FLOW = 90_000_001
N_FLOWS = 10
SCALE_UPLOADER = 999
SCALE_TIME = 1_735_689_600  # 2025-01-01 00:00:00 UTC
MEASURE = "predictive_accuracy"


def _mix(k: np.ndarray, salt: int) -> np.ndarray:
    """A cheap deterministic 64-bit hash (splitmix64 finaliser), vectorised."""
    x = (k.astype(np.uint64) + np.uint64(salt)) * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _unit(k: np.ndarray, salt: int) -> np.ndarray:
    return (_mix(k, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class ScaleSource:
    """Columns of synthetic runs [start, stop), computed on demand."""

    def __init__(self, n: int, tasks: list[int], data_of_task: dict[int, int]):
        self.n = int(n)
        self.tasks = np.asarray(sorted(tasks), dtype=np.int64)
        self.data = np.asarray([data_of_task[t] for t in self.tasks], dtype=np.int64)
        self.flows = {SCALE_FLOW + i: synthetic_flow(SCALE_FLOW + i) for i in range(N_FLOWS)}

    def __len__(self) -> int:
        return self.n

    def columns(self, start: int, stop: int, tasks=None) -> dict:
        """Runs ``start <= k < stop``; with ``tasks`` only the runs of those tasks (an index
        lookup, as a database with an index on the task does it: run ``k`` is of task
        ``T[k % len(T)]``, so a task's runs are every ``len(T)``-th one).
        """
        stop = min(stop, self.n)
        k = (
            np.arange(start, stop, dtype=np.int64)
            if tasks is None
            else self._task_rows(start, stop, tasks)
        )
        t = k % len(self.tasks)
        acc = np.round(0.5 + 0.5 * _unit(k, 1), 6)
        return {
            "run_id": SCALE_RUN + k,
            "task_id": self.tasks[t],
            "flow_id": SCALE_FLOW + (k // len(self.tasks)) % N_FLOWS,
            "setup_id": SCALE_SETUP + k,
            "upload_time": SCALE_TIME + k,
            "data_id": self.data[t],
            "uploader": np.full(len(k), SCALE_UPLOADER, dtype=np.int64),
            "evals": {MEASURE: acc},
        }

    def _task_rows(self, start: int, stop: int, tasks) -> np.ndarray:
        wanted = np.asarray(tasks, dtype=np.int64)
        pos = np.searchsorted(self.tasks, wanted)
        found = np.unique(
            pos[
                (pos < len(self.tasks))
                & (self.tasks[np.minimum(pos, len(self.tasks) - 1)] == wanted)
            ]
        )
        if not len(found) or start >= stop:
            return np.zeros(0, dtype=np.int64)
        size = len(self.tasks)
        first = start + (found - start) % size  # each task's first run at or after start
        return np.sort(np.concatenate([np.arange(f, stop, size, dtype=np.int64) for f in first]))

    def index_of_run(self, run_id: int) -> int | None:
        k = run_id - SCALE_RUN
        return k if 0 <= k < self.n else None

    def first_index_at_least(self, run_id: int) -> int:
        return int(min(max(run_id - SCALE_RUN, 0), self.n))

    def setup(self, setup_id: int) -> tuple[int, list[tuple]] | None:
        k = setup_id - SCALE_SETUP
        if not 0 <= k < self.n:
            return None
        return self.setups(np.asarray([k], dtype=np.int64))[0]

    def setups(self, k: np.ndarray) -> list[tuple[int, list[tuple]]]:
        """(flow id, parameter tuples) of synthetic setups ``k`` (0-based), computed vectorised."""
        k = np.asarray(k, dtype=np.int64)
        fids = (SCALE_FLOW + (k // len(self.tasks)) % N_FLOWS).tolist()
        xs = np.round(_unit(k, 2), 6).tolist()
        depths = (1 + _mix(k, 3) % np.uint64(20)).tolist()
        out = []
        for fid, x, depth in zip(fids, xs, depths):
            name = self.flows[fid].name
            out.append(
                (
                    fid,
                    [
                        (fid * 10 + 1, fid, name, "x", "option", "0.5", repr(x)),
                        (fid * 10 + 2, fid, name, "depth", "option", "5", str(depth)),
                    ],
                )
            )
        return out


def synthetic_flow(fid: int) -> Flow:
    return Flow(
        fid,
        f"synthetic.replay.flow_{fid - SCALE_FLOW}",
        external_version="synthetic",
        description=(
            "SYNTHETIC flow generated by the metabase replay server's scale mode; not OpenML data."
        ),
        upload_date="2025-01-01 00:00:00",
        uploader=SCALE_UPLOADER,
        parameters=(("x", "option", "0.5"), ("depth", "option", "5")),
        tags=("synthetic",),
    )
