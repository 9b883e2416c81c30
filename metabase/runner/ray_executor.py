"""The Ray executor: runs on a Ray cluster (or a local Ray), GPUs for the pipelines that want them.

Each task's data goes into Ray's object store once (``ray.put``); each Ray worker reads it
from there once and keeps it for the task's later runs. Each run is a Ray task that asks for
the resources its pipeline needs: ``num_gpus`` (1, or the fraction given) for torch pipelines
when the cluster has GPUs, one CPU otherwise. Inside the Ray worker the run executes as the
local executor runs it, in a forked child with its time and memory limits on the whole process
tree, so a crash, a timeout or a memory overrun is the same result on Ray as locally. A Ray
worker that dies is ``worker_lost`` and runs once more with the same seed. ``close`` cancels
what is still running (force-killing its worker, whose run child dies with it) and stops the
local Ray this executor started.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Iterator, Mapping

from metabase.errors import InputError
from metabase.records import RunRequest, RunResult, TaskData
from metabase.runner.execute import Catalogue, utcnow

CONNECT_TIMEOUT_S = 3.0
MAX_ATTEMPTS = 2


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError(
            "--executor ray needs Ray, an optional extra: pip install 'metabase[ray]'"
        ) from None
    return ray


def check_ray(address: str | None) -> None:
    """Ray is installed and, when an address is given, something answers there."""
    _import_ray()
    if not address or address in ("auto", "local"):
        return
    target = address.split("://", 1)[-1].rstrip("/")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--ray-address must be HOST:PORT (or ray://HOST:PORT), not {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise InputError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}): start one with "
            "`ray start --head` or leave out --ray-address for a local Ray"
        ) from None


# What a Ray worker process keeps between the runs it executes (one at a time): each task's
# data as deserialised once, and one single-slot local pool per catalogue, whose guardian
# process and warmed-up pipelines serve every run. A new pool (a guardian forked from the large
# Ray worker) and the data unpickled again for every run cost more than a small run's scoring.
_WORKER_DATA: OrderedDict[str, TaskData] = OrderedDict()
_WORKER_POOLS: dict = {}
WORKER_DATA_KEPT = 4


def _worker_data(ref) -> TaskData:
    import ray

    key = ref.hex()
    if key not in _WORKER_DATA:
        _WORKER_DATA[key] = ray.get(ref)
        while len(_WORKER_DATA) > WORKER_DATA_KEPT:
            _WORKER_DATA.popitem(last=False)
    _WORKER_DATA.move_to_end(key)
    return _WORKER_DATA[key]


def _worker_pool(catalogue: Catalogue | None):
    from metabase.runner.local import LocalExecutor

    pool = _WORKER_POOLS.get(catalogue)
    if pool is None or pool.running or pool.pending:
        if pool is not None:
            pool.close()
        pool = LocalExecutor(workers=1, catalogue=catalogue)
        atexit.register(pool.close)
        _WORKER_POOLS[catalogue] = pool
    return _WORKER_POOLS[catalogue]


def _run_on_worker(request: RunRequest, data_ref: list, catalogue: Catalogue | None) -> RunResult:
    """The body of each Ray task: the run in a child process of its own, with its limits.

    ``data_ref`` is the task data's object reference in a list, so that Ray hands over the
    reference instead of deserialising the data for every run.
    """
    pool = _worker_pool(catalogue)
    try:
        pool.submit(request, _worker_data(data_ref[0]))
        return next(iter(pool.results()))
    except BaseException:  # interrupted: its run killed, the next run gets a fresh pool
        _WORKER_POOLS.pop(catalogue, None)
        pool.close()
        raise


def _signal_handlers() -> dict:
    """The SIGTERM and SIGINT handlers now (none off the main thread, where they cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}


def _restore(saved: dict) -> None:
    """Give back the handlers ``ray.init`` replaced: it makes SIGTERM ``sys.exit(15)`` (and its
    core worker logs the signal as a crash), so a caller's own handling (the bot's grace, a
    run's clean stop) would be skipped and the process would exit 1 instead.
    """
    for signum, handler in saved.items():
        if handler is not None:  # None: set from C, not Python; nothing to give back
            signal.signal(signum, handler)


