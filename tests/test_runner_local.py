"""The executor contract on the local process pool (2 workers)."""

from __future__ import annotations

from metabase.runner import LocalExecutor
from metabase.testing import faulty
from metabase.testing.executor_contract import ExecutorContract


class TestLocalExecutor(ExecutorContract):
    def make(self):
        return LocalExecutor(workers=2, catalogue=faulty.get)


def test_the_next_run_starts_before_a_finished_result_is_handed_on():
    """One worker: when the first result reaches the caller (who stores it, which takes time),
    the second run is already running, so the worker does not idle while the caller works.
    """
    from metabase.testing.executor_contract import request

    data = faulty.synthetic_task()
    with LocalExecutor(workers=1, catalogue=faulty.get) as executor:
        for seed in (0, 1):
            executor.submit(request("testing.faulty", faulty.config("ok"), seed=seed), data)
        running_when_handed_on = []
        results = []
        for result in executor.results():
            running_when_handed_on.append(executor.running)
            results.append(result)
    assert [r.status for r in results] == ["ok", "ok"]
    assert sorted(r.request.seed for r in results) == [0, 1]
    assert running_when_handed_on == [1, 0]


def _imports_json_tool():
    import importlib

    importlib.import_module("json.tool")
    return "done"


def test_a_child_reports_what_it_imported_and_the_pool_adopts_submodules_only(tmp_path):
    """Later children inherit what earlier runs imported lazily: a submodule of a package the
    coordinator has is imported here; a new top-level module is not (it might start threads).
    """
    import sys

    from metabase.runner.isolate import read_result, reap, release, spawn

    sys.modules.pop("json.tool", None)
    child = spawn(_imports_json_tool, tmp_path / "r.pickle", tmp_path / "r.log")
    assert reap(child) == 0
    release(child)
    assert read_result(child) == "done"
    assert "json.tool" in child.imported
    assert "json.tool" not in sys.modules  # the child's import stayed in the child
    with LocalExecutor(workers=1) as executor:
        executor._adopt(("json.tool", "this"))
    assert "json.tool" in sys.modules
    assert "this" not in sys.modules
