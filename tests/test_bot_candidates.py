"""The bot's candidates never run dry on a continuous space: the sampling rounds move on with what
a (task, pipeline) has taken (deterministically, from the store, so a restarted bot too), nothing
taken is offered again, and a space that is truly finite ends the bot once all of it has run.
"""

from __future__ import annotations

import json

import pytest

from metabase.bot.loop import Bot, BotOptions
from metabase.services.bot import BotSession
from metabase.services.bot_knowledge import SAMPLE_ROUNDS, pair_seed
from metabase.settings import Settings
from metabase.testing import faulty
from metabase.workspace import Workspace

DT = "sklearn.decision_tree"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setattr(
        BotSession, "task_data", lambda self, t: faulty.synthetic_task(n=60, folds=3, task_id=t)
    )
    return Workspace(Settings.resolve(store=tmp_path / "bot.duckdb", offline=True))


def _take_first_rounds(ws, per_pair: int) -> set[str]:
    """Propose, as jobs of task 1, every configuration the first ``SAMPLE_ROUNDS`` rounds draw
    (what the old sampling could ever offer), and a few more; returns their hashes.
    """
    import pipelines
    from metabase.records import Fidelity
    from metabase.services.bot_fidelity import job

    pipeline = pipelines.get(DT)
    configs = {}
    for round_ in range(SAMPLE_ROUNDS + 2):
        for config in pipeline.sample(per_pair, pair_seed(0, 1, DT, round_)):
            configs[pipelines.config_hash(DT, config)] = config
    session = ws.bot_session()
    try:
        jobs = [job(1, DT, c, 0, Fidelity(), "test") for c in configs.values()]
        assert session.propose(jobs) == len(configs) > SAMPLE_ROUNDS * per_pair
    finally:
        session.close()
    return set(configs)


def _candidates(ws, per_pair: int) -> list[str]:
    session = ws.bot_session()
    try:
        found = session.knowledge([1], [DT], per_pair=per_pair, cap=None, seed=0).candidates
    finally:
        session.close()
    return list(found["config"])


def test_a_pair_with_every_early_round_taken_still_gets_fresh_candidates(ws):
    import pipelines

    taken = _take_first_rounds(ws, per_pair=8)
    first = _candidates(ws, per_pair=8)
    assert len(first) == 8  # the old sampling found none: every draw of its rounds was taken
    hashes = {pipelines.config_hash(DT, json.loads(c)) for c in first}
    assert len(hashes) == 8 and not hashes & taken
    # deterministic and restart-safe: derived from the store, not from the process
    assert _candidates(ws, per_pair=8) == first


@pytest.mark.slow
def test_the_bot_runs_on_past_the_first_rounds_of_one_pair(ws):
    # one candidate per ask: SAMPLE_ROUNDS draws in all was where the old sampling ran dry
    options = BotOptions(
        tasks=(1,), pipelines=(DT,), workers=1, cap=None, per_pair=1, max_runs=SAMPLE_ROUNDS + 6
    )
    summary = Bot(ws, options).run()
    assert (summary.runs, summary.stopped) == (SAMPLE_ROUNDS + 6, "done")
    with ws.reader(starter=False) as con:
        hashes = con.execute("SELECT config_hash FROM bot_jobs").fetchall()
    assert len(hashes) == len(set(hashes))  # nothing proposed twice


class _Finite:
    """testing.faulty whose space has three configurations (every draw is one of them)."""

    def __init__(self) -> None:
        self.inner = faulty.get("testing.faulty")

    def sample(self, n: int, seed: int = 0) -> list[dict]:
        return [faulty.config("ok", megabytes=(seed + i) % 3) for i in range(n)]

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_truly_finite_space_ends_the_bot_once_all_of_it_ran(ws):
    def catalogue(name: str):
        return _Finite() if name == "testing.faulty" else faulty.get(name)

    options = BotOptions(tasks=(1,), pipelines=("testing.faulty",), workers=1, cap=None)
    summary = Bot(ws, options, catalogue=catalogue).run()
    assert summary.runs == 3 and summary.stopped.startswith("nothing left to run")
    with ws.reader(starter=False) as con:
        assert con.execute("SELECT count(DISTINCT config_hash) FROM runs").fetchone() == (3,)
