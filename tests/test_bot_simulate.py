"""The simulation that proves the bot's policies (metabase.bot.simulate), its service and
Workspace method, and the ``metabase bot --simulate`` command, on small synthetic worlds.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metabase.bot.policy import POLICIES, Knowledge
from metabase.bot.simulate import HeldOut, simulate, split
from metabase.errors import InputError
from metabase.metadataset import MetaDataset
from metabase.metadataset import write as write_metadataset


def peaked_world(n_tasks: int = 10, good: int = 20, bad: int = 20, seed: int = 0) -> MetaDataset:
    """Per task a narrow peak of ``good``'s ``c``: at 0.2 on tasks whose meta-feature ``m`` is
    below 0.5, at 0.8 on the others; ``bad`` scores 0.45 (plus noise) whatever its ``k``: running
    it teaches nothing about the peaks.
    """
    rng = np.random.default_rng(seed)
    m = rng.permutation(np.linspace(0.05, 0.95, n_tasks))
    rows = []
    for task, mi in enumerate(m, start=1):
        for c in np.linspace(0.0, 1.0, good):
            peak = 0.2 if mi < 0.5 else 0.8
            score = 0.5 + 0.4 * np.exp(-(((c - peak) / 0.08) ** 2))
            rows.append((task, "good", json.dumps({"c": round(float(c), 4)}), score))
        for k in range(bad):
            rows.append((task, "bad", json.dumps({"k": k}), 0.45 + rng.normal(0, 0.002)))
    runs = pd.DataFrame(rows, columns=["task_id", "pipeline", "config", "score"])
    tasks = pd.DataFrame(
        {"task_id": np.arange(1, n_tasks + 1), "dataset_id": np.arange(1, n_tasks + 1), "m": m}
    )
    return MetaDataset(runs=runs, tasks=tasks)


class _ByScore:
    """Test policies that see the world's scores: ``best`` runs each task's best configurations
    (the most informative runs there are), ``worst`` its worst (the ``bad`` pipeline's noise).
    """

    def __init__(self, meta: MetaDataset, best: bool) -> None:
        self.score = meta.runs["score"].to_numpy()
        self.best = best
        self.name = "best" if best else "worst"

    def choose(self, knowledge: Knowledge, n: int, seed: int):
        from metabase.bot.policy import choices

        c = knowledge.candidates.assign(s=self.score[knowledge.candidates["candidate"]])
        c = c.sort_values("s", ascending=not self.best, kind="stable")
        c["turn"] = c.groupby("task_id").cumcount()  # round-robin over the tasks
        ids = c.sort_values(["turn", "task_id"], kind="stable")["candidate"].head(n)
        return choices(knowledge.candidates, ids, self.name)


def test_split_holds_out_a_fifth_and_knows_five_percent_of_each_training_task():
    meta = peaked_world(n_tasks=10)
    s = split(meta.runs, seed=0)
    assert len(s.test) == 2 and len(s.train) == 8 and not set(s.test) & set(s.train)
    known_tasks = meta.runs.iloc[s.known]["task_id"]
    assert set(known_tasks) == set(s.train)
    assert (known_tasks.value_counts() == 2).all()  # ceil(5% of 40) = 2 of each task's 40 runs
    denser = meta.runs.iloc[split(meta.runs, seed=0, known_share=0.25).known]["task_id"]
    assert (denser.value_counts() == 10).all()  # a quarter of 40
    assert (
        split(meta.runs, seed=1).test != s.test
        or split(meta.runs, 1).known.tolist() != s.known.tolist()
    )


def test_no_fold_trains_on_a_held_out_task():
    meta = peaked_world()
    prepared = HeldOut.build(meta.runs, meta.tasks)
    prepared.held_out = frozenset({1, 2})
    for exclude in (None, 1, 3):
        training = prepared.training(exclude=exclude)
        seen = set(training.task_ids) | set(training.runs["task_id"])
        assert not seen & {1, 2} and (exclude not in seen)
        assert seen == set(range(1, 11)) - {1, 2, exclude}


def test_the_curve_has_a_point_per_batch_with_standard_errors_and_is_deterministic():
    meta = peaked_world()
    one = simulate(meta, "random", budget=6, seeds=2, batch=3)
    assert [p["runs"] for p in one["curve"]] == [0, 3, 6]
    assert (one["policy"], one["budget"], one["seeds"], one["batch"]) == ("random", 6, 2, 3)
    for point in one["curve"]:
        for name in ("zero_shot", "sequential"):
            assert 0.0 <= point[f"{name}_regret@10"] <= 1.0
            assert point[f"{name}_sem@10"] >= 0.0
    assert simulate(meta, "random", budget=6, seeds=2, batch=3) == one


def test_the_simulation_tells_informative_runs_from_useless_ones(monkeypatch):
    """Running each training task's best configurations shows the models where the peak is;
    running the ``bad`` pipeline shows them nothing: the first must measure better.
    """
    meta = peaked_world()
    monkeypatch.setitem(POLICIES, "best", lambda: _ByScore(meta, best=True))
    monkeypatch.setitem(POLICIES, "worst", lambda: _ByScore(meta, best=False))
    best = simulate(meta, "best", budget=16, seeds=2, batch=16)["curve"][-1]
    worst = simulate(meta, "worst", budget=16, seeds=2, batch=16)["curve"][-1]
    assert best["zero_shot_regret@10"] <= 0.05 < worst["zero_shot_regret@10"] - 0.05


def test_a_policy_that_chooses_what_was_not_offered_is_refused(monkeypatch):
    class Cheat:
        name = "cheat"

        def choose(self, knowledge, n, seed):
            from metabase.bot.policy import Choice

            return [Choice(0 if 0 in set(knowledge.runs.index) else 1, 1, "good", "{}", "x")]

    meta = peaked_world()
    s = split(meta.runs, 0)
    monkeypatch.setitem(POLICIES, "cheat", Cheat)
    # the first known run of a training task, offered again: not allowed
    known = int(s.known[0])

    class Again(Cheat):
        def choose(self, knowledge, n, seed):
            from metabase.bot.policy import Choice

            return [Choice(known, 1, "good", "{}", "x")]

    monkeypatch.setitem(POLICIES, "again", Again)
    with pytest.raises(ValueError, match="not offered"):
        simulate(meta, "again", budget=2, seeds=1, batch=2)


def test_the_service_checks_its_inputs(tmp_path):
    from metabase.services.bot_simulate import simulate_bot

    write_metadataset(peaked_world(), tmp_path / "w")
    with pytest.raises(InputError, match="unknown bot policy 'greedy'"):
        simulate_bot(tmp_path / "w", policy="greedy")
    with pytest.raises(InputError, match="--budget must be a positive integer"):
        simulate_bot(tmp_path / "w", budget=0)
    with pytest.raises(InputError, match="--seeds must be a positive integer"):
        simulate_bot(tmp_path / "w", seeds=0)
    small = peaked_world(n_tasks=4)
    write_metadataset(small, tmp_path / "small")
    with pytest.raises(InputError, match="at least 5 usable tasks"):
        simulate_bot(tmp_path / "small")


def test_the_workspace_simulates_a_directory_with_progress(tmp_path):
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    write_metadataset(peaked_world(), tmp_path / "w")
    seen = []
    result = Workspace(Settings.resolve(store=tmp_path / "s.duckdb", offline=True)).simulate_bot(
        tmp_path / "w",
        policy="random",
        budget=4,
        seeds=1,
        batch=4,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert result["train_tasks"] == 8 and result["test_tasks"] == 2
    assert [p["runs"] for p in result["curve"]] == [0, 4]
    assert seen == [(1, 2), (2, 2)]
    assert not (tmp_path / "s.duckdb").exists()  # a simulation never touches the store


def test_the_bot_command_simulates_and_prints_json(tmp_path, capsys):
    from cli.main import main

    write_metadataset(peaked_world(), tmp_path / "w")
    code = main(
        [
            "--store",
            str(tmp_path / "s.duckdb"),
            "bot",
            "--simulate",
            str(tmp_path / "w"),
            "--budget",
            "4",
            "--policy",
            "random",
            "--seeds",
            "1",
            "--format",
            "json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["policy"] == "random" and out["budget"] == 4
    assert [p["runs"] for p in out["curve"]][0] == 0 and out["curve"][-1]["runs"] == 4
    assert {"zero_shot_regret@10", "sequential_regret@10"} <= set(out["curve"][0])
