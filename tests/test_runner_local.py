"""The executor contract on the local process pool (2 workers)."""

from __future__ import annotations

from metabase.runner import LocalExecutor
from metabase.testing import faulty
from metabase.testing.executor_contract import ExecutorContract


class TestLocalExecutor(ExecutorContract):
    def make(self):
        return LocalExecutor(workers=2, catalogue=faulty.get)
