"""Retraining off the bot's critical path: a background process rebuilds the models that
``recommend`` uses (the prepared data and the default strategy's surrogate, cached beside the
store under a key of the store's state, see :mod:`metabase.services.caches`) while the bot's runs
go on. Each cache file is written whole and renamed into place, so a reader sees the old model or
the new one, never half of one. The process dies with the bot (``PR_SET_PDEATHSIG``), so a killed
bot leaves no retrain behind.

Run by hand: ``python -m metabase.services.bot_retrain_main STORE``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile

STRATEGY = "default"


def nothing_to_learn(con) -> str | None:
    """Why a retrain would fail for want of data now (the store's runs, as recommend samples
    them, cover fewer than 2 tasks with varying scores: a bot on one task), or None.
    """
    from metabase.recommend.data import usable_tasks
    from metabase.services.recommend import BEST_RUNS_KEPT, MAX_RUNS_PER_TASK
    from metabase.store.run_queries import sampled_runs

    runs = sampled_runs(con, None, cap=MAX_RUNS_PER_TASK, best=BEST_RUNS_KEPT)
    found = len(usable_tasks(runs)) if not runs.empty else 0
    if found >= 2:
        return None
    return (
        f"the store's runs cover {found} task{'' if found == 1 else 's'} with varying scores and "
        "the models need 2; retrained once they cover more"
    )


def retrain(ws, strategy: str = STRATEGY) -> str:
    """Build (or find) the prepared data and the trained models for the store as it is now;
    returns the cache key.
    """
    from metabase.recommend import create
    from metabase.services import caches
    from metabase.services.recommend import FRESH_SAMPLES, _prepared

    with ws.reader(starter=False) as con:
        prepared, path = _prepared(ws, con, None, FRESH_SAMPLES, 0)
    digest = path.stem.removeprefix("data-")
    key = f"{strategy}-{digest}"
    caches.fit_cached(create(strategy), prepared.training(), ws.settings.model_dir, key)
    return key


def _die_with_parent() -> None:
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the bot kills it when it stops
        pass


class Retrain:
    """A running retrain process."""

    def __init__(self, proc: subprocess.Popen, errors) -> None:
        self.proc, self.errors = proc, errors

    @classmethod
    def start(cls, settings) -> "Retrain":
        errors = tempfile.TemporaryFile(mode="w+")
        argv = [
            sys.executable,
            "-m",
            "metabase.services.bot_retrain_main",
            str(settings.store_path),
        ]
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        return cls(proc, errors)

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def error(self) -> str:
        self.errors.seek(0)
        lines = [line for line in self.errors.read().splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def warnings(self) -> list[str]:
        """The warning lines the process wrote (a corrupt cache it rebuilt, say)."""
        self.errors.seek(0)
        lines = self.errors.read().splitlines()
        return [line for line in lines if line.startswith(("WARNING ", "ERROR "))]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.errors.close()
