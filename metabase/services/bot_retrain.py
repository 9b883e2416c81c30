"""Retraining off the bot's critical path: a background process rebuilds the models that
``recommend`` uses (the prepared data and the default strategy's surrogate, cached beside the
store under a key of the store's state, see :mod:`metabase.services.caches`) while the bot's runs
go on. Each cache file is written whole and renamed into place, so a reader sees the old model or
the new one, never half of one. The process dies with the bot (``PR_SET_PDEATHSIG``), so a killed
bot leaves no retrain behind.

Then it measures the meta-models' quality on a held-out slice of the store's tasks
(:mod:`metabase.bot.quality`). The bot holds the store's writer, so the process cannot record it:
it prints its result as one JSON line on stdout (:meth:`Retrain.result`), and the bot records it.

Run by hand: ``python -m metabase.services.bot_retrain_main STORE``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile

log = logging.getLogger("metabase.bot.retrain")

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
    return _train(ws, strategy)[0]


def retrain_and_measure(ws, strategy: str = STRATEGY, nice: int = 0) -> dict:
    """:func:`retrain`, then the quality measurement: ``{"key", "runs", "quality"}``, where
    ``runs`` is the store's runs and ``quality`` is :func:`metabase.bot.quality.measure_quality`'s
    answer on the prepared data (``{"skipped": reason}`` on a store too small to hold tasks out).
    ``nice``: the measurement runs this much nicer (the process's own priority: the bot's runs
    come first once the new models are in place).
    """
    import os

    from metabase.bot.quality import measure_quality

    key, prepared, runs = _train(ws, strategy)
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    # after the models are in place and the store is let go: the bot's runs and the new models'
    # readers never wait for the measurement
    features = prepared.features.rename_axis("task_id").reset_index()
    try:
        quality = measure_quality(prepared.runs, features)
    except Exception as exc:  # the models are in place all the same: the retrain did its work
        log.warning("the held-out quality measurement failed: %s: %s", type(exc).__name__, exc)
        quality = {"skipped": f"the measurement failed: {type(exc).__name__}: {exc}"}
    return {"key": key, "runs": runs, "quality": quality}


def _train(ws, strategy: str) -> tuple:
    from metabase.recommend import create
    from metabase.services import caches
    from metabase.services.recommend import FRESH_SAMPLES, _prepared
    from metabase.store.catalog import row_count

    with ws.reader(starter=False) as con:
        prepared, path = _prepared(ws, con, None, FRESH_SAMPLES, 0)
        runs = row_count(con, "runs")
    digest = path.stem.removeprefix("data-")
    key = f"{strategy}-{digest}"
    caches.fit_cached(create(strategy), prepared.training(), ws.settings.model_dir, key)
    return key, prepared, runs


def _die_with_parent() -> None:
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the bot kills it when it stops
        pass


class Retrain:
    """A running retrain process."""

    def __init__(self, proc: subprocess.Popen, errors, output=None) -> None:
        self.proc, self.errors, self.output = proc, errors, output

    @classmethod
    def start(cls, settings) -> "Retrain":
        errors = tempfile.TemporaryFile(mode="w+")
        output = tempfile.TemporaryFile(mode="w+")
        argv = [
            sys.executable,
            "-m",
            "metabase.services.bot_retrain_main",
            str(settings.store_path),
        ]
        proc = subprocess.Popen(
            argv,
            stdout=output,
            stderr=errors,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        return cls(proc, errors, output)

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

    def result(self) -> dict | None:
        """What a finished retrain handed back (:func:`retrain_and_measure`'s dict), or None
        (it failed, or its output is not the JSON line it prints).
        """
        if self.output is None or self.proc.poll() != 0:
            return None
        self.output.seek(0)
        lines = [line for line in self.output.read().splitlines() if line.strip()]
        try:
            out = json.loads(lines[-1]) if lines else None
        except ValueError:
            return None
        return out if isinstance(out, dict) else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.errors.close()
        if self.output is not None:
            self.output.close()
