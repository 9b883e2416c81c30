"""``metabase publish`` against the replay server: runs read back with the real openml client,
server evaluations (computed by the server from the predictions) equal to the local ones, bad
input refused before anything is sent, and the API key found nowhere.
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from cli.main import main

pytestmark = pytest.mark.realdata
logging.getLogger("openml").setLevel(logging.ERROR)

CREDIT_G = 31
RF = "sklearn.random_forest"
KEY = "KEY-4f1b9c2e7d0a-recognisable"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("publish")


@pytest.fixture
def server(replay_factory):
    return replay_factory()


@pytest.fixture
def cli(folder, capsys, monkeypatch):
    monkeypatch.setenv("METABASE_OPENML_BACKOFF_S", "0.01")

    def call(server, store, *args, key=KEY):
        argv = ["--store", str(folder / store), "--openml-server", server.url]
        code = main(argv + (["--apikey", key] if key else []) + list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def _stored(folder, store, sql, params=None):
    from metabase.store import open_reader

    with open_reader(folder / store) as con:
        return con.execute(sql, params).fetchall()


def _openml(server):
    import openml

    openml.config.server = server.url
    return openml


def test_random_forest_runs_publish_and_read_back_with_openml_client(
    server, cli, folder, tmp_path
):
    code, out, _ = cli(
        server,
        "rf.duckdb",
        "run",
        "--task",
        str(CREDIT_G),
        "--pipeline",
        RF,
        "--sample",
        "2",
        "--fidelity",
        "n_estimators=4",
        "--format",
        "json",
    )
    assert code == 0
    keys = [r["run_key"] for r in json.loads(out)]
    code, out, err = cli(
        server, "rf.duckdb", "publish", "--all", "--tag", "study_x", "--format", "json"
    )
    assert code == 0, err
    rows = {r["run_key"]: r for r in json.loads(out)}
    assert set(rows) == set(keys) and {r["state"] for r in rows.values()} == {"published"}
    openml = _openml(server)
    openml.config.set_root_cache_directory(str(tmp_path / "cache"))
    for key in keys:
        run = openml.runs.get_run(rows[key]["openml_run_id"], ignore_cache=True)
        assert run.task_id == CREDIT_G and "metabase" in run.tags and "study_x" in run.tags
        flow = openml.flows.get_flow(run.flow_id)
        assert flow.name.startswith("sklearn.pipeline.Pipeline")
        setup = openml.setups.get_setup(run.setup_id)
        assert setup.flow_id == run.flow_id and setup.parameters
        local = _stored(
            folder,
            "rf.duckdb",
            'SELECT measure, "repeat", fold, value FROM evaluations '
            "WHERE run_key = ? AND fold IS NOT NULL",
            [key],
        )
        checked = 0
        for measure, rep, fold, value in local:
            if measure in run.fold_evaluations:
                assert run.fold_evaluations[measure][rep][fold] == pytest.approx(
                    value, abs=1e-9
                ), measure
                checked += 1
        assert checked >= 10 * 4  # accuracy, AUC, f-measure and kappa of each of the 10 folds
        aggregate = dict(
            _stored(
                folder,
                "rf.duckdb",
                "SELECT measure, value FROM evaluations WHERE run_key = ? AND fold IS NULL",
                [key],
            )
        )
        for measure in ("predictive_accuracy", "area_under_roc_curve", "kappa", "f_measure"):
            assert run.evaluations[measure] == pytest.approx(aggregate[measure], abs=1e-9), measure
    stored = dict(_stored(folder, "rf.duckdb", "SELECT run_key, openml_run_id FROM runs"))
    assert {k: stored[k] for k in keys} == {k: rows[k]["openml_run_id"] for k in keys}
    # publishing again sends nothing new
    before = len(server.state.uploaded_runs)
    code, out, _ = cli(server, "rf.duckdb", "publish", "--all", "--format", "json")
    assert code == 0 and {r["state"] for r in json.loads(out)} == {"already published"}
    assert len(server.state.uploaded_runs) == before


def _snapshot(folder, store):
    return (
        _stored(folder, store, "SELECT run_key, openml_run_id FROM runs ORDER BY run_key"),
        _stored(folder, store, "SELECT * FROM publish_outbox ORDER BY run_key"),
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run-key", "local:nope"], "unknown run key"),
        (["--all", "--tag", "bad tag!"], "invalid tag"),
        (["--all", "--tag", "x" * 129], "invalid tag"),
        (["--all", "NOKEY"], "no OpenML API key"),
    ],
)
def test_bad_input_sends_nothing_and_leaves_the_store_unchanged(
    server, cli, folder, args, message, monkeypatch
):
    monkeypatch.delenv("METABASE_OPENML_APIKEY", raising=False)
    monkeypatch.setattr("metabase.settings._apikey_from_openml_config", lambda: None)
    store = "bad.duckdb"
    if not (folder / store).exists():
        assert (
            cli(
                server,
                store,
                "run",
                "--task",
                str(CREDIT_G),
                "--pipeline",
                RF,
                "--fidelity",
                "n_estimators=2",
            )[0]
            == 0
        )
    before, requests = _snapshot(folder, store), len(server.state.uploaded_runs)
    nokey = "NOKEY" in args
    code, out, err = cli(
        server, store, "publish", *[a for a in args if a != "NOKEY"], key=None if nokey else KEY
    )
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
    assert _snapshot(folder, store) == before and len(server.state.uploaded_runs) == requests


def test_a_refused_key_is_one_line_per_run_and_nothing_is_marked_done(
    replay_factory, cli, folder, monkeypatch
):
    server = replay_factory()
    store = "refused.duckdb"
    assert (
        cli(
            server,
            store,
            "run",
            "--task",
            str(CREDIT_G),
            "--pipeline",
            RF,
            "--fidelity",
            "n_estimators=2",
        )[0]
        == 0
    )
    import metabase.openml.upload as upload

    def refuse(self, description, predictions):  # the server's answer to a key it does not know
        body = (
            b'<oml:error xmlns:oml="http://openml.org/openml"><oml:code>103</oml:code>'
            b"<oml:message>Authentication failed</oml:message></oml:error>"
        )
        return 412, body, None, None

    monkeypatch.setattr(upload.Uploader, "_post", refuse)
    code, out, err = cli(server, store, "publish", "--all", "--format", "json")
    (row,) = json.loads(out)
    assert (
        code == 1
        and row["state"] == "failed"
        and row["reason"] == "the server refused the API key"
    )
    assert _stored(folder, store, "SELECT count(openml_run_id) FROM runs") == [(0,)]
    assert len(server.state.uploaded_runs) == 0


def _recent_cache_files():
    """The openml cache the runs and the publish wrote into (the settings' default folder)."""
    import time

    from metabase.settings import Settings

    root = Settings().cache_dir
    cutoff = time.time() - 120
    return (
        [p for p in root.rglob("*") if p.is_file() and p.stat().st_mtime > cutoff]
        if root.exists()
        else []
    )


def test_the_api_key_is_nowhere(server, cli, folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    store = "leak.duckdb"
    printed = []
    for args in (
        ["run", "--task", str(CREDIT_G), "--pipeline", RF, "--fidelity", "n_estimators=2"],
        ["publish", "--all", "--format", "json"],
        ["publish", "--all"],
        ["publish", "--run-key", "local:nope"],
    ):
        code, out, err = cli(server, store, *args)
        printed += [out, err]
    assert any("published" in p for p in printed)
    assert not any(KEY in p for p in printed)
    written = (
        [p for p in folder.rglob("*") if p.is_file() and p.name.startswith("leak")]
        + [p for p in (tmp_path / "home").rglob("*") if p.is_file()]
        + _recent_cache_files()
    )
    assert any(p.name == store for p in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    "pipeline, fidelity", [("lightgbm", "n_estimators=4"), ("torch.mlp", "epochs=1")]
)
def test_catalogue_flows_for_lightgbm_and_torch(server, cli, folder, tmp_path, pipeline, fidelity):
    store = f"{pipeline}.duckdb"
    code, out, err = cli(
        server,
        store,
        "run",
        "--task",
        str(CREDIT_G),
        "--pipeline",
        pipeline,
        "--fidelity",
        fidelity,
        "--format",
        "json",
    )
    assert code == 0, err
    (ran,) = json.loads(out)
    assert ran["status"] == "ok", ran
    code, out, err = cli(server, store, "publish", "--run-key", ran["run_key"], "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    openml = _openml(server)
    openml.config.set_root_cache_directory(str(tmp_path / "cache"))
    run = openml.runs.get_run(row["openml_run_id"], ignore_cache=True)
    flow = openml.flows.get_flow(run.flow_id)
    import pipelines

    defaults = pipelines.get(pipeline).default_config()
    assert flow.name == f"metabase.{pipeline}"
    assert set(flow.parameters) == set(defaults)
    assert {k: json.loads(v) for k, v in flow.parameters.items()} == defaults
    library = "lightgbm" if pipeline == "lightgbm" else "torch"
    from importlib import metadata

    assert f"{library}=={metadata.version(library)}" in flow.dependencies
    assert "metabase run --pipeline" in flow.description
    setup = openml.setups.get_setup(run.setup_id)
    config = json.loads(
        _stored(folder, store, "SELECT config FROM runs WHERE run_key = ?", [ran["run_key"]])[0][0]
    )
    assert {p.parameter_name: json.loads(p.value) for p in setup.parameters.values()} == config
    aggregate = dict(
        _stored(
            folder,
            store,
            "SELECT measure, value FROM evaluations WHERE run_key = ? AND fold IS NULL",
            [ran["run_key"]],
        )
    )
    assert run.evaluations["predictive_accuracy"] == pytest.approx(
        aggregate["predictive_accuracy"], abs=1e-9
    )


def _run_and_publish(server, cli, store):
    """``metabase run ... --publish`` of one small random forest on credit-g: (exit code, row)."""
    code, out, _ = cli(
        server,
        store,
        "run",
        "--task",
        str(CREDIT_G),
        "--pipeline",
        RF,
        "--fidelity",
        "n_estimators=2",
        "--publish",
        "--format",
        "json",
    )
    (row,) = json.loads(out)
    return code, row


def test_run_publish_then_dry_run_and_include_failed(server, cli, folder, tmp_path, monkeypatch):
    store = "flags.duckdb"
    code, row = _run_and_publish(server, cli, store)
    assert code == 0 and row["openml_run_id"] in server.state.uploaded_runs
    # a crashed run: an impossible memory limit
    code, out, _ = cli(
        server,
        store,
        "run",
        "--task",
        str(CREDIT_G),
        "--pipeline",
        RF,
        "--seed",
        "9",
        "--memory-limit",
        "1M",
        "--format",
        "json",
    )
    (crashed,) = json.loads(out)
    assert crashed["status"] != "ok"
    # --dry-run: files written and valid, nothing sent
    sent = len(server.state.uploaded_runs)
    monkeypatch.setenv("METABASE_OPENML_XSD", "/work/shared/openml-data/openml-server/xsd")
    code, out, err = cli(
        server,
        store,
        "publish",
        "--run-key",
        crashed["run_key"],
        "--include-failed",
        "--dry-run",
        "--out",
        str(tmp_path / "dry"),
        "--format",
        "json",
    )
    assert code == 0, err
    folder_ = tmp_path / "dry" / crashed["run_key"].replace(":", "_")
    assert (folder_ / "description.xml").exists() and (folder_ / "flow.xml").exists()
    assert not (folder_ / "predictions.arff").exists() and len(server.state.uploaded_runs) == sent
    import xmlschema

    xmlschema.XMLSchema(
        "/work/shared/openml-data/openml-server/xsd/openml.run.upload.xsd"
    ).validate(str(folder_ / "description.xml"))
    # without --include-failed the failed run is refused by name; with it, it is published with its
    # error
    code, _, err = cli(server, store, "publish", "--run-key", crashed["run_key"])
    assert code == 1 and "--include-failed" in err
    code, out, err = cli(server, store, "publish", "--all", "--include-failed", "--format", "json")
    rows = {r["run_key"]: r for r in json.loads(out)}
    assert code == 0, err
    assert rows[crashed["run_key"]]["state"] == "published"
    text = server.state.uploaded_runs[rows[crashed["run_key"]]["openml_run_id"]]
    assert "<oml:name>predictions</oml:name>" not in text


def test_a_sync_after_publishing_keeps_the_local_run_as_the_one_row(server, cli, folder):
    store = "sync.duckdb"
    code, row = _run_and_publish(server, cli, store)
    assert code == 0 and row["openml_run_id"]
    code, _, err = cli(
        server, store, "sync", "--tasks", str(CREDIT_G), "--since", time.strftime("%Y-%m-%d")
    )
    assert code == 0, err
    rows = _stored(
        folder,
        store,
        "SELECT run_key, source FROM runs WHERE openml_run_id = ?",
        [row["openml_run_id"]],
    )
    assert rows == [(row["run_key"], "local")]
