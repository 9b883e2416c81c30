"""The one facade that the CLI, notebooks and (soon) the bot use to reach metabase.

A :class:`Workspace` owns the settings and hands out store connections. Each area is one method,
a few lines that call its service in ``metabase/services/`` (``import_``, ``sync``, ``sql``,
``info``, ``export``, ``recommend``, ``evaluate``, ``features``), so algorithms never open the
store themselves and callers never assemble the parts.

    >>> ws = Workspace(Settings.resolve(store="data/metabase.duckdb"))
    >>> ws.import_("openml-pimp", "random_forest.arff")
    >>> ws.recommend(task_id=9983, k=5).recommendations[0].pipeline
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from metabase.settings import Settings

if TYPE_CHECKING:  # the facade stays cheap to import: each method imports its service
    import pandas as pd

    from metabase.exports import ExportResult
    from metabase.imports.api import ImportResult
    from metabase.recommend.records import RecommendationSet
    from metabase.services.features import FeaturesResult
    from metabase.services.sql import NamedQuery, StoreInfo
    from metabase.store import Connection, Writer
    from metabase.sync import SyncRequest, SyncResult
    from metabase.sync.context import Progress


class Workspace:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.resolve()

    @property
    def store_path(self) -> Path:
        return self.settings.store_path

    # -- connections and the gateway -------------------------------------------------------------
    @contextmanager
    def writer(self, wait_s: float | None = None) -> Iterator[Writer]:
        """The single read-write connection; held only for the duration of one write job.

        ``wait_s``: how long to wait for another process to release the store (default: the
        writer's own, 60 s).
        """
        from metabase.store import open_writer

        con = (
            open_writer(self.settings.store_path)
            if wait_s is None
            else open_writer(self.settings.store_path, wait_s=wait_s)
        )
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def reader(
        self,
        wait_s: float | None = None,
        *,
        allow_files: Sequence[str | Path] = (),
        starter: bool = True,
    ) -> Iterator[Connection]:
        """A read-only connection; waits up to ``wait_s`` (default: the store's) for a running
        writer to finish. With ``starter``, the starter knowledge base stands in when the store
        does not exist or holds no runs (see :mod:`metabase.starter`); ``allow_files`` opens the
        files in those folders to the connection's queries (``metabase sql --allow-files``).
        """
        from metabase.starter import store_or_starter
        from metabase.store import open_reader

        path = self.settings.store_path
        kwargs = {} if wait_s is None else {"wait_s": wait_s}
        if starter and not allow_files:
            con = store_or_starter(path, **kwargs)
        else:
            con = open_reader(path, allow_files=allow_files, **kwargs)
        try:
            yield con
        finally:
            con.close()

    def importance(self, pipeline: str, **options):
        """Hyperparameter importance (fANOVA) of ``pipeline`` per task and across tasks, with
        tunability and data-driven defaults on request; see :mod:`metabase.services.importance`.
        """
        from metabase.services.importance import importance

        return importance(self, pipeline, **options)

    def run(self, task_id: int, **options):
        """Run configurations on the task's OpenML splits and store every outcome
        (:func:`metabase.services.run.run`); returns a :class:`~metabase.services.run.RunReport`.
        """
        from metabase.services.run import run

        return run(self, task_id=task_id, **options)

    def tune(self, task_id: int, **options):
        """Tune a task: propose, run, observe and propose again until the budget is spent
        (:func:`metabase.services.tune.tune`); returns a
        :class:`~metabase.services.tune.TuneReport`.
        """
        from metabase.services.tune import tune

        return tune(self, task_id=task_id, **options)

    def publish(
        self,
        *,
        run_keys=(),
        task_ids=(),
        everything: bool = False,
        tags=(),
        include_failed: bool = False,
        dry_run: bool = False,
        out_dir=None,
        progress=None,
    ):
        """Publish stored local runs to OpenML exactly once
        (:func:`metabase.services.publish.publish`);
        returns a :class:`~metabase.services.publish.PublishReport`.
        """
        from metabase.services.publish import publish

        return publish(
            self,
            run_keys=run_keys,
            task_ids=task_ids,
            everything=everything,
            tags=tags,
            include_failed=include_failed,
            dry_run=dry_run,
            out_dir=out_dir,
            progress=progress,
        )

    def bot_session(self, catalogue=None):
        """The bot's access to the store and OpenML: registration, jobs, results, publishing
        (:class:`metabase.services.bot.BotSession`); ``catalogue`` resolves pipeline names.
        """
        from metabase.services.bot import BotSession

        return BotSession(self, catalogue=catalogue)

    def bot_status(self, wait_s: float | None = None, plot=None) -> dict:
        """The bot's state, runs, jobs, outbox, errors and improvements (``metabase status``)."""
        from metabase.services.bot_status import status

        return status(self, wait_s=wait_s, plot=plot)

    def gateway(self):
        """The OpenML gateway configured from the settings (see :mod:`metabase.openml`)."""
        from metabase.openml import Gateway

        return Gateway.from_settings(self.settings)

    # -- the areas -------------------------------------------------------------------------------
    def import_(self, source: str, path: str | Path, wait_s: float | None = None) -> ImportResult:
        """Import a real OpenML export (``metabase import SOURCE PATH``) in one transaction;
        ``wait_s``: how long to wait for another process to release the store.
        """
        from metabase.services.imports import import_

        return import_(self, source, path, wait_s=wait_s)

    def sync(
        self, request: SyncRequest, progress: Progress | None = None, gateway=None
    ) -> SyncResult:
        """Sync from OpenML what ``request`` asks for (``metabase sync``)."""
        from metabase.services.sync import sync

        return sync(self, request, progress=progress, gateway=gateway)

    def sql(
        self,
        query: str | None = None,
        *,
        named: str | None = None,
        params: Mapping[str, Any] | None = None,
        wait_s: float | None = None,
        allow_files: Sequence[str | Path] = (),
    ) -> pd.DataFrame:
        """One read-only statement, or the named query ``named``; ``params`` bind ``$name``;
        ``allow_files``: folders whose files the statement may read
        (``metabase sql --allow-files``).
        """
        from metabase.services import sql

        if (query is None) == (named is None):
            from metabase.errors import InputError

            raise InputError("give exactly one of a query or a named query")
        if named is not None:
            return sql.run_named(self, named, params, wait_s=wait_s)
        return sql.run_sql(self, query, params, wait_s=wait_s, allow_files=allow_files)

    def named_queries(self) -> list[NamedQuery]:
        """The named queries that ship with metabase (``metabase sql --list``)."""
        from metabase.services import sql

        return sql.named_queries()

    def named_query(self, name: str) -> NamedQuery:
        """One named query, with its SQL and parameters (``metabase sql --named NAME --show``)."""
        from metabase.services import sql

        return sql.named_query(name)

    def info(self, wait_s: float | None = None) -> StoreInfo:
        """The store's path, schema version, row counts, views and imports (``metabase info``)."""
        from metabase.services.sql import store_info

        return store_info(self, wait_s=wait_s)

    def export(
        self,
        directory: str | Path,
        *,
        pipeline: str | None = None,
        flow: int | None = None,
        measure: str = "predictive_accuracy",
    ) -> ExportResult:
        """Write the runs (of a pipeline or flow) as a meta-dataset directory."""
        from metabase.services.export import export

        return export(self, directory, pipeline=pipeline, flow=flow, measure=measure)

    def recommend(
        self,
        *,
        task_id: int | None = None,
        dataset: str | Path | None = None,
        target: str | None = None,
        k: int = 10,
        pipelines: Sequence[str] | None = None,
        strategy: str = "default",
        fresh: int | None = None,
        seed: int = 0,
    ) -> RecommendationSet:
        """Recommended configurations for a task (stored or on OpenML) or a local data file."""
        from metabase.services.recommend import FRESH_SAMPLES, recommend

        return recommend(
            self,
            task_id=task_id,
            dataset=None if dataset is None else str(dataset),
            target=target,
            k=k,
            pipelines=list(pipelines) if pipelines else None,
            strategy=strategy,
            fresh=FRESH_SAMPLES if fresh is None else fresh,
            seed=seed,
        )

    def evaluate(
        self,
        directory: str | Path,
        *,
        strategies: Sequence[str] | None = None,
        ks: Sequence[int] | None = None,
        max_tasks: int | None = None,
        plot: str | Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict:
        """Leave-one-task-out regret of the strategies on a meta-dataset directory."""
        from metabase.services.evaluate import evaluate

        return evaluate(
            directory,
            strategies=list(strategies) if strategies else None,
            ks=list(ks) if ks else None,
            max_tasks=max_tasks,
            plot=plot,
            progress=progress,
        )

    def evaluate_sequential(
        self,
        directory: str | Path,
        *,
        strategies: Sequence[str] | None = None,
        seeds: int = 5,
        start: str = "zero-shot",
        max_tasks: int | None = None,
        plot: str | Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict:
        """The sequential backtest (HPO-B's observe-and-suggest) of the sequential strategies on a
        meta-dataset directory (``metabase evaluate DIR --sequential``).
        """
        from metabase.services.evaluate import evaluate_sequential

        return evaluate_sequential(
            directory,
            strategies=list(strategies) if strategies else None,
            seeds=seeds,
            start=start,
            max_tasks=max_tasks,
            plot=plot,
            progress=progress,
        )

    def simulate_bot(
        self,
        directory: str | Path,
        policy: str = "active",
        budget: int = 500,
        seeds: int = 5,
        batch: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        known_share: float = 0.05,
    ) -> dict:
        """A bot policy's learning curve on a meta-dataset directory taken as the world
        (``metabase bot --simulate DIR``; :mod:`metabase.bot.simulate`); the bot starts knowing
        ``known_share`` of each training task's runs.
        """
        from metabase.services.bot_simulate import simulate_bot

        return simulate_bot(
            directory,
            policy=policy,
            budget=budget,
            seeds=seeds,
            batch=batch,
            progress=progress,
            known_share=known_share,
        )

    def features(
        self,
        *,
        path: str | Path | None = None,
        target: str | None = None,
        dataset: int | None = None,
        task: int | None = None,
        dataset_id: int | None = None,
        groups: Sequence[str] | None = None,
        skip: Sequence[str] = (),
        budget_s: float | None = None,
        seed: int = 0,
        task_type: str | None = None,
        store_result: bool = False,
    ) -> FeaturesResult:
        """Meta-features of a file, an OpenML dataset or task; with ``store_result``, kept in the
        store under ``dataset_id`` (a file's must name a stored dataset) or the fetched dataset's.
        """
        from metabase.services.features import features

        return features(
            self,
            path=path,
            target=target,
            dataset=dataset,
            task=task,
            dataset_id=dataset_id,
            groups=groups,
            skip=skip,
            budget_s=budget_s,
            seed=seed,
            task_type=task_type,
            store_result=store_result,
        )
