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

from metabase.bot.options import BotOptions, BotSummary, options_row, transient
from metabase.bot.policy import Policy, create_policy
from metabase.errors import InputError, MetabaseError, StoreWriteError
from metabase.records import Fidelity, RunRequest

log = logging.getLogger("metabase.bot")

DATA_KEPT = 4  # tasks whose data stays in memory
DATA_RETRY_S = 60.0  # a task whose data cannot be fetched now (OpenML away) waits this long
DATA_TRIES = 10  # then its jobs fail (a task whose data never comes is paused like a crash)


class _GraceOver(BaseException):
    """The grace after a stop request is over: stop the running jobs now."""


class Bot:
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
            results = pool.results()
            result = next(results, None)
            results.close()
            if result is not None:
                self._handle(result, pool.name)
            self._after_result()

    def _after_result(self) -> None:
        if self.options.publish and not self.stopping:
            self._publish()
        self._poll_retrain()
        if not self.stopping:  # storage stays bounded: old published predictions go, hourly
            self.session.prune(self.options.keep_predictions_days, self.options.prune_every_s)

    # -- filling the workers -------------------------------------------------------------------
    def _budget_left(self) -> int | None:
        if self.options.max_runs is None:
            return None
        return max(0, self.options.max_runs - self.summary.runs - len(self.in_flight))

    def _check_budget(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline and not self.stopping:
            self._request_stop(f"--hours {self.options.hours:g} reached")

    def _fill(self, pool) -> None:
        left = self._budget_left()
        need = self.workers + 1 - len(self.in_flight)
        need = need if left is None else min(need, left)
        if need <= 0:
            return
        waiting = self._waiting_tasks()
        jobs = self.session.lease(need, waiting)
        if len(jobs) < need and not self._exhausted:
            # a small queue per ask: building the knowledge reads the store's runs (0.5 s on
            # openml-pimp's 47,000), so the policy is asked every few results, not every one
            ask = max(need - len(jobs), 2 * self.workers)
            self._ask_policy(ask if left is None else min(ask, left - len(jobs)), waiting)
            jobs += self.session.lease(need - len(jobs), waiting)
        for job in jobs:
            data = self._task_data(job)
            if data is None:
                continue
            request = RunRequest(
                task_id=job["task_id"],
                pipeline=job["pipeline"],
                config=job["config"],
                config_hash=job["config_hash"],
                seed=job["seed"],
                fidelity=Fidelity(**job["fidelity"]),
                time_limit_s=self.time_limit,
                memory_limit_mb=self.memory_limit,
            )
            pool.submit(request, data)
            self.in_flight[job["run_key"]] = (job, data)

    def _waiting_tasks(self) -> list[int]:
        now = time.monotonic()
        return [task for task, until in self._data_wait.items() if until > now]

    def _ask_policy(self, n: int, waiting: list[int]) -> None:
        o = self.options
        tasks = [t for t in self.tasks if t not in waiting]
        knowledge = self.session.knowledge(
            tasks, o.pipelines, per_pair=o.per_pair, cap=o.cap, seed=o.seed
        )
        if knowledge.candidates.empty:
            self._exhausted = not waiting  # else: those tasks' data may come back
            return
        self._asks += 1
        choices = self.policy.choose(knowledge, n, seed=o.seed * 100_003 + self._asks)
        self.session.propose(self.session.jobs_of(choices, o.seed, self.fidelity, self.ladders))

    def _task_data(self, job: dict):
        task = job["task_id"]
        if task in self._data:
            self._data.move_to_end(task)
            return self._data[task]
        try:
            data = self.session.task_data(task)
        except MetabaseError as exc:
            tries = self._data_tries[task] = self._data_tries.get(task, 0) + 1
            if transient(exc) and tries < DATA_TRIES:  # OpenML away: the job waits, others go on
                self.session.release([job["run_key"]])
                if task not in self._data_wait:
                    self.session.event(
                        "error",
                        f"task {task}: {exc}; its jobs wait (retried every {DATA_RETRY_S:g} s)",
                    )
                self._data_wait[task] = time.monotonic() + DATA_RETRY_S
                return None
            self.session.fail([job["run_key"]], f"task data: {exc}")
            self.session.event("error", f"task {task}: its data cannot be run on: {exc}")
            self._maybe_pause(job)
            return None
        self._data_wait.pop(task, None)
        self._data_tries.pop(task, None)
        self._data[task] = data
        while len(self._data) > DATA_KEPT:
            self._data.popitem(last=False)
        return data

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

    # -- publishing ----------------------------------------------------------------------------
    def _publish(self, final: bool = False) -> None:
        """Collect the last batch's outcome; start the next when it is due. ``final``: publish
        what waits, batch after batch, before the bot ends (until a batch fails).
        """
        o = self.options
        while True:
            if final:
                self.publisher.wait(o.grace_s)
            done = self.publisher.outcome()
            if done is not None and not self._published(done):
                return
            if self.publisher.busy or (not final and time.monotonic() < self._next_publish):
                return
            if not self.publisher.start(o.publish_batch) or not final:
                return

    def _published(self, done) -> bool:
        """Account for a finished batch; False when it failed (the next waits a back-off)."""
        o, report = self.options, done.report
        self.summary.published += done.marked
        problem = done.error or (report.stopped if report is not None else None)
        if report is not None and report.failed and not problem:
            reasons = {r["reason"] for r in report.rows if r["state"] == "failed"}
            problem = f"{report.failed} runs failed to publish: {'; '.join(reasons)}"
        if problem:
            self.session.event(
                "error", f"publish: {problem}; the outbox retries in {self._backoff:g} s"
            )
            self._next_publish = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, o.publish_backoff_max_s)
            return False
        self._backoff = o.publish_backoff_s
        self._next_publish = time.monotonic() + o.publish_every_s
        return True

    # -- retraining ----------------------------------------------------------------------------
    def _poll_retrain(self) -> None:
        o = self.options
        if self._retrain is not None:
            code = self._retrain.poll()
            if code is None:
                return
            outcome = "done" if code == 0 else f"failed (exit {code}): {self._retrain.error()}"
            for line in self._retrain.warnings():
                log.warning("retrain: %s", line.split(" ", 1)[1])
            self.session.event("retrain", f"retrained the recommend models: {outcome}")
            if code == 0:  # its held-out quality (the process cannot write the store: we hold it)
                self.session.record_quality(self._retrain.result())
            self.summary.retrains += code == 0
            self._retrain = None
        due = time.monotonic() - self._last_retrain >= o.retrain_min_s
        if self._since_retrain >= o.retrain_every and due and not self.stopping:
            self._since_retrain = 0
            self._last_retrain = time.monotonic()
            why = self.session.nothing_to_learn()
            if why is not None:  # a bot on one task: an info line, not a failed retrain
                self.session.event("retrain", f"retrain skipped: {why}")
                return
            self._retrain = self.session.start_retrain()
            self.session.event("retrain", "retraining the recommend models in the background")

    def _stop_retrain(self) -> None:
        if self._retrain is not None:
            self._retrain.stop()
            self._retrain = None

    # -- heartbeat and signals -----------------------------------------------------------------
    def _beat_loop(self) -> None:
        while not self._beat_stop.wait(self.options.beat_s):
            try:
                if not self.session.beat():
                    self._request_stop("another bot took the store over")
            except MetabaseError as exc:
                log.error("heartbeat: %s", exc)

    def _request_stop(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = reason
        log.warning(
            "stopping (%s): %d running jobs have %g s to finish",
            reason,
            len(self.in_flight),
            self.options.grace_s,
        )
        if threading.current_thread() is threading.main_thread():
            signal.setitimer(signal.ITIMER_REAL, max(self.options.grace_s, 0.001))

    def _install_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def on_stop(signum, frame) -> None:
            if self._closing:
                return
            if self.stopping and signum != signal.SIGALRM:
                raise _GraceOver()  # asked twice: stop now
            self._request_stop(f"signal {signal.Signals(signum).name}")

        def on_alarm(signum, frame) -> None:
            if not self._closing:
                raise _GraceOver()

        saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)}
        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGALRM, on_alarm)
        return saved

    @staticmethod
    def _restore_signals(saved: dict) -> None:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
