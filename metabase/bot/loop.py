"""The live loop of ``metabase bot``: choose, run, store, publish, retrain, repeat.

One bot per store registers itself (a second refuses, naming the first; a dead one is taken
over) and repairs what a killed predecessor left: its jobs get their stored results or go back to
``proposed``. Then, until its budget (``max_runs``, ``hours``) is spent or it is stopped:

1. keep the executor's workers busy: lease proposed jobs, and when none are left ask the policy
   for more (its :class:`~metabase.bot.policy.Knowledge` comes from the store);
2. store each result with its job's state as it arrives (a crash, a timeout, a memout are
   results); a (task, pipeline) whose last ``pause_after`` jobs failed is paused; a rung result
   may promote its configuration (multi-fidelity: :mod:`metabase.services.bot_fidelity`);
3. with ``publish``, publish stored runs through the outbox (exactly once) in a background
   thread, a batch at a time, backing off while OpenML is unreachable: the runs wait in the
   outbox and the loop goes on;
4. when enough new results arrived, retrain the recommend models in a background process.

SIGTERM or Ctrl-C: no new jobs; running ones may finish within ``grace_s``, then are stopped and
go back to ``proposed``; the bot exits normally. A heartbeat thread renews the bot's registration
and its jobs' leases. The loop calls only the Workspace (and the runner's executors).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import OrderedDict
from itertools import product

from metabase.bot.filling import Filling
from metabase.bot.options import BotOptions, BotSummary, options_row
from metabase.bot.policy import Policy, create_policy
from metabase.bot.publishing import Publishing
from metabase.bot.retraining import Retraining
from metabase.bot.stopping import Stopping, _GraceOver
from metabase.errors import InputError, MetabaseError, StoreWriteError

__all__ = ["Bot", "BotOptions", "BotSummary"]

log = logging.getLogger("metabase.bot")


class Bot(Filling, Publishing, Retraining, Stopping):
    """The loop; its parts: :mod:`~metabase.bot.filling` (jobs and their data for the workers),
    :mod:`~metabase.bot.publishing`, :mod:`~metabase.bot.retraining`,
    :mod:`~metabase.bot.stopping` (signals, grace, heartbeat).
    """

    def __init__(self, ws, options: BotOptions, *, catalogue=None, policy: Policy | None = None):
        if options.max_runs is not None and options.max_runs < 1:
            raise InputError("--max-runs must be at least 1")
        if options.hours is not None and options.hours <= 0:
            raise InputError("--hours must be positive")
        if options.grace_s < 0:
            raise InputError("--grace must be at least 0")
        if options.keep_predictions_days < 0:
            raise InputError("--keep-predictions must be at least 0")
        self.ws, self.options, self.catalogue = ws, options, catalogue
        self.policy = policy or create_policy(options.policy)
        self.summary = BotSummary()
        self.stopping: str | None = None
        self.in_flight: dict[str, tuple[dict, object]] = {}
        self._data: OrderedDict = OrderedDict()
        self._data_wait: dict[int, float] = {}
        self._data_tries: dict[int, int] = {}
        self._asks = 0
        self._exhausted = False
        self._beat_stop = threading.Event()
        self._next_publish = 0.0
        self._backoff = options.publish_backoff_s
        self._retrain = None
        self._since_retrain = 0
        self._last_retrain = float("-inf")
        self._closing = False
        # the grace is over (or a second signal came) while the bot was not waiting on its runs:
        # raised at the next wait, not inside a store query, which DuckDB would abort instead
        self._grace_due = False
        self._waiting = False
        self.fatal: MetabaseError | None = None  # raised once the bot has stopped

    # -- the whole life ------------------------------------------------------------------------
    def run(self) -> BotSummary:
        from metabase.runner import make_executor

        o = self.options
        self.session = self.ws.bot_session(catalogue=self.catalogue)
        try:
            self._start()
        except BaseException:
            self.session.close()
            raise
        saved = self._install_signals()
        beat = threading.Thread(target=self._beat_loop, name="bot-heartbeat", daemon=True)
        pool = None
        try:
            self.summary.recovered = self.session.recover()
            for task, name in product(self.tasks, self.ladders):  # what a killed bot had not
                self._promote(task, name)  # proposed yet (re-proposing one adds nothing)
            beat.start()
            pool = make_executor(
                o.executor, workers=o.workers, ray_address=o.ray_address, catalogue=self.catalogue
            )
            self.workers = getattr(pool, "workers", None) or o.workers or 1
            self.publisher = self.session.publisher()
            self._deadline = None if o.hours is None else time.monotonic() + o.hours * 3600
            self._loop(pool)
            if o.publish and not self.stopping:
                self._publish(final=True)
            if self._retrain is not None and not self.stopping:  # a bounded run: let it finish
                self._retrain.wait(o.grace_s)
                self._poll_retrain()
        except _GraceOver:
            log.warning(
                "the grace of %g s is over: stopping %d running jobs",
                o.grace_s,
                len(self.in_flight),
            )
        finally:
            self._closing = True  # a signal now must not interrupt the clean-up
            signal.setitimer(signal.ITIMER_REAL, 0)
            if pool is not None:
                pool.close()
            self._stop_retrain()
            if o.publish and hasattr(self, "publisher"):  # a batch under way ends first
                self.publisher.wait(min(o.grace_s, 30.0))
            self._beat_stop.set()
            if beat.is_alive():  # a beat under way ends before the store is let go
                beat.join(30)
            self._restore_signals(saved)
            self.summary.stopped = self.stopping or "done"
            self.session.stop(self.summary.stopped)
            self.session.close()
        if self.fatal is not None:
            raise self.fatal
        return self.summary

    def _start(self) -> None:
        """Check the options, then register (refused while another bot runs)."""
        o = self.options
        self.tasks = self.session.resolve_tasks(o.suite, o.tasks)
        self.session.check_pipelines(o.pipelines)
        self.fidelity, self.time_limit, self.memory_limit = self.session.run_limits(
            o.fidelity, o.time_limit_s, o.memory_limit_mb, o.workers
        )
        self.ladders = self.session.ladders(o, self.fidelity)  # multi-fidelity's, per pipeline
        taken_over = self.session.register(
            o.executor, o.workers or 0, self.policy.name, options_row(o)
        )
        if taken_over:
            log.warning(
                "took over from a dead bot (pid %s on %s)", taken_over["pid"], taken_over["host"]
            )

    def _loop(self, pool) -> None:
        while self.fatal is None:
            self._check_budget()
            if not self.stopping:
                self._fill(pool)
            if not self.in_flight:
                if self.stopping or self._exhausted or self._budget_left() == 0:
                    if self._exhausted and not self.stopping:
                        self.stopping = "nothing left to run (every pair capped or paused)"
                    return
                time.sleep(1.0)  # nothing could start (its task's data is away, say): try again
                continue
            result = self._next_result(pool)
            if result is not None:
                self._handle(result, pool.name)
            self._after_result()

    def _next_result(self, pool):
        """The next finished run (None: none yet). The grace's end interrupts only this wait."""
        results = pool.results()
        self._waiting = True
        try:
            if self._grace_due:
                raise _GraceOver()
            return next(results, None)
        finally:
            self._waiting = False
            results.close()

    def _after_result(self) -> None:
        if self.options.publish and not self.stopping:
            self._publish()
        self._poll_retrain()
        if not self.stopping:  # storage stays bounded: old published predictions go, hourly
            self.session.prune(self.options.keep_predictions_days, self.options.prune_every_s)

    # -- results -------------------------------------------------------------------------------
    def _handle(self, result, executor: str) -> None:
        job, data = self.in_flight.pop(result.run_key)
        try:
            self.session.store_result(result, data, executor)
        except MetabaseError as exc:  # disk full: rolled back; the running jobs stop too
            log.error("cannot store run %s, so the bot stops: %s", result.run_key, exc)
            self.fatal = StoreWriteError(f"the store refused a result: {exc}")
            self.stopping = str(self.fatal)
            return
        self.summary.runs += 1
        self._since_retrain += 1
        if job.get("rung") is not None and job["pipeline"] in self.ladders:
            self._promote(job["task_id"], job["pipeline"])
        if result.status != "ok":
            self.summary.failed += 1
            self.session.event(
                "error",
                f"task {job['task_id']} {job['pipeline']}: {result.status}: "
                f"{result.error_message or ''}",
            )
            self._maybe_pause(job)
        log.info(
            "run %s task %s %s: %s (%d done)",
            result.run_key,
            job["task_id"],
            job["pipeline"],
            result.status,
            self.summary.runs,
        )

    def _promote(self, task_id: int, pipeline: str) -> None:
        self.summary.promoted += self.session.promote(task_id, pipeline, self.options)

    def _maybe_pause(self, job: dict) -> None:
        reason = self.session.check_pause(
            job["task_id"], job["pipeline"], self.options.pause_after
        )
        if reason:
            self.summary.paused.append((job["task_id"], job["pipeline"], reason))
