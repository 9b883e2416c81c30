"""Multi-fidelity in the live bot: new configurations run at the lowest rung first; successive
halving promotes, from the stored results, only those in a rung's best third that score at least
as well as the hurdle (the best configuration on a similar task, run at the same rung); a restart
re-derives missed promotions and never promotes twice.
"""

from __future__ import annotations

import json

import pytest

from metabase.bot.loop import Bot, BotOptions
from metabase.services.bot import BotSession
from metabase.settings import Settings
from metabase.testing import faulty
from metabase.workspace import Workspace

RF = "sklearn.random_forest"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setattr(
        BotSession, "task_data", lambda self, t: faulty.synthetic_task(n=60, folds=3, task_id=t)
    )
    return Workspace(Settings.resolve(store=tmp_path / "bot.duckdb", offline=True))


def _options(**kw) -> BotOptions:
    # tiny trees: rungs of 2 and 4 trees below the top rung of 8
    base = {"pipelines": (RF,), "workers": 1, "fidelity": "n_estimators=8", "rungs": (2, 4)}
    return BotOptions(**{**base, **kw})


def _jobs(ws, task: int) -> list[dict]:
    from metabase.store import open_reader
    from metabase.store.run_queries import task_run_scores

    with open_reader(ws.store_path) as con:
        rows = con.execute(
            "SELECT job_id, run_key, config_hash, rung, hurdle, fidelity, state, screening "
            "FROM bot_jobs "
            "WHERE task_id = ? ORDER BY job_id",
            [task],
        ).fetchall()
        scores = task_run_scores(con, task, [r[1] for r in rows])
    names = ("job_id", "run_key", "config", "rung", "hurdle", "fidelity", "state", "screening")
    jobs = [dict(zip(names, r)) for r in rows]
    for j in jobs:
        j["fidelity"] = json.loads(j["fidelity"])
        j["score"] = scores.get(j["run_key"])
    return jobs


def _check_halving(jobs: list[dict]) -> int:
    """Every promotion follows the rule; returns the number of newcomers promoted."""
    done = {(j["config"], j["rung"]): j for j in jobs if j["state"] == "stored"}
    [reference] = {j["config"] for j in jobs if j["hurdle"]}
    promoted = 0
    for j in jobs:
        assert j["fidelity"] == {"n_estimators": (2, 4, 8)[j["rung"]]}
        if j["rung"] == 0 or j["hurdle"]:
            continue
        below = done[(j["config"], j["rung"] - 1)]  # it ran one rung lower first
        bar = done[(reference, j["rung"] - 1)]["score"]  # and the hurdle was measured there
        assert below["score"] >= bar
        assert below["job_id"] < j["job_id"]
        promoted += 1
    # a configuration's first job is at rung 0 (the hurdle's too)
    first = {}
    for j in jobs:
        first.setdefault(j["config"], j["rung"])
    assert set(first.values()) == {0}
    return promoted


@pytest.mark.slow
def test_low_fidelity_first_and_only_winners_over_the_hurdle_are_promoted(ws):
    # a similar task (the only other one) whose best top-fidelity configuration is the hurdle
    Bot(ws, _options(tasks=(2,), multi_fidelity=False, max_runs=4)).run()
    summary = Bot(ws, _options(tasks=(1,), max_runs=16)).run()
    assert summary.runs == 16 and summary.promoted > 0
    jobs = _jobs(ws, 1)
    stored = [j for j in jobs if j["state"] == "stored"]
    assert len(stored) == 16
    assert _check_halving(jobs) > 0
    # the hurdle is task 2's best configuration at the top fidelity
    task2 = [j for j in _jobs(ws, 2) if j["state"] == "stored"]
    best2 = max(task2, key=lambda j: j["score"])["config"]
    assert {j["config"] for j in jobs if j["hurdle"]} == {best2}
    # newcomers below the hurdle at rung 0 stayed there
    bar = next(j["score"] for j in stored if j["hurdle"] and j["rung"] == 0)
    up = {j["config"] for j in jobs if j["rung"] == 1}
    below = [j for j in stored if j["rung"] == 0 and j["score"] < bar]
    assert below and all(j["config"] not in up for j in below)


@pytest.mark.slow
def test_a_restart_derives_missed_promotions_and_never_promotes_twice(ws, monkeypatch):
    Bot(ws, _options(tasks=(2,), multi_fidelity=False, max_runs=4)).run()
    # a bot killed after storing each result, before proposing its promotions
    with monkeypatch.context() as m:
        m.setattr(BotSession, "promote", lambda self, *a: 0)
        Bot(ws, _options(tasks=(1,), max_runs=6)).run()
    assert {j["rung"] for j in _jobs(ws, 1)} == {0}
    summary = Bot(ws, _options(tasks=(1,), max_runs=10)).run()
    assert summary.promoted > 0
    jobs = _jobs(ws, 1)
    _check_halving(jobs)
    assert any(j["rung"] == 1 for j in jobs)
    # and again: every (configuration, rung) is one job and one run
    Bot(ws, _options(tasks=(1,), max_runs=4)).run()
    jobs = _jobs(ws, 1)
    pairs = [(j["config"], j["rung"]) for j in jobs]
    assert len(pairs) == len(set(pairs))
    _check_halving(jobs)


