"""The executor protocol that every executor follows, and the shared contract tests check.

An executor takes :class:`RunRequest` s with their task's data (``submit``), gives back one
:class:`RunResult` per request as runs finish (``results``, which returns when every submitted
run has one), and stops (``close``): pending runs dropped, running ones killed, nothing left
behind. A crash, a timeout, a memory overrun or a lost worker is a result, never an exception.
"""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

from metabase.errors import InputError
from metabase.records import RunRequest, RunResult, TaskData

EXECUTORS = ("local", "ray")


@runtime_checkable
class Executor(Protocol):
    name: str

    def submit(self, request: RunRequest, data: TaskData) -> None:
        """Queue a run; ``data`` is the task's, shared by all runs of that task."""

    def results(self) -> Iterator[RunResult]:
        """Results as runs finish, until every submitted run has one."""

    @property
    def running(self) -> int:
        """How many runs are executing now."""

    def close(self) -> None:
        """Drop pending runs, kill running ones (with their process trees) and release workers."""


def make_executor(
    name: str = "local",
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    catalogue=None,
    gpus_per_run: float = 1.0,
) -> Executor:
    """The executor called ``name``; raises :class:`InputError` for an unknown one."""
    if name == "local":
        from metabase.runner.local import LocalExecutor

        return LocalExecutor(workers=workers, catalogue=catalogue)
    if name == "ray":
        from metabase.runner.ray_executor import RayExecutor

        return RayExecutor(
            address=ray_address, workers=workers, catalogue=catalogue, gpus_per_run=gpus_per_run
        )
    raise InputError(f"unknown executor {name!r}; choose from {', '.join(EXECUTORS)}")
