"""The sequential protocol on pools whose answer is known, and the contract of sequential
strategies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metabase.evaluate.sequential import initial_design, run_one, run_sequential
from metabase.recommend.data import Prepared
from metabase.recommend.sequential import SequentialStrategy, create_sequential, sequential_names

sys.path.insert(0, str(Path(__file__).parent))
from test_recommend_contract import shifted_optimum  # noqa: E402


class Oracle(SequentialStrategy):
    """Knows every candidate's score: always proposes the best one still pending."""

    name = "oracle"

    def __init__(self, scores_by_task):
        self.scores_by_task = scores_by_task

    def start(self, query, seed=0):
        super().start(query, seed)
        self.scores_ = self.scores_by_task[len(query)]
        return self

    def suggest(self, observed, y, pending):
        return int(pending[np.argmax(self.scores_[pending])])


def _pool(scores_per_task):
    """Task t's pool: configurations x = 0..n-1 with the given scores."""
    runs = [
        (1 + t, "p", json.dumps({"x": float(i)}), float(s))
        for t, scores in enumerate(scores_per_task)
        for i, s in enumerate(scores)
    ]
    tasks = pd.DataFrame(
        {"task_id": range(1, len(scores_per_task) + 1), "f": range(len(scores_per_task))}
    )
    return Prepared.build(
        pd.DataFrame(runs, columns=["task_id", "pipeline", "config", "score"]), tasks
    )


def test_a_strategy_that_always_picks_the_best_has_zero_regret_from_trial_one():
    pools = [[0.2, 0.9, 0.5, 0.1], [0.3, 0.35, 0.8, 0.0, 0.6, 0.7]]  # pool sizes identify the task
    prepared = _pool(pools)
    oracle = {len(p): np.array(p) for p in pools}
    result = run_sequential(prepared, {"oracle": lambda: Oracle(oracle)}, seeds=2, budget=6)
    assert np.all(result.curves["oracle"] == 0.0)
    assert result.summary()["strategies"]["oracle"]["regret@1"] == 0.0
    assert result.summary()["strategies"]["oracle"]["found_best"] == 1.0


def test_random_mean_is_the_exact_expectation_computed_by_hand():
    # scores 0, 0.5, 1: one draw leaves regret 1, 0.5 or 0 (mean 0.5); two draws leave 0.5 only
    # for the pair {0, 0.5}: 1/6; three draws find the best
    prepared = _pool([[0.0, 0.5, 1.0], [1.0, 0.0, 0.5]])
    result = run_sequential(
        prepared, {"random": lambda: create_sequential("random")}, seeds=3, budget=3
    )
    summary = result.summary(ks=(1, 2, 3))["strategies"]["random"]
    assert summary["regret@1"] == pytest.approx(0.5, abs=1e-4)
    assert summary["regret@2"] == pytest.approx(1 / 6, abs=1e-4)
    assert summary["regret@3"] == 0.0


def test_random_search_runs_average_to_the_exact_expectation():
    rng = np.random.default_rng(3)
    scores = rng.random(30)
    prepared = _pool([scores, rng.random(30)])
    query = prepared.task_query(1)
    strategy = create_sequential("random").fit(prepared.training(exclude=1))
    runs = np.array(
        [run_one(strategy, query, scores, 10, np.array([], int), seed)[0] for seed in range(3000)]
    )
    result = run_sequential(
        prepared, {"random": lambda: create_sequential("random")}, tasks=[1], seeds=1, budget=10
    )
    np.testing.assert_allclose(runs.mean(axis=0), result.exact_random[0], atol=0.01)


def test_random5_start_tries_the_same_five_first_for_every_strategy():
    pools = [list(np.linspace(0, 1, 12)), list(np.linspace(1, 0, 12))]
    prepared = _pool(pools)
    result = run_sequential(
        prepared,
        {"oracle": lambda: Oracle({12: np.array(pools[0])})},
        tasks=[1],
        seeds=2,
        start="random5",
        budget=12,
    )
    scores = np.array(pools[0])
    for seed in range(2):
        initial = initial_design(12, 1, seed)
        expected = 1 - np.maximum.accumulate(scores[initial])
        np.testing.assert_allclose(result.curves["oracle"][0, seed, :5], expected)
        assert (
            result.curves["oracle"][0, seed, 5] == 0.0
        )  # the oracle's first own pick is the best