@pytest.mark.slow
def test_screening_runs_feed_halving_only_and_are_never_published(ws):
    from datetime import timedelta

    from metabase.services.bot_knowledge import knowledge
    from metabase.services.recommend import load_store_data
    from metabase.store import bot as store
    from metabase.store import open_writer, utcnow

    Bot(ws, _options(tasks=(2,), multi_fidelity=False, max_runs=4)).run()
    summary = Bot(ws, _options(tasks=(1,), max_runs=10)).run()
    assert summary.promoted > 0  # successive halving read the screening results
    jobs = _jobs(ws, 1) + _jobs(ws, 2)
    assert all(j["screening"] == (j["rung"] is not None and j["rung"] < 2) for j in jobs)
    stored = [j for j in jobs if j["state"] == "stored"]
    low = {j["run_key"] for j in stored if j["screening"]}
    full = {j["run_key"] for j in stored if not j["screening"]}
    assert low and full
    with ws.reader(starter=False) as con:
        learned = set(load_store_data(con).runs["run_key"])  # what recommend and retrain see
        known = knowledge(con, [1, 2], [RF], seed=0).runs  # what the policy sees
        with_predictions = {
            k for (k,) in con.execute("SELECT DISTINCT run_key FROM predictions").fetchall()
        }
    assert not learned & low and full <= learned
    assert len(known) == len(full)
    with open_writer(ws.store_path) as con:
        assert set(store.to_publish(con, 1000)) == full  # the outbox never sees them
        with con.transaction():  # their predictions go after the retention period, unpublished
            assert store.prune_predictions(con, utcnow() + timedelta(days=1)) == len(low)
        left = {k for (k,) in con.execute("SELECT DISTINCT run_key FROM predictions").fetchall()}
    assert low <= with_predictions and left == with_predictions - low


def test_pipelines_without_a_fidelity_knob_run_at_the_bot_fidelity(ws):
    Bot(ws, _options(tasks=(1,), pipelines=("sklearn.decision_tree",), max_runs=2)).run()
    jobs = _jobs(ws, 1)
    assert [(j["rung"], j["hurdle"]) for j in jobs] == [(None, False)] * 2


# -- aging evolution for the torch architectures ---------------------------------------------


def _choice(task: int, pipeline: str, config: dict):
    from metabase.bot.records import Choice

    return Choice(0, task, pipeline, json.dumps(config), "random")


def test_evolution_proposes_a_neighbour_of_a_stored_winner(monkeypatch):
    from ConfigSpace import Configuration

    import pipelines
    from metabase.bot.evolution import POPULATION, SAMPLE
    from metabase.records import Fidelity
    from metabase.services import bot_evolve, bot_fidelity

    space = pipelines.get("torch.mlp").space
    space.seed(5)
    stored = [(dict(c), i / 100) for i, c in enumerate(space.sample_configuration(POPULATION))]
    monkeypatch.setattr(bot_evolve, "history", lambda con, t, p, entry: stored)
    monkeypatch.setattr(bot_fidelity, "hurdle_config", lambda *a: None)
    other = _choice(1, RF, {"n_estimators": 20})
    picked = [_choice(1, "torch.mlp", {}), _choice(1, "torch.mlp", {}), other]
    out = bot_evolve.evolve(None, picked, pipelines.get, 0, Fidelity(), {})
    assert out[1] == other and len(out) == 2  # one proposal per pair; others untouched
    config = json.loads(out[0].config)
    Configuration(space, values=config)  # a point of the space
    # one hyperparameter of a population member changed (a depth change also switches widths)
    parents = [c for c, _ in stored if len(_primary(c, config)) == 1]
    assert parents and config not in [c for c, _ in stored]
    # the parent won a tournament of SAMPLE members: at least SAMPLE - 1 others score below it
    score = float(out[0].reason.split("score ")[1].rstrip(")"))
    assert sum(s < score for _, s in stored) >= SAMPLE - 1
    assert any(abs(s - score) < 1e-9 for c, s in stored if c in parents)
    again = bot_evolve.evolve(None, picked, pipelines.get, 0, Fidelity(), {})
    assert again == out  # deterministic in the seed and the stored history


def _primary(a: dict, b: dict) -> set:
    return {k for k in set(a) & set(b) if a[k] != b[k]}


def test_an_empty_history_starts_from_the_recommended_architectures(monkeypatch):
    import pipelines
    from metabase.records import Fidelity
    from metabase.services import bot_evolve, bot_fidelity

    space = pipelines.get("torch.resnet").space
    best = {**dict(space.get_default_configuration()), "n_blocks": 5}
    history = []
    monkeypatch.setattr(bot_evolve, "history", lambda con, t, p, entry: history)
    monkeypatch.setattr(bot_fidelity, "hurdle_config", lambda *a: best)
    picked = [_choice(1, "torch.resnet", {})]
    [first] = bot_evolve.evolve(None, picked, pipelines.get, 0, Fidelity(), {})
    assert json.loads(first.config) == best and "recommended" in first.reason
    history.append((best, 0.5))
    [second] = bot_evolve.evolve(None, picked, pipelines.get, 0, Fidelity(), {})
    assert json.loads(second.config) == dict(space.get_default_configuration())


@pytest.mark.slow
def test_a_bot_on_torch_mlp_runs_evolved_architectures_at_the_lowest_rung(ws):
    options = _options(
        tasks=(1,), pipelines=("torch.mlp",), fidelity="epochs=2", rungs=(1,), max_runs=2
    )
    Bot(ws, options).run()
    jobs = _jobs(ws, 1)
    from metabase.store import open_reader

    with open_reader(ws.store_path) as con:
        reasons = [
            r[0] for r in con.execute("SELECT reason FROM bot_jobs ORDER BY job_id").fetchall()
        ]
    assert reasons[0] == "evolution: a recommended architecture"  # the default: no similar task
    assert all(r.startswith("evolution:") for r in reasons)
    assert [j["fidelity"] for j in jobs[:1]] == [{"epochs": 1}]
