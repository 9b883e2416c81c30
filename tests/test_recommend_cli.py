"""``metabase recommend`` against a store holding the imported openml-pimp runs (flow 6969)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cli.main import main

PIMP = "openml-pimp/KDD2018/data/arff/random_forest.arff"
RF = "sklearn.random_forest"


@pytest.fixture(scope="module")
def pimp_store(openml_data, tmp_path_factory):
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    path = tmp_path_factory.mktemp("pimp") / "store.duckdb"
    Workspace(Settings.resolve(store=path, offline=True)).import_(
        "openml-pimp", openml_data / PIMP
    )
    return path


@pytest.fixture(scope="module")
def task_9983_scores(openml_data):
    """Task 9983's 500 scores, read straight from the ARFF (not through the store)."""
    import arff

    with open(openml_data / PIMP) as handle:
        data = arff.load(handle)
    names = [a[0] for a in data["attributes"]]
    t, s = names.index("task_id"), names.index("predictive_accuracy")
    return [row[s] for row in data["data"] if int(row[t]) == 9983]


def _run(store, *args, capsys):
    rc = main(["--store", str(store), "--offline", "recommend", *args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture(scope="module")
def recommended(pimp_store):
    """One JSON answer for task 9983 (computed once: it trains and caches the surrogate)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(
            [
                "--store",
                str(pimp_store),
                "--offline",
                "recommend",
                "--task",
                "9983",
                "--format",
                "json",
            ]
        )
    assert rc == 0
    return json.loads(out.getvalue())


@pytest.mark.realdata
def test_recommend_task_9983_json_shape(recommended, task_9983_scores):
    import pipelines

    assert set(recommended) == {"task_id", "strategy", "recommendations", "notes"}
    assert recommended["task_id"] == 9983 and recommended["strategy"] == "default"
    recs = recommended["recommendations"]
    assert [r["rank"] for r in recs] == list(range(1, 11))
    space = pipelines.get(RF)
    for rec in recs:
        assert set(rec) == {
            "rank",
            "pipeline",
            "config",
            "predicted_score",
            "uncertainty",
            "expected_runtime",
            "evidence",
            "basis",
        }
        assert rec["pipeline"] == RF
        assert space.canonicalize(rec["config"]) == rec["config"]
        # the task is in the store, so predictions are on its accuracy scale
        assert (
            min(task_9983_scores) - 0.05 <= rec["predicted_score"] <= max(task_9983_scores) + 0.05
        )
        assert rec["uncertainty"] is None or rec["uncertainty"] >= 0
        similar = [e for e in rec["evidence"] if "similarity" in e]
        runs = [e for e in rec["evidence"] if "run_key" in e]
        assert similar and runs
        assert all(0 < e["similarity"] <= 1 for e in similar)
        assert all(e["run_key"].startswith("openml-pimp:6969:") for e in runs)
    configs = [json.dumps(r["config"], sort_keys=True) for r in recs]
    assert len(set(configs)) == len(configs)


@pytest.mark.realdata
def test_a_task_with_runs_gets_its_best_observed_configuration_first(
    recommended, task_9983_scores
):
    """Task 9983 has 500 runs in the store: the best of them (read from the ARFF, not the store)
    ranks first with its observed score, and the observed ones come before any prediction.
    """
    recs = recommended["recommendations"]
    first = recs[0]
    assert first["basis"] == "observed"
    assert first["predicted_score"] == pytest.approx(max(task_9983_scores), abs=1e-6)
    own = [e for e in first["evidence"] if e.get("task_id") == 9983 and "run_key" in e]
    assert own and own[0]["score"] == pytest.approx(max(task_9983_scores), abs=1e-6)
    bases = [r["basis"] for r in recs]
    assert bases == sorted(bases)  # "observed" < "predicted": no observed after a prediction
    observed = [r["predicted_score"] for r in recs if r["basis"] == "observed"]
    assert observed == sorted(observed, reverse=True)
    assert all(any(abs(o - s) < 1e-6 for s in task_9983_scores) for o in observed)
    assert any("observed" in note for note in recommended["notes"])


@pytest.mark.realdata
def test_recommendations_favour_what_scored_well_on_the_task(recommended, task_9983_scores):
    """The runs backing the top recommendations are better than the task's typical run."""
    import numpy as np

    own = [
        e["score"]
        for r in recommended["recommendations"]
        for e in r["evidence"]
        if e.get("task_id") == 9983 and "run_key" in e
    ]
    assert own, "the task's own runs are the first evidence for it"
    assert np.mean(own) > np.median(task_9983_scores)


@pytest.mark.realdata
def test_model_cache_is_lightgbm_text_and_follows_the_store(pimp_store, recommended, capsys):
    from metabase.settings import Settings

    model_dir = Settings.resolve(store=pimp_store).model_dir
    files = sorted(p.name for p in model_dir.rglob("*") if p.is_file())
    assert "surrogate.json" in files and any(f.endswith(".txt") for f in files)
    # models are LightGBM text; the one pickle is the prepared-data cache (a restricted unpickler)
    assert [f for f in files if f.endswith((".pkl", ".pickle", ".joblib"))] == [
        p.name for p in model_dir.glob("data-*.pkl")
    ]
    caches = set(model_dir.glob("data-*.pkl"))
    assert len(caches) == 1
    text = next(model_dir.rglob("model_0.txt")).read_text()
    assert text.startswith("tree")  # LightGBM's text format
    before = {p.parent.parent.name for p in model_dir.rglob("surrogate.json")}
    rc, _, _ = _run(pimp_store, "--task", "9983", "--k", "2", capsys=capsys)
    assert rc == 0
    assert {p.parent.parent.name for p in model_dir.rglob("surrogate.json")} == before  # reused

    import pandas as pd

    from metabase.store import open_writer

    with open_writer(pimp_store) as con:  # the store changes: one more run
        con.upsert(
            "runs",
            pd.DataFrame(
                {
                    "run_key": ["local:extra"],
                    "task_id": [9983],
                    "flow_id": [6969],
                    "pipeline": [RF],
                    "config": ['{"bootstrap": true}'],
                    "source": ["local"],
                    "status": ["ok"],
                }
            ),
            key=["run_key"],
        )
    rc, _, _ = _run(pimp_store, "--task", "9983", "--k", "2", capsys=capsys)
    assert rc == 0
    after = {p.parent.parent.name for p in model_dir.rglob("surrogate.json")}
    assert after and after != before  # retrained for the new state, the stale model removed
    assert (
        len(set(model_dir.glob("data-*.pkl"))) == 1 and set(model_dir.glob("data-*.pkl")) != caches
    )


@pytest.mark.realdata
def test_warm_and_tampered_caches_answer_as_a_cold_run(pimp_store, capsys):
    """The cached prepared data gives the same answer for any task; a damaged or hostile cache
    file is ignored (rebuilt), never trusted.
    """
    import pickle

    from metabase.settings import Settings

    model_dir = Settings.resolve(store=pimp_store).model_dir
    answers = []
    for task in ("3", "9983"):
        for state in ("cold", "warm", "garbage", "hostile"):
            if state == "cold":
                for path in model_dir.glob("data-*.pkl"):
                    path.unlink()
            elif state == "garbage":
                next(model_dir.glob("data-*.pkl")).write_bytes(b"not a pickle")
            elif state == "hostile":
                marker = model_dir / "pwned"
                next(model_dir.glob("data-*.pkl")).write_bytes(pickle.dumps(_Hostile(marker)))
            rc, out, _ = _run(
                pimp_store, "--task", task, "--k", "5", "--format", "json", capsys=capsys
            )
            assert rc == 0
            answers.append((task, state, json.loads(out)["recommendations"]))
        assert not (model_dir / "pwned").exists()
    for task, state, recs in answers:
        cold = next(r for t, s, r in answers if t == task and s == "cold")
        assert recs == cold, (task, state)
    assert answers[0][2] != answers[4][2]  # two tasks, two answers


class _Hostile:
    """Unpickling this would create a file: the cache loader must refuse to."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.realdata
def test_table_format_and_other_strategies(pimp_store, capsys):
    rc, out, _ = _run(pimp_store, "--task", "9983", "--k", "3", "--strategy", "knn", capsys=capsys)
    assert rc == 0 and "sklearn" in out and "9983" in out and "rank" in out
    rc, out, _ = _run(
        pimp_store,
        "--task",
        "9983",
        "--k",
        "3",
        "--strategy",
        "portfolio",
        "--pipeline",
        RF,
        "--format",
        "json",
        capsys=capsys,
    )
    assert rc == 0 and len(json.loads(out)["recommendations"]) == 3


@pytest.mark.realdata
def test_export_optuna_trials_enqueue(pimp_store, tmp_path, capsys):
    import optuna
    from ConfigSpace import (
        CategoricalHyperparameter,
        UniformFloatHyperparameter,
        UniformIntegerHyperparameter,
    )

    import pipelines

    path = tmp_path / "trials.json"
    rc, _, _ = _run(
        pimp_store,
        "--task",
        "9983",
        "--k",
        "4",
        "--strategy",
        "knn",
        "--export",
        "optuna",
        str(path),
        capsys=capsys,
    )
    assert rc == 0
    trials = json.loads(path.read_text())
    assert len(trials) == 4
    space = dict(pipelines.get(RF).space.items())

    def suggest(trial, name):
        hp = space[name]
        if isinstance(hp, CategoricalHyperparameter):
            return trial.suggest_categorical(name, list(hp.choices))
        if isinstance(hp, UniformIntegerHyperparameter):
            return trial.suggest_int(name, hp.lower, hp.upper, log=hp.log)
        if isinstance(hp, UniformFloatHyperparameter):
            return trial.suggest_float(name, hp.lower, hp.upper, log=hp.log)
        return hp.value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    for t in trials:
        study.enqueue_trial(t["params"], user_attrs=t["user_attrs"])
    for t in trials:
        trial = study.ask()
        got = {name: suggest(trial, name) for name in t["params"]}
        assert got == t["params"]
        assert trial.user_attrs["metabase_rank"] == t["user_attrs"]["metabase_rank"]
        study.tell(trial, 0.5)


@pytest.mark.realdata
def test_export_smac_initial_design_is_legal_in_the_space(pimp_store, tmp_path, capsys):
    import pipelines

    path = tmp_path / "design.json"
    rc, _, _ = _run(
        pimp_store,
        "--task",
        "9983",
        "--k",
        "3",
        "--strategy",
        "portfolio",
        "--export",
        "smac",
        str(path),
        capsys=capsys,
    )
    assert rc == 0
    design = json.loads(path.read_text())
    assert design["task_id"] == 9983
    [entry] = design["designs"]
    assert entry["pipeline"] == RF and len(entry["configurations"]) == 3
    space = pipelines.get(RF).space
    for config in entry["configurations"]:
        for name, value in config.items():
            assert space[name].legal_value(value), (name, value)


@pytest.mark.realdata
def test_recommend_for_a_local_file(pimp_store, openml_data, capsys):
    csv = openml_data / "datasets" / "eeg-eye-state" / "eeg-eye-state.csv"
    rc, out, err = _run(
        pimp_store,
        "--dataset",
        str(csv),
        "--target",
        "Class",
        "--k",
        "3",
        "--strategy",
        "knn",
        "--format",
        "json",
        capsys=capsys,
    )
    assert rc == 0, err
    answer = json.loads(out)
    assert answer["task_id"] is None and len(answer["recommendations"]) == 3
    # eeg-eye-state's own tasks (9983 is one) are in the store: its computed meta-features
    # should find a task on the same data among the most similar
    similar = [e["task_id"] for e in answer["recommendations"][0]["evidence"] if "similarity" in e]
    assert 9983 in similar[:3]


@pytest.mark.realdata
@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "999999999"], "sync --tasks 999999999"),
        (["--task", "9983", "--pipeline", "no.such.pipeline"], "not in the catalogue"),
        (
            ["--task", "9983", "--pipeline", "sklearn.svc"],
            "no usable runs for pipeline sklearn.svc",
        ),
        (["--task", "9983", "--strategy", "oracle"], "unknown strategy"),
        (["--dataset", "x.csv", "--task", "9983"], "either --task"),
    ],
)
def test_bad_input_is_one_line(pimp_store, args, message, capsys):
    rc, out, err = _run(pimp_store, *args, capsys=capsys)
    assert rc == 1 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_an_empty_store_says_what_to_import(store_path, capsys, monkeypatch):
    """Without the starter knowledge base (which otherwise stands in: tests/test_starter.py)."""
    from metabase import starter
    from metabase.store import open_writer

    monkeypatch.setattr(starter, "DATA", store_path.parent / "no-starter")
    open_writer(store_path).close()
    rc = main(["--store", str(store_path), "--offline", "recommend", "--task", "9983"])
    err = capsys.readouterr().err
    assert rc == 1 and "no runs" in err and "metabase import" in err


@pytest.mark.realdata
def test_recommend_a_task_fetched_from_openml(pimp_store, replay_server, tmp_path, capsys):
    """Task 14951 is not in the store: its dataset (eeg-eye-state) comes through the gateway from
    the replay server and its meta-features are computed. Task 9983 is the same dataset, so it
    must be among the most similar tasks.
    """
    import shutil

    store = tmp_path / "store.duckdb"
    shutil.copy(pimp_store, store)
    rc = main(
        [
            "--store",
            str(store),
            "--openml-server",
            replay_server.url,
            "recommend",
            "--task",
            "14951",
            "--k",
            "3",
            "--strategy",
            "knn",
            "--format",
            "json",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    answer = json.loads(captured.out)
    assert answer["task_id"] == 14951 and len(answer["recommendations"]) == 3
    similar = [e["task_id"] for e in answer["recommendations"][0]["evidence"] if "similarity" in e]
    assert 9983 in similar[:3]


def test_a_store_with_one_task_says_more_tasks_are_needed(store_path, capsys):
    import pandas as pd

    from metabase.store import open_writer

    keys = [f"local:{i}" for i in range(4)]
    with open_writer(store_path) as con:
        con.append(
            "runs",
            pd.DataFrame(
                {
                    "run_key": keys,
                    "task_id": 7,
                    "flow_id": 1,
                    "pipeline": "flow-1",
                    "config": [f'{{"a": {i}}}' for i in range(4)],
                    "source": "local",
                    "status": "ok",
                }
            ),
        )
        con.append(
            "evaluations",
            pd.DataFrame(
                {
                    "run_key": keys,
                    "measure": "predictive_accuracy",
                    "value": [0.1, 0.2, 0.3, 0.4],
                    "source": "local",
                }
            ),
        )
    rc = main(["--store", str(store_path), "--offline", "recommend", "--task", "7"])
    err = capsys.readouterr().err
    assert rc == 1 and "fewer than 2 tasks" in err and len(err.strip().splitlines()) == 1


def test_only_runnable_pipelines_are_recommended_by_default():
    from metabase.recommend.candidates import candidates as _candidates

    class _Prepared:
        runs = pd.DataFrame(
            {
                "task_id": [1, 1, 2],
                "pipeline": ["sklearn.random_forest", "flow-2066", "flow-2066"],
                "norm": [0.5, 1.0, 1.0],
                "key": ["a", "b", "c"],
            }
        )
        configs = [{"n_estimators": 100}, {}, {}]

    class _Space:
        def sample(self, n, seed):
            return []

    pipes, _, _ = _candidates(
        _Prepared(), {"sklearn.random_forest": _Space()}, 0, 0, None, runnable_only=True
    )
    assert set(pipes) == {"sklearn.random_forest"}
    pipes, _, _ = _candidates(
        _Prepared(), {"sklearn.random_forest": _Space()}, 0, 0, None, runnable_only=False
    )
    assert set(pipes) == {"sklearn.random_forest", "flow-2066"}