@pytest.fixture(scope="module")
def synthetic():
    runs, tasks, _ = shifted_optimum(n_tasks=8, n_runs=40)
    return Prepared.build(runs, tasks)


@pytest.mark.parametrize("name", [n for n in sequential_names() if n != "random"])
def test_every_sequential_strategy_proposes_pending_candidates_and_beats_random(name, synthetic):
    held_out = synthetic.task_ids[2:6]
    result = run_sequential(
        synthetic, {name: lambda: create_sequential(name)}, tasks=held_out, seeds=2, budget=15
    )
    mean, random = result.mean_curve(name), result.mean_curve("random")
    # run_one raises if a proposal is not pending; on average it must beat random search by @10
    assert mean[:10].mean() < random[:10].mean()
    assert np.all(np.diff(result.curves[name], axis=-1) <= 1e-12)  # regret never rises


def test_sequential_cli_json_shape(tmp_path, capsys):
    from cli.main import main
    from metabase.metadataset import MetaDataset, write

    runs, tasks, _ = shifted_optimum(n_tasks=6, n_runs=25)
    directory = write(MetaDataset(runs=runs, tasks=tasks), tmp_path / "md")
    plot = tmp_path / "seq.png"
    rc = main(
        [
            "--store",
            str(tmp_path / "s.duckdb"),
            "evaluate",
            str(directory),
            "--sequential",
            "--seeds",
            "2",
            "--start",
            "random5",
            "--strategies",
            "gp",
            "--format",
            "json",
            "--plot",
            str(plot),
        ]
    )
    assert rc in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["protocol"] == "sequential" and out["start"] == "random5" and out["seeds"] == 2
    assert out["tasks"] == 6
    assert set(out["strategies"]) == {"random", "default", "gp"}
    row = out["strategies"]["gp"]
    for key in (
        "regret@1",
        "regret@10",
        "sem@10",
        "median@10",
        "rank@10",
        "found_best",
        "ms_per_proposal",
    ):
        assert key in row
    assert plot.stat().st_size > 0


def test_sequential_cli_table_fits_80_columns(tmp_path, capsys, monkeypatch):
    from cli import output
    from cli.main import main
    from metabase.metadataset import MetaDataset, write

    runs, tasks, _ = shifted_optimum(n_tasks=4, n_runs=25)
    directory = write(MetaDataset(runs=runs, tasks=tasks), tmp_path / "md")
    monkeypatch.setattr(output, "TABLE_WIDTH", 80)
    args = ["--store", str(tmp_path / "s.duckdb"), "evaluate", str(directory), "--sequential"]
    main([*args, "--seeds", "1", "--strategies", "gp,residual"])
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80
    rows = [line.split("│")[1:-1] for line in table if line.startswith("│")]
    assert [row[0].strip() for row in rows] == ["random", "default", "gp", "residual"]
    assert all(len(cell.strip()) <= 5 for row in rows for cell in row[1:])  # 3 decimals, whole
    assert "found best" in out  # the caption says where the rest is


def test_sequential_cli_table_shows_a_strategy_that_never_reached_random(capsys, monkeypatch):
    from cli.commands import recommend
    from cli.main import main

    row = {"regret@1": 0.41234, "regret@10": 0.2, "rank@10": 2, "trials_to_random@100": None}
    summary = {"tasks": 3, "seeds": 1, "start": "zero-shot", "strategies": {"slow": row}}

    class Stub:
        def evaluate_sequential(self, *args, **kwargs):
            return summary

    monkeypatch.setattr(recommend, "workspace", lambda: Stub())
    rc = main(["evaluate", "anywhere", "--sequential"])
    out = capsys.readouterr().out
    assert rc in (0, None)
    line = next(line for line in out.splitlines() if line.startswith("│ slow"))
    assert [c.strip() for c in line.split("│")[1:-1]] == ["slow", "0.412", "0.2", "2", ""]


def test_sequential_cli_refuses_an_unknown_strategy(tmp_path, capsys):
    from cli.main import main
    from metabase.metadataset import MetaDataset, write

    runs, tasks, _ = shifted_optimum(n_tasks=4, n_runs=10)
    directory = write(MetaDataset(runs=runs, tasks=tasks), tmp_path / "md")
    rc = main(
        [
            "--store",
            str(tmp_path / "s.duckdb"),
            "evaluate",
            str(directory),
            "--sequential",
            "--strategies",
            "nope",
        ]
    )
    assert rc == 1
    assert "unknown sequential strategy nope" in capsys.readouterr().err


