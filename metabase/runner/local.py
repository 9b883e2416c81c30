"""The local executor: up to ``workers`` runs at once, each in a forked child of its own.

The coordinator loads each task's data once; children share it through the fork. It watches
its children without polling their exits (a ``pidfd`` per child wakes it when one ends) and, for
runs with a memory limit, samples the resident memory of each run's process tree a few times a
second. A run past its time limit is killed as ``timeout``, past its memory limit as ``memout``;
a child that dies on its own (a signal, a segfault, the kernel's OOM killer) is ``worker_lost``
and runs once more with the same seed. :meth:`LocalExecutor.close` kills every running child's
process tree and waits for it, so an interrupted coordinator leaves no process behind.
"""

from __future__ import annotations

import importlib
import logging
import os
import selectors
import shutil
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Iterator

from metabase.records import MEMOUT, TIMEOUT, WORKER_LOST, RunRequest, RunResult, TaskData
from metabase.runner import environment
from metabase.runner.execute import Catalogue, default_catalogue, execute, schema_for, utcnow
from metabase.runner.isolate import Child, Guardian, kill_tree, read_result, reap, release, spawn

log = logging.getLogger(__name__)

MEMORY_POLL_S = 0.1
MAX_ATTEMPTS = 2  # a lost worker's run is tried once more, never in a loop


@dataclass
class _Job:
    request: RunRequest
    data: TaskData
    attempt: int = 1


@dataclass
class _Running:
    job: _Job
    child: Child
    started: datetime
    started_mono: float


