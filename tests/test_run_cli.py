"""``metabase run`` against the replay server: credit-g (task 31) and tecator (task 359934).

Every store of this module lives in one folder, so they share the openml cache beside them and
each task's data is downloaded once.
"""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from cli.main import main

pytestmark = pytest.mark.realdata
logging.getLogger("openml").setLevel(logging.ERROR)

CREDIT_G, TECATOR, NO_DATA = 31, 359934, 3  # task 3's dataset (kr-vs-kp) has no data file here
RF = "sklearn.random_forest"
SMALL = '{"n_estimators": 16, "max_features": 0.3}'


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("run-cli")


@pytest.fixture
def cli(replay_server, folder, capsys):
    """``cli(store_name, *args)`` -> (exit code, stdout, stderr) of ``metabase run``."""

    def call(store: str, *args: str):
        code = main(
            [
                "--store",
                str(folder / store),
                "--openml-server",
                replay_server.url,
                "--apikey",
                "k",
                "run",
                *args,
            ]
        )
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def _json(out: str) -> list[dict]:
    return json.loads(out)


def test_one_configuration_then_the_same_again_then_forced(cli, folder):
    code, out, _ = cli(
        "one.duckdb",
        "--task",
        str(CREDIT_G),
        "--pipeline",
        RF,
        "--config",
        SMALL,
        "--fidelity",
        "n_estimators=8",
        "--format",
        "json",
    )
    assert code == 0
    (first,) = _json(out)
    assert (first["status"], first["reused"], first["seed"], first["measure"]) == (
        "ok",
        False,
        0,
        "predictive_accuracy",
    )
    assert (
        first["config"]["max_features"] == 0.3 and first["config"]["criterion"] == "gini"
    )  # defaults filled
    assert 0.5 < first["mean"] < 1 and first["std"] > 0
    code, out, _ = cli(
        "one.duckdb",
        "--task",
        str(CREDIT_G),
        "--pipeline",
        RF,
        "--config",
        SMALL,
        "--fidelity",
        "n_estimators=8",
        "--format",
        "json",
    )
    (again,) = _json(out)
    assert code == 0 and again["reused"] and again["run_key"] == first["run_key"]
    code, out, _ = cli(
        "one.duckdb",
        "--task",
        str(CREDIT_G),
        "--pipeline",
        RF,
        "--config",
        SMALL,
        "--fidelity",
        "n_estimators=8",
        "--force",
        "--format",
        "json",
    )
    (forced,) = _json(out)
    assert (
        code == 0
        and not forced["reused"]
        and forced["seed"] == 1
        and forced["run_key"] != first["run_key"]
    )
    from metabase.store import open_reader

    with open_reader(folder / "one.duckdb") as con:
        assert con.scalar("SELECT count(*) FROM runs WHERE source = 'local'") == 2
        # 1,000 rows of credit-g, each predicted once per run
        assert (
            con.scalar("SELECT count(*) FROM predictions WHERE run_key = ?", [first["run_key"]])
            == 1000
        )
        assert (
            con.scalar(
                "SELECT dataset_name FROM run_configs WHERE run_key = ?", [first["run_key"]]
            )
            == "credit-g"
        )


def test_a_regression_task_on_two_workers(cli, folder):
    code, out, _ = cli(
        "reg.duckdb",
        "--task",
        str(TECATOR),
        "--pipeline",
        "sklearn.decision_tree_regressor",
        "--sample",
        "3",
        "--seed",
        "4",
        "--workers",
        "2",
        "--format",
        "json",
    )
    rows = _json(out)
    assert code == 0 and [r["status"] for r in rows] == ["ok"] * 3
    assert {r["measure"] for r in rows} == {"mean_absolute_error"}
    from metabase.store import open_reader

    with open_reader(folder / "reg.duckdb") as con:
        for row in rows:  # the mean over folds, recomputed from the stored predictions
            per_fold = con.df(
                "SELECT fold, avg(abs(CAST(prediction AS DOUBLE) - CAST(correct AS DOUBLE))) "
                "AS mae "
                "FROM predictions WHERE run_key = ? GROUP BY fold",
                [row["run_key"]],
            )
            assert len(per_fold) == 10 and row["mean"] == pytest.approx(per_fold["mae"].mean())


