"""``metabase tune`` caches its fitted strategy beside the store, under a key of the training
state: a repeated or restarted tune of a task neither reads the training runs nor fits again, a
corrupt cache is refitted with one warning, and the key ignores the task's own runs (it is left
out of training) but not another task's. Against the replay server, task 31 (credit-g).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli.main import main

pytestmark = pytest.mark.realdata
TUNE = ["tune", "--task", "31", "--pipeline", "sklearn.decision_tree", "--batch", "1"]


@pytest.fixture
def cli(replay_server, tmp_path, capsys):
    store = tmp_path / "kb.duckdb"

    def call(*args: str):
        base = ["--store", str(store), "--openml-server", replay_server.url, "--apikey", "k"]
        code = main([*base, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    call.store = store
    return call


def _files(store):
    return sorted(store.with_name(store.name + ".models").glob("tune-31-*.pkl"))


def _key(store):
    from metabase.services.tune_inputs import _key
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    ws = Workspace(Settings.resolve(store=store, offline=True))
    scope = ["sklearn.decision_tree"]
    return _key(ws, 31, scope, scope, 100, 0, "random")


@pytest.mark.slow
def test_a_repeated_tune_reuses_the_fitted_strategy_and_a_corrupt_one_is_refitted(
    cli, monkeypatch, caplog
):
    from metabase.services import tune_inputs

    code, out, err = cli(*TUNE, "--strategy", "random", "--budget", "1", "--format", "json")
    assert code == 0, err
    (cached,) = _files(cli.store)
    key = _key(cli.store)
    assert key in cached.name

    # the task's own run is not training: same key, and the second start reads nothing to fit
    def no_training(*args, **kwargs):
        raise AssertionError("the training runs were read again")

    with monkeypatch.context() as m:
        m.setattr(tune_inputs, "training_data", no_training)
        code, out, err = cli(*TUNE, "--strategy", "random", "--budget", "2", "--format", "json")
    assert code == 0, err
    assert _files(cli.store) == [cached] and _key(cli.store) == key
    assert len(json.loads(out)["trials"]) == 2

    # a corrupt cache: refitted, with one warning, and written afresh
    cached.write_bytes(b"metabase-cache 2\n" + b"\x00" * 40)
    caplog.clear()
    code, out, err = cli(*TUNE, "--strategy", "random", "--budget", "3", "--format", "json")
    assert code == 0, err
    warned = [r.getMessage() for r in caplog.records if "tune cache" in r.getMessage()]
    assert len(warned) == 1 and "unusable" in warned[0] and "refitting" in warned[0]
    from metabase.services import caches

    assert caches.load(cached)["source"] in ("store", "starter")

    # a run of another task is training for this one: a new key
    code, _, err = cli(
        "run", "--task", "9983", "--pipeline", "sklearn.decision_tree", "--sample", "1"
    )
    assert code == 0, err
    assert _key(cli.store) != key


def test_a_fitted_rgpe_comes_back_from_the_cache_and_proposes_the_same(tmp_path):
    """The restricted unpickler knows what a fitted RGPE is made of (per-task forests, the
    zero-shot surrogate's boosters) and nothing else.
    """
    import sys
    from pathlib import Path

    from metabase.recommend.data import Prepared
    from metabase.recommend.sequential import create_sequential
    from metabase.services import caches

    sys.path.insert(0, str(Path(__file__).parent))
    from test_recommend_contract import shifted_optimum

    runs, tasks, _ = shifted_optimum(n_tasks=6, n_runs=30)
    prepared = Prepared.build(runs, tasks)
    held = prepared.task_ids[0]
    fitted = create_sequential("rgpe").fit(prepared.training(exclude=held))
    path = tmp_path / "tune-1-rgpe-x.pkl"
    caches.save(path, {"prepared": prepared, "strategy": fitted})
    back = caches.load(path)
    assert back["strategy"].training_.prepared is back["prepared"]
    query = prepared.task_query(held)
    observed = np.array([0, 3, 7])
    y = np.array([0.2, 0.9, 0.4])
    pending = np.setdiff1d(np.arange(len(query)), observed)
    picks = [
        s.start(q, seed=1).suggest(observed, y, pending)
        for s, q in ((fitted, query), (back["strategy"], back["prepared"].task_query(held)))
    ]
    assert picks[0] == picks[1]
