"""Benchmark: the bot's policies proved by simulation (:mod:`metabase.bot.simulate`).

The world is an interchange meta-dataset, by default the openml-pimp random forest runs at
``../pimp-rf`` (``BENCH_BOT_WORLD``): a fifth of the tasks are test tasks, the bot starts knowing
5% of each training task's runs, and after every batch the test tasks measure the meta-models
(zero-shot ``default`` and the sequential default's regret@10). One learning curve per policy
(``BENCH_BOT_POLICIES``, default ``active,random,tune``), ``BENCH_BOT_SEEDS`` seeds (5),
``BENCH_BOT_BUDGET`` runs (1500) in batches of ``BENCH_BOT_BATCH`` (300), starting from
``BENCH_BOT_KNOWN`` (0.05) of each training task's runs. Each policy's curve is written to
``results/bot_policy/[BENCH_BOT_NAME/]<policy>.json``, so policies can run as separate
processes; once ``active`` and ``random`` are there, ``summary.json`` beside them says how many
runs ``active`` needs to reach ``random``'s final quality (the aim: at most 60% of random's).

Run with (about 10 CPU minutes per policy at the defaults):

    pytest -m benchmark tests/benchmarks/bench_bot_policy.py -s
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORLD = Path(os.environ.get("BENCH_BOT_WORLD", REPO.parent / "pimp-rf"))
RESULTS = Path(__file__).parent / "results" / "bot_policy"
MEASURES = ("zero_shot", "sequential")

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]


def runs_to_reach(curve: list[dict], measure: str, target: float) -> int | None:
    """The fewest runs after which the mean regret is at most ``target`` (None: never)."""
    for point in curve:
        if point[f"{measure}_regret@10"] <= target + 1e-12:
            return point["runs"]
    return None


def summary(results: dict) -> dict:
    out = {}
    for measure in MEASURES:
        final = results["random"]["curve"][-1]
        target = final[f"{measure}_regret@10"]
        out[measure] = {
            "random_final": target,
            "random_runs": final["runs"],
            **{
                f"{p}_runs_to_random_final": runs_to_reach(results[p]["curve"], measure, target)
                for p in ("active", "tune")
                if p in results
            },
        }
        reached = out[measure].get("active_runs_to_random_final")
        out[measure]["active_share_of_random_runs"] = (
            round(reached / final["runs"], 3) if reached is not None else None
        )
    return out


def test_bench_bot_policy():
    if not WORLD.is_dir():
        pytest.skip(f"no meta-dataset at {WORLD} (set BENCH_BOT_WORLD)")
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    policies = os.environ.get("BENCH_BOT_POLICIES", "active,random,tune").split(",")
    seeds = int(os.environ.get("BENCH_BOT_SEEDS", "5"))
    budget = int(os.environ.get("BENCH_BOT_BUDGET", "1500"))
    batch = int(os.environ.get("BENCH_BOT_BATCH", "300"))
    known = float(os.environ.get("BENCH_BOT_KNOWN", "0.05"))
    results = RESULTS / os.environ.get("BENCH_BOT_NAME", "")
    ws = Workspace(Settings.resolve(offline=True))
    results.mkdir(parents=True, exist_ok=True)
    for policy in policies:
        t0 = time.perf_counter()
        result = ws.simulate_bot(
            WORLD, policy=policy, budget=budget, seeds=seeds, batch=batch, known_share=known
        )
        result["seconds"] = round(time.perf_counter() - t0, 1)
        (results / f"{policy}.json").write_text(json.dumps(result, indent=1))
        print(json.dumps(result))
        assert result["curve"][0]["runs"] == 0 and result["curve"][-1]["runs"] == budget
    found = {
        p: json.loads((results / f"{p}.json").read_text())
        for p in ("active", "random", "tune")
        if (results / f"{p}.json").is_file()
    }
    pair = [found[p] for p in ("active", "random") if p in found]
    if len(pair) == 2 and len({(r["budget"], r["seeds"], r["batch"]) for r in pair}) == 1:
        report = summary(found)
        (results / "summary.json").write_text(json.dumps(report, indent=1))
        print(json.dumps(report))
