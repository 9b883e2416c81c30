"""The executor contract on a local Ray of 2 CPUs (marked ``ray``: CI installs Ray)."""

from __future__ import annotations

import pytest

from metabase.testing import faulty
from metabase.testing.executor_contract import ExecutorContract

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray", reason="needs Ray: pip install 'metabase[ray]'")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray for the module (starting one takes seconds); executors join it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


class TestRayExecutor(ExecutorContract):
    def make(self):
        from metabase.runner.ray_executor import RayExecutor

        return RayExecutor(catalogue=faulty.get)


def test_the_task_data_goes_into_the_object_store_once():
    from metabase.runner.ray_executor import RayExecutor
    from metabase.testing.executor_contract import request

    data = faulty.synthetic_task()
    with RayExecutor(catalogue=faulty.get) as executor:
        for seed in range(3):
            executor.submit(request("testing.faulty", faulty.config("ok"), seed=seed), data)
        assert len(executor._data) == 1
        assert len(list(executor.results())) == 3


def test_a_cpu_pipeline_asks_ray_for_one_cpu_and_no_gpu():
    from metabase.runner.ray_executor import RayExecutor
    from metabase.testing.executor_contract import request

    with RayExecutor(catalogue=faulty.get) as executor:
        assert executor._resources(request("sklearn.decision_tree", {})) == {"num_cpus": 1}
        executor._has_gpus = True  # as on a cluster with GPU workers
        assert executor._resources(request("torch.mlp", {})) == {"num_gpus": 1.0, "num_cpus": 1}
        assert executor._resources(request("sklearn.decision_tree", {})) == {"num_cpus": 1}


def test_a_ray_worker_keeps_the_task_data_and_its_pool_between_runs():
    """What a Ray task runs, called here twice: the data is deserialised once and the second run
    reuses the first's single-slot pool (its guardian); each run still gets its own result.
    """
    from metabase.runner import ray_executor
    from metabase.testing.executor_contract import request

    data = faulty.synthetic_task()
    ref = ray.put(data)
    try:
        first = ray_executor._run_on_worker(
            request("testing.faulty", faulty.config("ok"), seed=0), [ref], faulty.get
        )
        pool = ray_executor._WORKER_POOLS[faulty.get]
        second = ray_executor._run_on_worker(
            request("testing.faulty", faulty.config("ok"), seed=1), [ref], faulty.get
        )
        assert (first.status, second.status) == ("ok", "ok")
        assert (first.request.seed, second.request.seed) == (0, 1)
        assert ray_executor._WORKER_POOLS[faulty.get] is pool
        assert ray_executor._worker_data(ref) is ray_executor._worker_data(ref)
        assert len(ray_executor._WORKER_DATA) == 1
    finally:
        for pool in ray_executor._WORKER_POOLS.values():
            pool.close()
        ray_executor._WORKER_POOLS.clear()
        ray_executor._WORKER_DATA.clear()


def test_an_exception_a_signal_handler_raises_while_waiting_comes_out_as_itself():
    """The bot's grace ends with SIGALRM raising in the middle of ``results()``; Ray's wait runs
    the handler and would turn the exception into a ``SystemError``.
    """
    import signal

    from metabase.runner.ray_executor import RayExecutor
    from metabase.testing.executor_contract import request

    class Interrupted(BaseException):
        pass

    def on_alarm(signum, frame):
        raise Interrupted()

    saved = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with RayExecutor(catalogue=faulty.get) as executor:
            executor.submit(
                request("testing.faulty", faulty.config("sleep", seconds=60)),
                faulty.synthetic_task(),
            )
            signal.setitimer(signal.ITIMER_REAL, 2.0)
            with pytest.raises(Interrupted):
                next(executor.results())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, saved)


def test_the_executor_counts_the_cluster_cpus_as_its_workers():
    from metabase.runner.ray_executor import RayExecutor

    with RayExecutor(catalogue=faulty.get) as executor:
        assert executor.workers == 2  # the module's local Ray: a joined cluster's CPUs
    with RayExecutor(workers=5, catalogue=faulty.get) as executor:
        assert executor.workers == 5
