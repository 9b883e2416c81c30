"""The contract every executor passes (the optuna ``StorageTestCase`` pattern).

Subclass :class:`ExecutorContract` in a test module as ``Test<Name>`` and define
``make(self)``, returning a fresh executor that resolves pipelines with
:func:`metabase.testing.faulty.get`. The suite checks, on small synthetic tasks:

- results equal serial, in-process execution for the same seeds (measures other than timings,
  and predictions), one result per submitted run;
- a crash, a timeout, a memory overrun (in the run's own process and in a child process of it)
  and a lost worker are results with their status, and other runs are unaffected;
- a lost worker is retried once with the same seed, never more;
- runs submitted while the results are being read are run, and their results read, in the same
  iteration; a caller that reads one result per call loses none;
- ``close`` (and Ctrl-C) stops everything: no process of a run remains.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time

import pytest

from metabase.records import CRASHED, MEMOUT, OK, TIMEOUT, WORKER_LOST, Fidelity, RunRequest
from metabase.runner import measures
from metabase.testing import faulty


def request(pipeline: str, config: dict, seed: int = 0, task_id: int = 1, **limits) -> RunRequest:
    import pipelines

    canonical = faulty.get(pipeline).canonicalize(config)
    return RunRequest(
        task_id,
        pipeline,
        canonical,
        pipelines.config_hash(pipeline, canonical),
        seed=seed,
        fidelity=Fidelity(n_estimators=4),
        **limits,
    )


def processes_running(marker: str) -> list:
    """Live processes (not zombies) whose command line contains ``marker``."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and marker in " ".join(
                proc.info["cmdline"] or ()
            ):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def comparable(result) -> tuple:
    """What must not depend on the executor: non-timing measures and the predictions."""
    values = sorted(
        (
            m.measure,
            -1 if m.fold is None else m.repeat,
            -1 if m.fold is None else m.fold,
            m.sample or 0,
            m.value,
        )
        for m in result.measurements
        if m.measure not in measures.TIMING
    )
    frame = result.predictions
    rows = (
        None if frame is None else [tuple(map(str, row)) for row in frame.itertuples(index=False)]
    )
    return result.status, values, rows


def collect(executor, requests, data) -> dict:
    for req in requests:
        executor.submit(req, data)
    return {r.run_key: r for r in executor.results()}