class LocalExecutor:
    """A pool of ``workers`` child processes (default: the machine's cores)."""

    name = "local"

    def __init__(
        self,
        workers: int | None = None,
        catalogue: Catalogue | None = None,
        memory_poll_s: float = MEMORY_POLL_S,
    ) -> None:
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self.catalogue = catalogue
        self.memory_poll_s = memory_poll_s
        self._pending: deque[_Job] = deque()
        self._ready: deque[RunResult] = deque()  # finished, not yet handed to the caller
        self._running: dict[int, _Running] = {}
        self._selector = selectors.DefaultSelector()
        self._dir = Path(tempfile.mkdtemp(prefix="metabase-runs-"))
        self._serial = 0
        self._closed = False
        self._warm: set[tuple[str, int]] = set()
        self._adopted: set[str] = set()
        self._guardian: Guardian | None = None

    # -- the protocol ---------------------------------------------------------------------------
    def submit(self, request: RunRequest, data: TaskData) -> None:
        if self._closed:
            raise RuntimeError("the executor is closed")
        self._pending.append(_Job(request, data))

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def results(self) -> Iterator[RunResult]:
        """Results as runs finish, until every submitted run has one."""
        while (self._ready or self._pending or self._running) and not self._closed:
            if self._ready:  # taken off before it is handed on: a caller may stop reading
                yield self._ready.popleft()
                continue
            self._fill()
            self._wait()

    def close(self) -> None:
        """Stop: pending runs are dropped, running ones killed with their process trees."""
        self._closed = True
        self._pending.clear()
        for running in list(self._running.values()):
            kill_tree(running.child.pid)
            reap(running.child)
            release(running.child)
            read_result(running.child)
            self._guardian.forget(running.child.pid)
        self._running.clear()
        if self._guardian is not None:
            self._guardian.close()
        self._selector.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- scheduling -----------------------------------------------------------------------------
    def _fill(self) -> None:
        environment.host(), environment.versions()  # computed once here, inherited by every child
        while self._pending and len(self._running) < self.workers:
            job = self._pending.popleft()
            self._warm_up(job)
            self._serial += 1
            if not self._dir.is_dir():  # a temp cleaner took it: the runs need it for results
                log.warning("the runs' folder %s was deleted: made it again", self._dir)
                self._dir.mkdir(parents=True, exist_ok=True)
            stem = self._dir / f"run-{self._serial}"
            if self._guardian is None:
                self._guardian = Guardian()
            child = spawn(
                lambda job=job: execute(job.request, job.data, self.catalogue),
                stem.with_suffix(".pickle"),
                stem.with_suffix(".log"),
                close_fds=(self._guardian.fd,),
            )
            self._guardian.watch(child.pid)
            self._running[child.pid] = _Running(job, child, utcnow(), time.monotonic())
            if child.pidfd is not None:
                self._selector.register(child.pidfd, selectors.EVENT_READ, child.pid)

    def _warm_up(self, job: _Job) -> None:
        """Build the pipeline once here, so that every child inherits its imported modules instead
        of importing them again (a second or more per child on a loaded machine).
        """
        key = (job.request.pipeline, id(job.data))
        if key in self._warm:
            return
        self._warm.add(key)
        try:
            pipeline = (self.catalogue or default_catalogue)(job.request.pipeline)
            pipeline.build(dict(job.request.config), schema_for(job.data))
        except Exception:  # noqa: BLE001 - the child reports what is wrong, as a result
            pass

    def _adopt(self, modules: tuple[str, ...]) -> None:
        """Import here the modules a run imported lazily (fitting and predicting import more
        than building: about twenty modules of scikit-learn's dataframe layer for a random
        forest, a tenth of a second in each child on a loaded machine), so that later children
        inherit them. Only submodules of packages imported here already: a new top-level
        package might start threads, which a process that forks must not have.
        """
        for name in modules:
            if name in sys.modules or name in self._adopted:
                continue
            self._adopted.add(name)
            if name.partition(".")[0] not in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - an optimisation only: the child imports it then
                pass

    def _timeout(self) -> float | None:
        now = time.monotonic()
        waits = []
        for running in self._running.values():
            request = running.job.request
            if running.child.pidfd is None:
                waits.append(0.02)
            if request.time_limit_s is not None:
                waits.append(running.started_mono + request.time_limit_s - now)
            if request.memory_limit_mb is not None:
                waits.append(self.memory_poll_s)
        return max(0.0, min(waits)) if waits else None

    def _wait(self) -> None:
        """Reap the finished runs, start the next ones, then queue the finished runs' results
        in ``_ready``: a caller that stops reading after one result (the bot takes one at a
        time) finds the others there on its next call.
        """
        if not self._running:
            return
        self._selector.select(self._timeout())
        self._enforce_limits()
        finished = []
        for pid, running in list(self._running.items()):
            code = reap(running.child, block=running.child.killed_for is not None)
            if code is None:
                continue
            if running.child.pidfd is not None:
                self._selector.unregister(running.child.pidfd)
            release(running.child)
            self._guardian.forget(running.child.pid)
            del self._running[pid]
            finished.append((running, code, self._retry(running)))
        # The next runs start before these results are read and handed on: reading one and what
        # the caller does with it (storing each costs tens of milliseconds) then overlap with
        # runs instead of idling their workers.
        self._fill()
        for running, code, retried in finished:
            result = self._outcome(running, code, retried)
            if result is not None:
                self._ready.append(result)

    def _retry(self, running: _Running) -> bool:
        """Queue a lost child's run once more (first in line); True when it was."""
        child, job = running.child, running.job
        if child.killed_for is not None or child.result_path.exists():
            return False
        if job.attempt >= MAX_ATTEMPTS:
            return False
        self._pending.appendleft(_Job(job.request, job.data, job.attempt + 1))
        return True

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        for running in self._running.values():
            request, child = running.job.request, running.child
            if child.killed_for is not None:
                continue
            if (
                request.time_limit_s is not None
                and now - running.started_mono >= request.time_limit_s
            ):
                child.killed_for = TIMEOUT
            elif (
                request.memory_limit_mb is not None and child.memory_mb() > request.memory_limit_mb
            ):
                child.killed_for = MEMOUT
            if child.killed_for is not None:
                kill_tree(child.pid)

    def _outcome(self, running: _Running, code: int, retried: bool) -> RunResult | None:
        child, job = running.child, running.job
        result = read_result(child)
        if child.killed_for is not None:
            child.log_path.unlink(missing_ok=True)
            return limit_result(job.request, child.killed_for, running.started, job.attempt)
        if result is not None:
            child.log_path.unlink(missing_ok=True)
            self._adopt(child.imported)
            return replace(result, attempts=job.attempt)
        log_tail = _tail(child.log_path)
        child.log_path.unlink(missing_ok=True)
        if retried:
            return None
        return lost_result(job.request, code, running.started, job.attempt, log_tail)


def limit_result(request: RunRequest, status: str, started: datetime, attempts: int) -> RunResult:
    """The result of a run that its executor stopped at its time or memory limit."""
    if status == TIMEOUT:
        error, message = (
            "TimeoutError",
            f"the run exceeded its time limit of {request.time_limit_s:g} s",
        )
    else:
        error, message = (
            "MemoryError",
            f"the run exceeded its memory limit of {request.memory_limit_mb:g} MB",
        )
    return RunResult(
        request,
        status,
        error_type=error,
        error_message=message,
        started_at=started,
        finished_at=utcnow(),
        environment=_coordinator_env(),
        attempts=attempts,
    )


def lost_result(
    request: RunRequest, code: int | None, started: datetime, attempts: int, log_tail: str = ""
) -> RunResult:
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return RunResult(
        request,
        WORKER_LOST,
        error_type="WorkerLost",
        error_message=f"the worker running it died ({how}) on each of {attempts} attempts",
        traceback=log_tail or None,
        started_at=started,
        finished_at=utcnow(),
        environment=_coordinator_env(),
        attempts=attempts,
    )


def _coordinator_env() -> dict:
    return {"versions": environment.versions(), **environment.host()}


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
