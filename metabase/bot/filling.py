"""Keeping the bot's workers busy: lease proposed jobs, ask the policy for more when none are
left (its :class:`~metabase.bot.policy.Knowledge` comes from the store), and give each job its
task's data (a few tasks' data kept in memory; a task whose data cannot be fetched now waits
while the others run). A part of :class:`~metabase.bot.loop.Bot`, whose attributes it uses.
"""

from __future__ import annotations

import time

from metabase.bot.options import transient
from metabase.errors import MetabaseError
from metabase.records import Fidelity, RunRequest

ASK_PER_WORKER = 4  # proposals asked of the policy at a time, per worker
DATA_KEPT = 4  # tasks whose data stays in memory
DATA_RETRY_S = 60.0  # a task whose data cannot be fetched now (OpenML away) waits this long
DATA_TRIES = 10  # then its jobs fail (a task whose data never comes is paused like a crash)


class Filling:
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
            # a queue per ask: building the knowledge reads the store's runs (0.5 s on
            # openml-pimp's 47,000 on a quiet machine, 8 s at a load of 18 on 2 cores) while no
            # finished run is reaped and no new one starts, so the policy is asked every few
            # results, not every one
            ask = max(need - len(jobs), ASK_PER_WORKER * self.workers)
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