def test_configs_file_of_json_lines_and_an_optuna_export(cli, folder):
    lines = folder / "configs.jsonl"
    lines.write_text(
        json.dumps({"pipeline": RF, "config": {"n_estimators": 16}})
        + "\n"
        + json.dumps({"pipeline": "sklearn.decision_tree", "config": {"max_depth": 2}})
        + "\n"
    )
    optuna = folder / "optuna.json"
    optuna.write_text(
        json.dumps(
            [
                {
                    "params": {"max_depth": 4},
                    "user_attrs": {"metabase_pipeline": "sklearn.decision_tree"},
                }
            ]
        )
    )
    code, out, _ = cli(
        "files.duckdb", "--task", str(CREDIT_G), "--configs", str(lines), "--format", "json"
    )
    assert code == 0 and [r["pipeline"] for r in _json(out)] == [RF, "sklearn.decision_tree"]
    code, out, _ = cli(
        "files.duckdb", "--task", str(CREDIT_G), "--configs", str(optuna), "--format", "json"
    )
    (row,) = _json(out)
    assert code == 0 and row["config"]["max_depth"] == 4 and row["status"] == "ok"


# ------------------------------------------------------------ bad input: one line, store unchanged
BAD = [
    (["--task", "999999999", "--pipeline", RF], "unknown task 999999999"),
    (["--task", str(CREDIT_G), "--pipeline", "sklearn.no_such"], "no pipeline 'sklearn.no_such'"),
    (
        ["--task", str(CREDIT_G), "--pipeline", RF, "--config", '{"depth": 3}'],
        "unknown hyperparameter(s) depth",
    ),
    (
        ["--task", str(CREDIT_G), "--pipeline", RF, "--config", '{"max_features": 3}'],
        "a number in [0.05, 1]",
    ),
    (
        ["--task", str(CREDIT_G), "--pipeline", RF, "--config", '{"max_features": 0.3'],
        "--config is not valid JSON",
    ),
    (
        ["--task", str(TECATOR), "--pipeline", RF],
        "is a classification pipeline and task 359934 is a regression task",
    ),
    (["--task", str(NO_DATA), "--pipeline", RF], "cannot fetch the data or splits of task 3"),
    (
        ["--task", str(CREDIT_G), "--pipeline", RF, "--time-limit", "0"],
        "--time-limit must be a positive number",
    ),
    (
        ["--task", str(CREDIT_G), "--pipeline", RF, "--memory-limit", "-5"],
        "--memory-limit must be a positive number",
    ),
    (
        ["--task", str(CREDIT_G), "--pipeline", RF, "--workers", "0"],
        "--workers must be a positive number",
    ),
    (
        [
            "--task",
            str(CREDIT_G),
            "--pipeline",
            RF,
            "--executor",
            "ray",
            "--ray-address",
            "127.0.0.1:9",
        ],
        "no Ray cluster answers at 127.0.0.1:9",
    ),
]


def _digest(path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(scope="module")
def existing_store(folder):
    from metabase.store import open_writer

    path = folder / "existing.duckdb"
    open_writer(path).close()
    return path


@pytest.mark.parametrize(
    "args,message", BAD, ids=[m.split(" ")[0] + str(i) for i, (_, m) in enumerate(BAD)]
)
def test_bad_input_is_one_line_and_leaves_the_store_unchanged(
    cli, folder, existing_store, args, message
):
    before = _digest(existing_store)
    code, out, err = cli(existing_store.name, *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and out == "" and lines == [lines[-1]] and lines[0].startswith("error: ")
    assert message in lines[0]
    assert _digest(existing_store) == before
    code, _, _ = cli("absent.duckdb", *args)
    assert code == 1 and not (folder / "absent.duckdb").exists()


def test_ray_executor_without_ray_names_the_extra(cli, existing_store, monkeypatch):
    import sys

    monkeypatch.setitem(
        sys.modules, "ray", None
    )  # import ray now fails as if it were not installed
    before = _digest(existing_store)
    code, _, err = cli(
        existing_store.name, "--task", str(CREDIT_G), "--pipeline", RF, "--executor", "ray"
    )
    assert code == 1 and "pip install 'metabase[ray]'" in err and _digest(existing_store) == before


@pytest.mark.slow
def test_recommended_configurations_are_run(replay_server, folder, openml_data, capsys):
    """The top 2 of ``recommend`` for credit-g, from a store holding openml-pimp's runs."""
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    store = folder / "pimp.duckdb"
    Workspace(Settings.resolve(store=store, offline=True)).import_(
        "openml-pimp", openml_data / "openml-pimp/KDD2018/data/arff/random_forest.arff"
    )
    base = ["--store", str(store), "--openml-server", replay_server.url, "--apikey", "k"]
    assert main([*base, "recommend", "--task", str(CREDIT_G), "--k", "2", "--format", "json"]) == 0
    expected = [r["config"] for r in json.loads(capsys.readouterr().out)["recommendations"]]
    assert (
        main(
            [
                *base,
                "run",
                "--task",
                str(CREDIT_G),
                "--recommended",
                "2",
                "--fidelity",
                "n_estimators=8",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = _json(capsys.readouterr().out)
    assert [r["config"] for r in rows] == expected and {r["status"] for r in rows} == {"ok"}