class RayExecutor:
    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        catalogue: Catalogue | None = None,
        gpus_per_run: float = 1.0,
    ) -> None:
        ray = _import_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            saved = _signal_handlers()
            try:
                if address:
                    ray.init(address=address, log_to_driver=False)
                else:
                    ray.init(
                        num_cpus=workers or os.cpu_count(),
                        include_dashboard=False,
                        log_to_driver=False,
                    )
                    self._started = True
            except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; the user needs one line
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise InputError(
                    f"cannot start or join {where}: {type(exc).__name__}: "
                    f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                ) from None
            finally:
                _restore(saved)
        self.catalogue = catalogue
        self.gpus_per_run = gpus_per_run
        resources = ray.cluster_resources()
        self._has_gpus = resources.get("GPU", 0) > 0
        # Runs at once, as a caller that keeps the executor busy (the bot) counts them: each
        # run asks for one CPU, so a joined cluster's CPUs unless --workers says otherwise.
        self.workers = max(1, int(workers or resources.get("CPU", 1)))
        self._remote = ray.remote(max_retries=0)(_run_on_worker)
        self._data: dict[int, tuple[TaskData, object]] = {}
        self._pending: dict[object, tuple[RunRequest, TaskData, int, object]] = {}

    # -- the protocol ---------------------------------------------------------------------------
    def submit(self, request: RunRequest, data: TaskData, attempt: int = 1) -> None:
        key = id(data)
        if key not in self._data:  # once per task: the runs read it from the object store
            self._data[key] = (data, self._ray.put(data))
        ref = self._remote.options(**self._resources(request)).remote(
            request, [self._data[key][1]], self.catalogue
        )
        self._pending[ref] = (request, data, attempt, utcnow())

    @property
    def running(self) -> int:
        return len(self._pending)

    def results(self) -> Iterator[RunResult]:
        ray = self._ray
        while self._pending:
            ready = self._wait_one()
            for ref in ready:
                request, data, attempt, started = self._pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue
                except ray.exceptions.RayError as exc:  # the Ray worker itself died
                    if attempt < MAX_ATTEMPTS:
                        self.submit(request, data, attempt + 1)
                        continue
                    from metabase.runner.local import lost_result

                    yield lost_result(
                        request, None, started, attempt, f"{type(exc).__name__}: {exc}"
                    )
                    continue
                yield replace(result, attempts=max(result.attempts, attempt))

    def _wait_one(self) -> list:
        """The finished runs' references (at least one). Ray runs Python's signal handlers
        inside its wait; an exception a handler raises there (the bot's grace running out, a
        Ctrl-C) comes out as a ``SystemError`` caused by it, so it is raised as itself.
        """
        try:
            return self._ray.wait(list(self._pending), num_returns=1)[0]
        except SystemError as exc:
            if exc.__cause__ is None:
                raise
            raise exc.__cause__ from None

    def close(self) -> None:
        for ref in list(self._pending):
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - finished or gone already
                pass
        self._pending.clear()
        self._data.clear()
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _resources(self, request: RunRequest) -> dict:
        from metabase.runner.execute import default_catalogue

        pipeline = (self.catalogue or default_catalogue)(request.pipeline)
        return resource_request(
            pipeline.device, request.device, {"GPU": float(self._has_gpus)}, self.gpus_per_run
        )


def resource_request(
    pipeline_device: str, requested: str | None, cluster: Mapping[str, float], gpus_per_run: float
) -> dict:
    """The Ray options of one run: ``num_gpus`` for a pipeline that wants a GPU (its device is
    not ``cpu``, and the run does not ask for the CPU) when the cluster
    (``ray.cluster_resources()``) has GPUs, so that Ray places it on a GPU worker; one CPU for
    every run, so that CPU runs go to the CPU workers and a GPU run keeps a core for its data.
    """
    if pipeline_device != "cpu" and requested != "cpu" and cluster.get("GPU", 0) > 0:
        return {"num_gpus": gpus_per_run, "num_cpus": 1}
    return {"num_cpus": 1}
