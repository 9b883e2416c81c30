"""Run pipeline configurations on OpenML tasks' own splits (pure: no store, no network).

- :func:`execute`: one :class:`~metabase.records.RunRequest` on a
  :class:`~metabase.records.TaskData`, in this process.
- :class:`Executor`: the protocol every executor follows (submit, collect results, close);
  :class:`LocalExecutor` runs each run in a forked child of a local pool, ``RayExecutor`` on Ray.
- :mod:`metabase.runner.measures`: OpenML's measures per fold and aggregated as OpenML does.
"""

from metabase.runner.execute import execute
from metabase.runner.local import LocalExecutor
from metabase.runner.protocol import Executor, make_executor

__all__ = ["Executor", "LocalExecutor", "execute", "make_executor"]
