"""The small facade that the CLI, the bot and notebooks use to reach the parts.

It owns the settings and hands out store connections; area facades (imports, sync, recommend,
...) take a :class:`Workspace` so that algorithms never open the store themselves.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from metabase.settings import Settings


class Workspace:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.resolve()

    @property
    def store_path(self):
        return self.settings.store_path

    @contextmanager
    def writer(self, wait_s: float | None = None) -> Iterator["Writer"]:  # noqa: F821
        """The single read-write connection; held only for the duration of one write job.

        ``wait_s``: how long to wait for another process to release the store (default: the
        writer's own, 60 s)."""
        from metabase.store import open_writer

        con = open_writer(self.settings.store_path) if wait_s is None else \
            open_writer(self.settings.store_path, wait_s=wait_s)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def reader(self) -> Iterator["Connection"]:  # noqa: F821
        """A read-only connection; waits for a running writer to finish. When the store does not
        exist or holds no runs, the starter knowledge base stands in (see :mod:`metabase.starter`)."""
        from metabase.starter import store_or_starter

        con = store_or_starter(self.settings.store_path)
        try:
            yield con
        finally:
            con.close()

    def importance(self, pipeline: str, **options):
        """Hyperparameter importance (fANOVA) of ``pipeline`` per task and across tasks, with
        tunability and data-driven defaults on request; see :mod:`metabase.services.importance`."""
        from metabase.services.importance import importance

        return importance(self, pipeline, **options)

    def run(self, task_id: int, *, pipeline: str | None = None, config: str | dict | None = None,
            recommended: int | None = None, strategy: str = "default", sample: int | None = None,
            seed: int = 0, configs_file: str | None = None, executor: str = "local",
            ray_address: str | None = None, workers: int | None = None, time_limit: float | None = None,
            memory_limit: float | str | None = None, force: bool = False, fidelity=None,
            catalogue=None, progress=None):
        """Run configurations on the task's OpenML splits and store every outcome
        (:func:`metabase.services.run.run`); returns a :class:`~metabase.services.run.RunReport`."""
        from metabase.services.run import run

        return run(self, task_id=task_id, pipeline=pipeline, config=config, recommended=recommended,
                   strategy=strategy, sample=sample, seed=seed, configs_file=configs_file, executor=executor,
                   ray_address=ray_address, workers=workers, time_limit=time_limit, memory_limit=memory_limit,
                   force=force, fidelity=fidelity, catalogue=catalogue, progress=progress)

    def publish(self, *, run_keys=(), task_ids=(), everything: bool = False, tags=(), include_failed: bool = False,
                dry_run: bool = False, out_dir=None, progress=None):
        """Publish stored local runs to OpenML exactly once (:func:`metabase.services.publish.publish`);
        returns a :class:`~metabase.services.publish.PublishReport`."""
        from metabase.services.publish import publish

        return publish(self, run_keys=run_keys, task_ids=task_ids, everything=everything, tags=tags,
                       include_failed=include_failed, dry_run=dry_run, out_dir=out_dir, progress=progress)

    def gateway(self):
        """The OpenML gateway configured from the settings (see :mod:`metabase.openml`)."""
        from metabase.openml import Gateway

        return Gateway.from_settings(self.settings)
