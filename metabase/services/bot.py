"""The bot's store side: registration, heartbeat, jobs, results and publishing
(:class:`BotSession`, handed out by ``Workspace.bot_session``).

DuckDB lets one process write a store at a time, and a process that holds a read-write
connection cannot open a read-only one. The bot therefore does every read and write through one
held writer (:class:`~metabase.store.held.HeldWriter`, shared by the loop and its heartbeat
thread under a lock), closed when idle for a second, after a few seconds in all, or as soon as
a reader (an analyst, ``metabase status``) waits for the store. A result is written with its
job's new state in one transaction: a kill leaves both or neither.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from datetime import timedelta
from typing import Sequence

from metabase.errors import MetabaseError
from metabase.records import RunResult, TaskData

log = logging.getLogger("metabase.bot")

STALE_S = 120.0  # a bot on another host whose heartbeat is older than this is taken to be dead
LEASE_S = 600.0  # a running job's lease; the heartbeat renews it
STORE_TRIES = 3  # a result waits this many writer waits (60 s each) for a locked store


class BotRunningError(MetabaseError):
    """Another bot runs on this store."""


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_alive(bot: dict, now) -> bool:
    """Is the registered ``bot`` still running? On this host: its pid exists and started when it
    did (a reused pid is another process). Elsewhere: its heartbeat is fresh.
    """
    if bot.get("stopped_at") is not None:
        return False
    if bot["host"] == socket.gethostname():
        started = _process_start(int(bot["pid"]))
        return started is not None and (
            bot["proc_start"] is None or abs(started - bot["proc_start"]) < 1.0
        )
    return (now - bot["last_beat"]).total_seconds() < STALE_S


def describe(bot: dict) -> str:
    return f"pid {bot['pid']} on {bot['host']} since {bot['started_at']:%Y-%m-%d %H:%M:%S} UTC"


class BotSession:
    """What the bot asks of the store; every method is one short transaction."""

    def __init__(self, ws, catalogue=None) -> None:
        from metabase.store import utcnow

        self.ws = ws
        self.catalogue = catalogue
        self.gateway = None
        from metabase.store.held import HeldWriter

        self.held = HeldWriter(ws.settings.store_path)
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.proc_start = _process_start(self.pid)
        self.started = utcnow()
        self.owner = f"{self.host}:{self.pid}:{self.started:%Y%m%dT%H%M%S%f}"
        self.tasks_known: set[int] = set()
        self.no_hurdle: set[tuple[int, str]] = set()
        self.rungs: dict[str, list] = {}
        self.last_prune = float("-inf")
        self.learnable = False  # once the store has enough to retrain on, it keeps it

    # -- registration and heartbeat ------------------------------------------------------------
    def register(self, executor: str, workers: int, policy: str, options: dict) -> dict | None:
        """Become the store's bot; :class:`BotRunningError` (one line naming it) while another
        runs. Returns the dead bot taken over from, if any.
        """
        from metabase.store import bot as store
        from metabase.store import utcnow

        with self.held() as con, con.transaction():
            now = utcnow()
            current = store.registered(con)
            if current is not None and is_alive(current, now):
                raise BotRunningError(
                    f"a bot already runs on this store: {describe(current)} "
                    f"(last heartbeat {current['last_beat']:%H:%M:%S} UTC); "
                    "stop it first (SIGTERM), or see `metabase status`"
                )
            store.claim(
                con,
                {
                    "owner": self.owner,
                    "pid": self.pid,
                    "host": self.host,
                    "proc_start": self.proc_start,
                    "started_at": self.started,
                    "executor": executor,
                    "workers": workers,
                    "policy": policy,
                    "options": options,
                    "last_beat": now,
                },
            )
            taken_over = current if current is not None and current["stopped_at"] is None else None
            store.event(
                con,
                "start",
                f"bot {self.owner} started"
                + (f", taking over from the dead {describe(taken_over)}" if taken_over else ""),
                now,
            )
        return taken_over

    def recover(self) -> dict[str, int]:
        from metabase.store import bot as store
        from metabase.store import utcnow

        with self.held() as con, con.transaction():
            return store.recover(con, self.owner, utcnow())

    def beat(self) -> bool:
        """Renew the heartbeat and the leases; False when another bot took the store over."""
        from metabase.store import bot as store
        from metabase.store import utcnow

        with self.held() as con, con.transaction():
            now = utcnow()
            return store.beat(con, self.owner, now, now + timedelta(seconds=LEASE_S))

    def stop(self, reason: str) -> None:
        from metabase.store import bot as store
        from metabase.store import utcnow

        try:
            with self.held() as con, con.transaction():
                released = store.release(con, self.owner)
                store.stop(con, self.owner, utcnow(), reason)
                store.event(
                    con, "stop", f"stopped ({reason}); {released} jobs back to proposed", utcnow()
                )
        except MetabaseError as exc:  # the disk is still full: the next start recovers the jobs
            log.error("cannot record the stop in the store: %s", exc)
        self.held.close()

    def event(self, kind: str, message: str) -> None:
        from metabase.store import bot as store
        from metabase.store import utcnow

        log.log(logging.WARNING if kind in ("error", "pause") else logging.INFO, message)
        try:
            with self.held() as con, con.transaction():
                store.event(con, kind, message, utcnow())
        except MetabaseError as exc:  # the log line above is kept; the store may be full
            log.error("cannot record the event in the store: %s", exc)

    # -- jobs ----------------------------------------------------------------------------------
    def propose(self, jobs: Sequence[dict]) -> int:
        from metabase.store import bot as store
        from metabase.store import utcnow

        with self.held() as con, con.transaction():
            return store.add_jobs(con, jobs, utcnow())

    def lease(self, n: int, skip_tasks: Sequence[int] = ()) -> list[dict]:
        from metabase.store import bot as store
        from metabase.store import utcnow

        with self.held() as con, con.transaction():
            now = utcnow()
            until = now + timedelta(seconds=LEASE_S)
            jobs = store.lease_next(con, n, self.owner, now, until, skip_tasks)
        for job in jobs:
            job["config"] = json.loads(job["config"])
            job["fidelity"] = json.loads(job["fidelity"])
        return jobs

    def store_result(self, result: RunResult, data: TaskData, executor: str) -> None:
        """The run and its job's new state, in one transaction. A store that stays locked for
        the writer's whole wait (readers that never let go) is tried again, ``STORE_TRIES`` in
        all: the result is in hand, and a lock is not a full disk.
        """
        from metabase.errors import StoreLockedError

        for attempt in range(1, STORE_TRIES + 1):
            try:
                return self._store_result(result, data, executor)
            except StoreLockedError as exc:
                if attempt == STORE_TRIES:
                    raise
                log.warning("cannot store run %s yet, trying again: %s", result.run_key, exc)

    def _store_result(self, result: RunResult, data: TaskData, executor: str) -> None:
        from metabase.store import bot as store
        from metabase.store import utcnow
        from metabase.store.runs import ensure_task, write_results

        with self.held() as con:
            if data.task_id not in self.tasks_known:
                ensure_task(con, data)
                self.tasks_known.add(data.task_id)
            with con.transaction():
                write_results(con, [result], executor)
                ok = result.status == "ok"
                error = None if ok else f"{result.status}: {result.error_message or ''}"
                store.finish(con, result.run_key, ok, error, utcnow())

    def fail(self, run_keys: Sequence[str], error: str) -> None:
        from metabase.store import bot as store
        from metabase.store import utcnow

        with self.held() as con, con.transaction():
            store.fail(con, run_keys, error, utcnow())

    def release(self, run_keys: Sequence[str] | None = None) -> int:
        from metabase.store import bot as store

        with self.held() as con, con.transaction():
            return store.release(con, self.owner, run_keys)

    def check_pause(self, task_id: int, pipeline: str, after: int) -> str | None:
        """Pause the pair when its last ``after`` jobs all failed; returns the reason."""
        from metabase.store import bot as store
        from metabase.store import utcnow

        with self.held() as con, con.transaction():
            recent = store.recent_states(con, task_id, pipeline, after)
            if len(recent) < after or any(state != "failed" for state, _ in recent):
                return None
            reason = f"{after} failures in a row, the last: {recent[0][1]}"
            store.pause(con, task_id, pipeline, reason, utcnow())
            store.event(con, "pause", f"paused task {task_id} {pipeline}: {reason}", utcnow())
        log.warning("paused task %s %s: %s", task_id, pipeline, reason)
        return reason

    def prune(self, keep_days: float, every_s: float) -> int:
        """Drop the predictions of runs published more than ``keep_days`` ago, at most once per
        ``every_s`` (one short transaction); returns the number of runs pruned.
        """
        from metabase.store import bot as store
        from metabase.store import utcnow

        if time.monotonic() - self.last_prune < every_s:
            return 0
        self.last_prune = time.monotonic()
        try:
            with self.held() as con, con.transaction():
                pruned = store.prune_predictions(con, utcnow() - timedelta(days=keep_days))
        except MetabaseError as exc:  # tried again next time; the runs go on
            log.error("cannot prune predictions: %s", exc)
            return 0
        if pruned:
            log.info("dropped the predictions of %d runs published %g days ago", pruned, keep_days)
        return pruned

    # -- knowledge -----------------------------------------------------------------------------
    def knowledge(self, task_ids: Sequence[int], pipelines: Sequence[str], **options):
        """The policy's :class:`~metabase.bot.policy.Knowledge` (see
        :mod:`metabase.services.bot_knowledge`).
        """
        from metabase.services.bot_knowledge import knowledge

        with self.held() as con:
            return knowledge(
                con, list(task_ids), list(pipelines), resolve=self.catalogue, **options
            )

    def jobs_of(self, choices, seed: int, fidelity, ladders: dict | None = None) -> list[dict]:
        """The jobs of the policy's choices; torch architectures come from aging evolution
        (:mod:`metabase.services.bot_evolve`).
        """
        from metabase.services.bot_evolve import EVOLVED, evolve
        from metabase.services.bot_knowledge import jobs_of

        if any(c.pipeline in EVOLVED for c in choices):
            with self.held() as con:
                resolve = self.catalogue or _catalogue
                choices = evolve(con, choices, resolve, seed, fidelity, ladders or {})
        return jobs_of(choices, seed, fidelity, ladders)

    def ladders(self, options, top) -> dict[str, list]:
        """``{pipeline: its fidelity rungs}`` of the bot's pipelines with a fidelity knob, when
        ``options.multi_fidelity``; ``top`` is the bot's fidelity (the top rung).
        """
        from metabase.errors import InputError
        from metabase.services.bot_fidelity import ladder

        if not options.multi_fidelity:
            return {}
        if options.eta < 2:
            raise InputError("--eta must be at least 2")
        out = {}
        for name in options.pipelines:
            found = ladder((self.catalogue or _catalogue)(name), top, options.rungs)
            if len(found) > 1:
                out[name] = found
        self.rungs = out
        return out

    def promote(self, task_id: int, pipeline: str, options) -> int:
        """Propose what successive halving asks for now on (task, pipeline), derived from the
        stored rung results (:mod:`metabase.services.bot_fidelity`); returns the jobs added.
        """
        from metabase.services.bot_fidelity import hurdle_config, promotion_jobs
        from metabase.store import bot as store
        from metabase.store import utcnow

        rungs, seed, eta = self.rungs[pipeline], options.seed, options.eta

        def hurdle(con):
            # searched once per pair and process (it reads the pipeline's runs): a pair with no
            # reference yet is plain successive halving until the bot restarts
            if (task_id, pipeline) in self.no_hurdle:
                return None
            found = hurdle_config(con, task_id, pipeline, rungs[-1])
            if found is None:
                self.no_hurdle.add((task_id, pipeline))
            return found

        with self.held() as con:
            jobs = promotion_jobs(con, task_id, pipeline, rungs, seed, lambda: hurdle(con), eta)
            if not jobs:
                return 0
            with con.transaction():
                return store.add_jobs(con, jobs, utcnow())

    # -- inputs --------------------------------------------------------------------------------
    def resolve_tasks(self, suite: str | None, tasks: Sequence[int]) -> list[int]:
        """The bot's task ids: ``tasks``, plus the suite's (asked of OpenML)."""
        from metabase.errors import InputError

        found = [int(t) for t in tasks]
        if suite:
            found += [int(t) for t in self._gateway().study(suite)["tasks"]]
        if not found:
            raise InputError("say where the bot runs: --tasks IDS or --suite NAME")
        return sorted(set(found))

    def check_pipelines(self, names: Sequence[str]) -> None:
        from metabase.errors import InputError, NotFoundError

        if not names:
            raise InputError("give at least one --pipeline")
        for name in names:
            try:
                (self.catalogue or _catalogue)(name)
            except NotFoundError:
                raise NotFoundError(
                    f"pipeline {name} is not in the catalogue: `metabase pipelines list` shows it"
                ) from None

    def run_limits(self, fidelity, time_limit, memory_limit, workers) -> tuple:
        """(:class:`~metabase.records.Fidelity`, time limit s, memory limit MiB), checked as
        ``metabase run`` checks them.
        """
        from metabase.records import Fidelity
        from metabase.services import run_inputs

        memory_limit = run_inputs.parse_memory(memory_limit)
        run_inputs.check_limits(time_limit, memory_limit, workers)
        if not isinstance(fidelity, Fidelity):
            fidelity = run_inputs.parse_fidelity(fidelity)
        return fidelity, time_limit, memory_limit

    def task_data(self, task_id: int) -> TaskData:
        """The task's data and splits (the gateway's cache first)."""
        return self._gateway().get_task_data(int(task_id))

    def _gateway(self):
        if self.gateway is None:
            self.gateway = self.ws.gateway()
        return self.gateway

    def nothing_to_learn(self) -> str | None:
        """Why retraining would have nothing to learn from yet (one task, say), or None; once
        there is something, not asked of the store again (runs are only ever added).
        """
        from metabase.services.bot_retrain import nothing_to_learn

        if not self.learnable:
            with self.held() as con:
                why = nothing_to_learn(con)
            self.learnable = why is None
            return why
        return None

    def start_retrain(self):
        """Retrain the recommend models in a background process
        (:mod:`metabase.services.bot_retrain`).
        """
        from metabase.services.bot_retrain import Retrain

        return Retrain.start(self.ws.settings)

    def record_quality(self, result: dict | None) -> dict | None:
        """Record what a finished retrain handed back (:meth:`Retrain.result`): its held-out
        quality measurement as a ``bot_quality`` row, with a ``retrain`` event that says it or
        why it was skipped. Returns the row, or None when nothing was measured.
        """
        from metabase.store import bot as store
        from metabase.store import bot_history, utcnow

        quality = (result or {}).get("quality")
        if not isinstance(quality, dict):
            return None
        row = None
        if "skipped" in quality:
            message = f"held-out quality not measured: {quality['skipped']}"
        else:
            try:
                row = _quality_row(result, quality)
            except (KeyError, ValueError, TypeError, StopIteration) as exc:  # never a bot's stop
                log.warning("the retrain handed back an unreadable quality (%r): %s", exc, quality)
                return None
            k = row["k"]
            message = (
                f"held-out quality on {row['tasks']} tasks ({row['runs']} runs): zero-shot "
                f"regret@{k} {_fmt(row['zero_shot_regret'])}, sequential regret@{k} "
                f"{_fmt(row['sequential_regret'])} ({_fmt(row['seconds'])} s)"
            )
        try:
            with self.held() as con, con.transaction():
                now = utcnow()
                if row is not None:
                    row["at_time"] = now
                    bot_history.record_quality(con, row)
                store.event(con, "retrain", message, now)
        except MetabaseError as exc:  # the store may be full: the next retrain measures again
            log.error("cannot record the held-out quality in the store: %s", exc)
            return None
        log.info("%s", message)
        return row

    # -- publishing ----------------------------------------------------------------------------
    def publisher(self):
        """The background publisher of stored runs (:mod:`metabase.services.bot_publish`)."""
        from metabase.services.bot_publish import Publisher

        return Publisher(self.ws, self.held)

    def close(self) -> None:
        self.held.close()
        if self.gateway is not None:
            self.gateway.close()


def _catalogue(name: str):
    import pipelines

    return pipelines.get(name)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _quality_row(result: dict, quality: dict) -> dict:
    k = next(int(n.rsplit("@", 1)[1]) for n in quality if n.startswith("zero_shot_regret@"))
    return {
        "runs": int(result.get("runs") or 0),
        "tasks": int(quality["tasks"]),
        "held_out": json.dumps([int(t) for t in quality.get("held_out") or []]),
        "train_tasks": int(quality["train_tasks"]),
        "k": k,
        "zero_shot_regret": quality[f"zero_shot_regret@{k}"],
        "sequential_regret": quality[f"sequential_regret@{k}"],
        "seconds": quality.get("seconds"),
        "model_key": result.get("key"),
    }
