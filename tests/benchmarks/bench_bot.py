"""Benchmark: the bot's useful runs per hour against the bots before it, on the same server.

All against one replay server, on credit-g's task 31 (10-fold CV), ``sklearn.random_forest``
capped at ``TREES`` trees:

- **the bot**: ``Bot`` with the random policy, ``WORKERS`` local workers, ``--publish``, until
  ``N`` runs are stored and published.
- **the peer** (what the R bot and sklearn-bot did): a serial loop over ``N`` random
  configurations of the same space (seed 1), each built by the same builder, run with
  openml-python's ``run_model_on_task`` and uploaded with ``run.publish()``.

Reported: useful runs (finished and published) per hour of each, the ratio, the bot process's
resident memory before and after (a short run: "flat after an hour" needs the hour), and the
share of the bot's time outside the runs themselves (aim <= 5%) two ways:

- ``bot_outside_runs_share``: 1 - the runs' summed run time / workers / the bot's wall time. It
  counts the bot's start (imports, registration, the task's data, the first choice: ``bot_start_s``
  until the first run starts) and its end (the last batch published after the last run:
  ``bot_end_s``), which a bounded run of ``N`` runs cannot amortise and a never-ending bot pays
  once, so it says more about ``N`` than about the loop.
- ``bot_steady_outside_share``: the same between the first run's start and the last run's end:
  the share of the workers' time they were not running a run while the bot went on (choosing,
  storing, publishing, forking). The last run alone on its worker still counts in it.

Environment: ``METABASE_BENCH_BOT_N`` (default 20), ``METABASE_BENCH_BOT_TREES`` (16),
``METABASE_BENCH_BOT_WORKERS`` (2).

    pytest -m benchmark tests/benchmarks/bench_bot.py -s
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.benchmark, pytest.mark.realdata]
RESULTS = Path(__file__).parent / "results" / "bot.json"
N = int(os.environ.get("METABASE_BENCH_BOT_N", "20"))
TREES = int(os.environ.get("METABASE_BENCH_BOT_TREES", "16"))
WORKERS = int(os.environ.get("METABASE_BENCH_BOT_WORKERS", "2"))
TASK, RF = 31, "sklearn.random_forest"


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _bot(url: str, store: Path) -> dict:
    from metabase.bot.loop import Bot, BotOptions
    from metabase.runner.execute import utcnow
    from metabase.settings import Settings
    from metabase.store import open_reader
    from metabase.workspace import Workspace

    ws = Workspace(Settings.resolve(store=store, openml_server=url, apikey="bench"))
    options = BotOptions(
        tasks=(TASK,),
        pipelines=(RF,),
        policy="random",
        workers=WORKERS,
        publish=True,
        max_runs=N,
        fidelity=f"n_estimators={TREES}",
        seed=1,
    )
    before = _rss_mb()
    started_at, start = utcnow(), time.perf_counter()  # the clock the runs' times are on
    summary = Bot(ws, options).run()
    wall = time.perf_counter() - start
    with open_reader(store) as con:
        run_s, first, last = con.execute(
            "SELECT sum(d.runtime_s), min(d.started_at), max(d.finished_at) "
            "FROM run_details d JOIN bot_jobs j USING (run_key)"
        ).fetchone()
    window = (last - first).total_seconds()
    start_s = (first - started_at).total_seconds()
    return {
        "bot_s": wall,
        "bot_runs": summary.runs,
        "bot_published": summary.published,
        "bot_failed": summary.failed,
        "bot_outside_runs_share": 1 - run_s / WORKERS / wall,
        "bot_start_s": start_s,
        "bot_end_s": wall - start_s - window,
        "bot_steady_outside_share": 1 - run_s / WORKERS / window,
        "bot_rss_mb_before": before,
        "bot_rss_mb_after": _rss_mb(),
    }


def _peer(url: str, cache: Path) -> dict:
    import openml

    import pipelines
    from metabase.openml import Gateway
    from metabase.runner.execute import schema_for
    from pipelines import BuildOptions

    data = Gateway(url, "bench", cache).get_task_data(TASK)
    openml.config.server, openml.config.apikey = url, "bench"
    openml.config.set_root_cache_directory(str(cache))
    configs = pipelines.get(RF).sample(N, 1)
    start = time.perf_counter()
    task = openml.tasks.get_task(TASK, download_splits=True)
    published = 0
    for config in configs:
        model = pipelines.get(RF).build(
            config, schema_for(data), BuildOptions(max_estimators=TREES, random_state=1)
        )
        run = openml.runs.run_model_on_task(model, task, avoid_duplicate_runs=False)
        try:
            run.publish()
            published += 1
        except Exception as exc:  # noqa: BLE001 - a failed upload is not a useful run
            print(f"peer: publish failed: {type(exc).__name__}: {str(exc)[:200]}")
    return {"peer_s": time.perf_counter() - start, "peer_published": published}


def test_bench_bot(replay_factory, tmp_path, monkeypatch):
    logging.getLogger("openml").setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    monkeypatch.setenv("METABASE_OPENML_BACKOFF_S", "0.01")
    result = {
        "task": TASK,
        "runs": N,
        "trees": TREES,
        "workers": WORKERS,
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
    }
    result.update(_bot(replay_factory().url, tmp_path / "bot.duckdb"))
    result.update(_peer(replay_factory().url, tmp_path / "openml-cache"))
    ours = result["bot_published"] / result["bot_s"] * 3600
    theirs = result["peer_published"] / result["peer_s"] * 3600
    result.update(bot_runs_per_hour=ours, peer_runs_per_hour=theirs, ratio=ours / theirs)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(f"\n{N} runs of {RF} ({TREES} trees) on task {TASK}, {WORKERS} workers")
    print(f"bot:  {ours:.0f} useful runs/hour ({result['bot_s']:.1f} s)")
    print(f"peer: {theirs:.0f} useful runs/hour ({result['peer_s']:.1f} s), serial")
    print(
        f"ratio: {ours / theirs:.2f}; the bot's time outside runs: "
        f"{result['bot_outside_runs_share']:.1%} in all (start {result['bot_start_s']:.1f} s, "
        f"end {result['bot_end_s']:.1f} s), {result['bot_steady_outside_share']:.1%} between "
        f"the first run's start and the last one's end; RSS {result['bot_rss_mb_before']:.0f} "
        f"-> {result['bot_rss_mb_after']:.0f} MB; load average {os.getloadavg()[0]:.1f}"
    )
    assert result["bot_published"] == N == result["bot_runs"]