class ExecutorContract:
    """Shared executor tests; subclasses define ``make()``."""

    timeout_s = 60.0  # generous: shared, loaded CI machines

    def make(self):  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    @pytest.fixture
    def executor(self):
        executor = self.make()
        yield executor
        executor.close()

    def test_results_equal_serial_execution(self, executor):
        from metabase.runner import execute

        cls, reg = (
            faulty.synthetic_task(),
            faulty.synthetic_task(task_type="regression", task_id=2, repeats=2, folds=2),
        )
        work = [
            (request("sklearn.random_forest", {"n_estimators": 16}, seed=s), cls) for s in (1, 2)
        ]
        work += [(request("testing.faulty", faulty.config("ok"), seed=s), cls) for s in (1, 2)]
        work += [
            (request("sklearn.decision_tree_regressor", {}, task_id=2), reg),
            (request("testing.faulty", faulty.config("ok"), seed=3, task_id=2), reg),
        ]
        for req, data in work:
            executor.submit(req, data)
        got = {r.run_key: r for r in executor.results()}
        assert sorted(got) == sorted(req.run_key for req, _ in work)
        for req, data in work:
            assert comparable(got[req.run_key]) == comparable(execute(req, data, faulty.get)), (
                req.pipeline
            )
            assert got[req.run_key].status == OK
        seeds = {comparable(got[req.run_key])[2].__repr__() for req, _ in work[2:4]}
        assert (
            len(seeds) == 2
        )  # the seed reaches the estimator: two seeds, two sets of predictions

    def test_runs_submitted_while_results_are_read_are_run(self, executor):
        """A caller that answers each result with a new run (``metabase tune``) gets every one:
        the last result in flight does not end the iteration when a run was submitted for it.
        """
        data = faulty.synthetic_task()
        first = [request("testing.faulty", faulty.config("ok"), seed=s) for s in (1, 2)]
        later = [request("testing.faulty", faulty.config("ok"), seed=s) for s in (3, 4, 5)]
        for req in first:
            executor.submit(req, data)
        got, queue = [], list(later)
        for result in executor.results():
            got.append((result.run_key, result.status))
            if queue:
                executor.submit(queue.pop(0), data)
        assert sorted(got) == sorted((r.run_key, OK) for r in first + later)

    def test_a_caller_that_reads_one_result_at_a_time_loses_none(self, executor):
        """The bot takes one result per call of ``results()`` and closes the iterator: runs that
        finished together must wait for the next call, not vanish with the closed iterator.
        """
        data = faulty.synthetic_task()
        requests = [request("testing.faulty", faulty.config("ok"), seed=s) for s in (1, 2, 3, 4)]
        for req in requests:
            executor.submit(req, data)
        got, deadline = [], time.monotonic() + 120
        while len(got) < len(requests) and time.monotonic() < deadline:
            results = executor.results()
            result = next(results, None)
            results.close()
            if result is not None:
                got.append(result.run_key)
            time.sleep(1.0)  # the runs in flight finish meanwhile, and are read together next
        assert sorted(got) == sorted(r.run_key for r in requests)

    def test_a_crash_is_a_result_and_others_go_on(self, executor):
        data = faulty.synthetic_task()
        crash, fine = (
            request("testing.faulty", faulty.config("crash")),
            request("testing.faulty", faulty.config("ok")),
        )
        got = collect(executor, [crash, fine], data)
        assert got[fine.run_key].status == OK, (
            got[fine.run_key].status,
            got[fine.run_key].error_message,
            got[fine.run_key].traceback,
        )
        result = got[crash.run_key]
        assert (result.status, result.error_type) == (CRASHED, "ValueError")
        assert "boom" in result.error_message and "raise ValueError" in result.traceback
        assert result.measurements == () and result.predictions is None

    def test_timeout_kills_the_whole_process_tree(self, executor):
        data = faulty.synthetic_task()
        seconds = 3000 + os.getpid() % 500  # a unique command line to look for afterwards
        slow = request(
            "testing.faulty", faulty.config("sleep_child", seconds=seconds), time_limit_s=1.0
        )
        started = time.monotonic()
        (result,) = collect(executor, [slow], data).values()
        assert result.status == TIMEOUT and "time limit of 1 s" in result.error_message
        assert time.monotonic() - started < self.timeout_s
        assert self._gone(f"time.sleep({seconds})")

    @pytest.mark.parametrize("mode", ["memory", "child_memory"])
    def test_memory_limit_is_enforced_on_the_tree(self, executor, mode):
        data = faulty.synthetic_task()
        hog = request(
            "testing.faulty", faulty.config(mode, seconds=30, megabytes=400), memory_limit_mb=250
        )
        fine = request("testing.faulty", faulty.config("ok"), memory_limit_mb=250)
        got = collect(executor, [hog, fine], data)
        assert got[hog.run_key].status == MEMOUT and "250 MB" in got[hog.run_key].error_message
        assert got[fine.run_key].status == OK, (
            got[fine.run_key].status,
            got[fine.run_key].error_message,
            got[fine.run_key].traceback,
        )

    def test_a_lost_worker_is_retried_once(self, executor):
        data = faulty.synthetic_task()
        token = 1000 + int.from_bytes(os.urandom(2), "big") % 2000
        marker = os.path.join(tempfile.gettempdir(), f"metabase-die-once-{token}")
        dies, dies_once = (
            request("testing.faulty", faulty.config("die")),
            request("testing.faulty", faulty.config("die_once", seconds=token)),
        )
        try:
            got = collect(executor, [dies, dies_once], data)
        finally:
            os.unlink(marker) if os.path.exists(marker) else None
        assert (got[dies.run_key].status, got[dies.run_key].attempts) == (WORKER_LOST, 2)
        assert (got[dies_once.run_key].status, got[dies_once.run_key].attempts) == (OK, 2)

    def test_close_stops_every_run(self, executor):
        data = faulty.synthetic_task()
        seconds = 2000 + os.getpid() % 500
        work = [request("testing.faulty", faulty.config("ok"))]
        work += [
            request("testing.faulty", faulty.config("sleep_child", seconds=seconds), seed=s)
            for s in (1, 2)
        ]
        for req in work:
            executor.submit(req, data)
        first = next(iter(executor.results()))
        assert first.run_key == work[0].run_key
        self._until_running(f"time.sleep({seconds})")
        executor.close()
        assert self._gone(f"time.sleep({seconds})")

    def test_ctrl_c_interrupts_and_leaves_no_process(self, executor):
        data = faulty.synthetic_task()
        seconds = 1000 + os.getpid() % 500
        executor.submit(
            request("testing.faulty", faulty.config("sleep_child", seconds=seconds)), data
        )
        main = threading.get_ident()
        threading.Thread(
            target=self._interrupt_when_running, args=(f"time.sleep({seconds})", main), daemon=True
        ).start()
        with pytest.raises(KeyboardInterrupt):
            try:
                list(executor.results())
            finally:
                executor.close()
        assert self._gone(f"time.sleep({seconds})")

    # -- helpers --------------------------------------------------------------------------------
    def _until_running(self, marker: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not processes_running(marker):
            assert time.monotonic() < deadline, f"no process ran {marker}"
            time.sleep(0.1)

    def _interrupt_when_running(self, marker: str, thread_id: int) -> None:
        self._until_running(marker)
        signal.pthread_kill(thread_id, signal.SIGINT)

    def _gone(self, marker: str, within_s: float = 10.0) -> bool:
        deadline = time.monotonic() + within_s
        while processes_running(marker):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True