def test_default_chooses_a_task_aware_part_when_the_optimum_moves_with_the_meta_features(
    synthetic,
):
    from metabase.recommend.default import CANDIDATES, DefaultStrategy

    strategy = DefaultStrategy().fit(synthetic.training())
    assert strategy.chosen_ in CANDIDATES
    # the best configuration depends on the meta-feature f: a task-blind portfolio cannot follow it
    assert strategy.chosen_ != ("portfolio",)


def test_cold_gp_starts_with_a_space_filling_design_medoid_then_the_farthest():
    # one task whose configurations lie on a line x = 0..10: the medoid is x = 5, then the two ends
    prepared = _pool([list(np.linspace(0, 1, 11)), list(np.linspace(1, 0, 11))])
    gp = create_sequential("gp").fit(prepared.training(exclude=1))
    query = prepared.task_query(1)
    x = query.dist[:, 0]  # the encoding is monotone in x, so its order identifies the candidates
    order = np.argsort(x)
    for seed in range(3):
        gp.start(query, seed=seed)
        tried = []
        for _ in range(3):
            pending = np.setdiff1d(np.arange(11), tried)
            tried.append(gp.suggest(np.array(tried, int), np.zeros(len(tried)), pending))
        assert tried[0] == order[5]
        assert set(tried[1:]) == {order[0], order[-1]}


def test_the_design_is_random_where_all_candidates_are_equally_far():
    from metabase.recommend.sequential import _maximin

    x = np.eye(6)  # one-hot: every pair of candidates is equally far apart
    firsts = {
        _maximin(x, np.array([], int), np.arange(6), np.random.default_rng(s)) for s in range(40)
    }
    assert firsts == set(range(6))
    seconds = {
        _maximin(x, np.array([2]), np.array([0, 1, 3, 4, 5]), np.random.default_rng(s))
        for s in range(40)
    }
    assert seconds == {0, 1, 3, 4, 5}


def test_the_mixture_spread_is_where_the_weighted_models_disagree():
    from metabase.recommend.sequential import _ensemble

    base = np.array([[0.0, 1.0, 2.0], [0.0, -1.0, 2.0]])  # agree on candidates 0 and 2 only
    w = np.array([0.5, 0.5, 0.0])  # the task GP has no weight yet
    mean, std = _ensemble(w, base, None, None, "mixture")
    np.testing.assert_allclose(mean, [0.0, 0.0, 2.0])
    np.testing.assert_allclose(std, [0.0, 1.0, 0.0], atol=1e-12)
    # RGPE's own spread is the GP's alone: none while the GP has no weight
    assert not _ensemble(w, base, None, None, "gp")[1].any()
    # with the GP weighted in, the mixture adds its variance: (0.25 * (1 + 4) + ...) - mean^2
    w = np.array([0.25, 0.25, 0.5])
    mean, std = _ensemble(w, base, np.array([2.0, 0.0, 2.0]), np.array([1.0, 1.0, 0.0]), "mixture")
    np.testing.assert_allclose(mean, [1.0, 0.0, 2.0])
    expected_var = np.array([0.5 * (4 + 1) - 1.0, 0.25 + 0.25 + 0.5 * 1 - 0.0, 4.0 - 4.0])
    np.testing.assert_allclose(std, np.sqrt(expected_var), atol=1e-12)


def test_default_leaves_the_blend_only_for_a_clearly_better_part():
    from metabase.recommend.default import BLEND, CANDIDATES, _significant

    rng = np.random.default_rng(0)
    blend = rng.random(40) * 0.1
    # every candidate ties the blend up to noise: the argmin is noise, so the blend stays
    noisy = {c: blend + rng.normal(0, 0.01, 40) for c in CANDIDATES}
    noisy[BLEND] = blend
    assert _significant(noisy) == BLEND
    # portfolio is better on every task by 0.02: chosen
    clear = dict(noisy)
    clear[("portfolio",)] = blend - 0.02 + rng.normal(0, 0.002, 40)
    assert _significant(clear) == ("portfolio",)
