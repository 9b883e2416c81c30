"""Per-server state: the shared (read-only) catalog plus this server's uploads and scale source.

The catalog is parsed once per data directory per process and shared by every server started on
it; uploads live here so that servers do not see each other's uploads.
"""

from __future__ import annotations

import itertools
import threading
from collections import ChainMap

import numpy as np

from . import ids
from .catalog import Catalog, RunTable
from .entities import setup_parameters
from .scale import ScaleSource


class TableSource:
    """A RunTable seen as a list source: chunks of parallel columns, sorted by run id."""

    def __init__(self, table: RunTable):
        self.t = table

    def __len__(self) -> int:
        return len(self.t)

    def columns(self, start: int, stop: int) -> dict:
        t = self.t
        s = slice(start, stop)
        return {
            "run_id": t.run_id[s],
            "task_id": t.task_id[s],
            "flow_id": t.flow_id[s],
            "setup_id": t.setup_id[s],
            "upload_time": t.upload_time[s],
            "data_id": t.data_id[s],
            "uploader": t.uploader[s],
            "evals": {m: v[s] for m, v in t.evals.items()},
        }

    def first_index_at_least(self, run_id: int) -> int:
        return int(np.searchsorted(self.t.run_id, run_id))


_tokens = itertools.count(1)


class ServerState:
    def __init__(self, catalog: Catalog, scale: int | None = None):
        self.cat = catalog
        self.token = next(_tokens)  # keys this server's cached match counts
        self.lock = threading.Lock()
        self.tasks = catalog.tasks
        self.datasets = catalog.datasets
        self.studies = catalog.studies
        self.pimp_values = catalog.pimp_values
        self.cc18_tasks = catalog.cc18_tasks
        self.openml100_tasks = catalog.openml100_tasks
        self.uploaded_flows: dict[int, object] = {}
        self.uploaded_setups: dict[int, tuple] = {}
        self.uploaded_runs: dict[int, str] = {}
        self.uploaded_files: dict[int, bytes] = {}
        # (entity, id) -> tags added here  # file id -> bytes (uploaded predictions)
        # run id -> description XML as uploaded
        self.tags: dict[tuple[str, int], list[str]] = {}
        self.next_id = ids.UPLOAD
        self.runs = catalog.runs
        self.scale = None
        flows = [self.uploaded_flows]
        if scale:
            data_of = {t: catalog.tasks[t].data_id for t in catalog.pimp_tasks}
            self.scale = ScaleSource(scale, catalog.pimp_tasks, data_of)
            flows.append(self.scale.flows)
        self.flows = ChainMap(*flows, catalog.flows)

    # ------------------------------------------------------------------ sources
    def run_sources(self) -> list:
        out = [TableSource(self.runs)]
        if self.scale is not None:
            out.append(self.scale)
        return out

    def setup_parameters(self, setup_id: int):
        if self.scale is not None and setup_id >= self.scale_setup_base():
            return self.scale.setup(setup_id)
        return setup_parameters(self, setup_id)

    @staticmethod
    def scale_setup_base() -> int:
        from .scale import SCALE_SETUP

        return SCALE_SETUP

    def setup_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(setup ids, flow ids) of the real and uploaded setups, sorted by setup id."""
        if getattr(self, "_setups_cache", None) is None or self._setups_cache[0] != len(self.runs):
            sid, pos = np.unique(self.runs.setup_id, return_index=True)
            self._setups_cache = (len(self.runs), sid, self.runs.flow_id[pos])
        return self._setups_cache[1], self._setups_cache[2]

    def tagged(self, entity: str, tag: str) -> set[int]:
        """Ids of ``entity`` given ``tag`` on this server (POST .../tag or a run upload)."""
        return {i for (ent, i), tags in self.tags.items() if ent == entity and tag in tags}

    def entity_tags(self, entity: str, ident: int) -> list[str]:
        return self.tags.get((entity, ident), [])

    # ------------------------------------------------------------------ uploads
    def new_id(self) -> int:
        with self.lock:
            i = self.next_id
            self.next_id += 1
            return i

    def add_run(
        self, run_id, task_id, flow_id, setup_id, upload_time, evals: dict[str, float]
    ) -> None:
        with self.lock:
            t = self.runs
            data_id = self.tasks[task_id].data_id if task_id in self.tasks else -1
            cols = {}
            for m in set(t.evals) | set(evals):
                old = t.evals.get(m, np.full(len(t), np.nan))
                cols[m] = np.append(old, evals.get(m, np.nan))
            new = RunTable(
                np.append(t.run_id, run_id),
                np.append(t.task_id, task_id),
                np.append(t.flow_id, flow_id),
                np.append(t.setup_id, setup_id),
                np.append(t.upload_time, upload_time),
                np.append(t.data_id, data_id),
                cols,
            )
            new.uploader = np.append(t.uploader, 1)
            self.runs = new
