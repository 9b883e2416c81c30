"""What the bot keeps, and its safe paths: published runs' predictions are pruned after the
retention period (unpublished ones never), ``metabase status --plot``, a corrupt model cache, a
deleted log file and a full disk.
"""

from __future__ import annotations

import pytest

from metabase.bot.loop import Bot, BotOptions
from metabase.services.bot import BotSession
from metabase.settings import Settings
from metabase.testing import faulty
from metabase.workspace import Workspace


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setattr(
        BotSession, "task_data", lambda self, t: faulty.synthetic_task(n=60, folds=3, task_id=t)
    )
    return Workspace(Settings.resolve(store=tmp_path / "bot.duckdb", offline=True))


def _rows(ws, sql: str, params=None) -> list[tuple]:
    from metabase.store import open_reader

    with open_reader(ws.store_path) as con:
        return con.execute(sql, params or []).fetchall()


def _write(ws, sql: str, params=None) -> None:
    from metabase.store import open_writer

    with open_writer(ws.store_path) as con:
        con.execute(sql, params or [])


def _options(**kw) -> BotOptions:
    base = {"tasks": (1, 2), "pipelines": ("sklearn.decision_tree",), "workers": 2}
    return BotOptions(**{**base, **kw})


def _with_predictions(ws) -> set[str]:
    return {r[0] for r in _rows(ws, "SELECT DISTINCT run_key FROM predictions")}


def test_published_runs_lose_their_predictions_after_the_retention_period(ws):
    assert Bot(ws, _options(max_runs=4)).run().runs == 4
    keys = [r[0] for r in _rows(ws, "SELECT run_key FROM bot_jobs ORDER BY job_id")]
    assert _with_predictions(ws) == set(keys)  # 60 rows, 3 folds: every run has predictions
    old, old_unpublished, recent, stored = keys
    measures = _rows(ws, "SELECT run_key, count(*) FROM evaluations GROUP BY ALL ORDER BY 1")
    # published 40 days ago; stored 40 days ago but never published; published yesterday
    _write(
        ws,
        "UPDATE bot_jobs SET state = 'published', published_at = now() - INTERVAL 40 DAY "
        "WHERE run_key = ?",
        [old],
    )
    _write(
        ws,
        "UPDATE bot_jobs SET finished_at = now() - INTERVAL 40 DAY WHERE run_key = ?",
        [old_unpublished],
    )
    _write(
        ws,
        "UPDATE bot_jobs SET state = 'published', published_at = now() - INTERVAL 1 DAY "
        "WHERE run_key = ?",
        [recent],
    )

    assert Bot(ws, _options(max_runs=1, keep_predictions_days=30)).run().runs == 1
    kept = _with_predictions(ws)
    assert old not in kept
    assert {old_unpublished, recent, stored} <= kept and len(kept) == 4  # and the new run's
    after = _rows(ws, "SELECT run_key, count(*) FROM evaluations GROUP BY ALL ORDER BY 1")
    assert [m for m in after if m[0] in keys] == measures  # the measures stay
    assert _rows(ws, "SELECT count(*) FROM runs WHERE run_key = ?", [old]) == [(1,)]

    # a retention of 0 days drops the yesterday-published run's too, never the unpublished
    assert Bot(ws, _options(max_runs=1, keep_predictions_days=0)).run().runs == 1
    kept = _with_predictions(ws)
    assert recent not in kept and {old_unpublished, stored} <= kept


def test_a_negative_retention_is_refused(ws):
    from metabase.errors import InputError

    with pytest.raises(InputError, match="--keep-predictions"):
        Bot(ws, _options(max_runs=1, keep_predictions_days=-1))


def test_status_plot_writes_a_png_of_runs_and_best_scores_over_time(ws, tmp_path):
    assert Bot(ws, _options(max_runs=4)).run().runs == 4
    path = tmp_path / "out" / "bot.png"
    report = ws.bot_status(plot=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    drawn = report["plot"]
    statuses = _rows(
        ws, "SELECT r.status, count(*) FROM bot_jobs JOIN runs r USING (run_key) GROUP BY ALL"
    )
    assert {s: sum(n for _, n in points) for s, points in drawn["runs"].items()} == dict(statuses)
    # the best per task is non-decreasing and ends at the task's best score
    best = dict(_rows(ws, "SELECT task_id, max(signed_score) FROM run_configs GROUP BY ALL"))
    assert set(drawn["best"]) == {r[0] for r in _rows(ws, "SELECT DISTINCT task_id FROM bot_jobs")}
    for task, points in drawn["best"].items():
        scores = [b for _, b in points]
        assert scores == sorted(scores) and scores[-1] == pytest.approx(best[task])


def test_status_plot_from_the_command(ws, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cli.main import cli

    assert Bot(ws, _options(max_runs=2)).run().runs == 2
    monkeypatch.setenv("METABASE_STORE", str(ws.store_path))
    path = tmp_path / "status.png"
    result = CliRunner().invoke(cli, ["status", "--plot", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:4] == b"\x89PNG"
    bad = CliRunner().invoke(cli, ["status", "--plot", str(tmp_path / "status.txt")])
    assert bad.exit_code != 0 and "not an image format" in str(bad.exception)


# -- safe paths -----------------------------------------------------------------------------------
def _corrupt_caches(ws) -> list:
    models = ws.settings.model_dir
    hit = [*models.glob("data-*.pkl"), *models.glob("default-*/surrogate/model_0.txt")]
    for path in hit:
        path.write_bytes(b"\x00garbage, as a full disk or a crash mid-write leaves it")
    return hit


def test_a_corrupt_model_cache_is_one_warning_and_a_retrain(ws, caplog):
    import logging

    from metabase.services import caches
    from metabase.services.bot_retrain import Retrain, retrain

    assert Bot(ws, _options(tasks=(1, 2, 3), max_runs=6)).run().runs == 6
    key = retrain(ws)
    assert len(_corrupt_caches(ws)) == 2  # the prepared data and the model

    with caplog.at_level(logging.WARNING, logger="metabase"):
        assert retrain(ws) == key  # the same store state: the corrupt caches are read
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2, warned
    assert any("prepared-data cache" in w and "rebuilding" in w for w in warned)
    assert any("model cache" in w and "retraining" in w for w in warned)
    assert caches.load(next(ws.settings.model_dir.glob("data-*.pkl"))) is not None
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="metabase"):
        retrain(ws)  # rebuilt whole: read without a word
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    # the bot's background retrain does the same, and hands the warning lines to the bot's log
    _corrupt_caches(ws)
    proc = Retrain.start(ws.settings)
    proc.wait(120)
    assert proc.poll() == 0, proc.error()
    lines = proc.warnings()
    proc.stop()
    assert len(lines) == 2 and all(line.startswith("WARNING metabase") for line in lines)


@pytest.fixture
def bot_log(tmp_path):
    import logging

    from metabase.bot.logs import setup_logging

    path = setup_logging(tmp_path / "bot.duckdb")
    yield path
    logger = logging.getLogger("metabase")
    for handler in [h for h in logger.handlers if getattr(h, "_metabase_bot", False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True


def test_a_deleted_log_file_is_started_again_with_one_line(bot_log):
    import logging

    log = logging.getLogger("metabase.bot")
    log.info("before")
    bot_log.unlink()
    log.info("after the first")
    log.info("after the second")
    lines = bot_log.read_text().splitlines()
    assert len(lines) == 3 and "was deleted" in lines[0] and str(bot_log) in lines[0]
    assert lines[1].endswith("after the first") and lines[2].endswith("after the second")


def test_a_deleted_runs_folder_is_made_again_and_the_runs_go_on(caplog):
    import logging
    import shutil

    from metabase.runner.local import LocalExecutor
    from metabase.testing.executor_contract import request

    data = faulty.synthetic_task(n=60, folds=3)
    with LocalExecutor(workers=1) as pool:
        shutil.rmtree(pool._dir)
        with caplog.at_level(logging.WARNING, logger="metabase"):
            for depth in (2, 3):
                pool.submit(request("sklearn.decision_tree", {"max_depth": depth}), data)
            results = list(pool.results())
    assert [r.status for r in results] == ["ok", "ok"]
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1 and "was deleted" in warned[0]


@pytest.mark.parametrize("kind", ["oserror", "duckdb"])
def test_a_full_disk_stops_the_bot_with_one_line_and_a_restart_recovers(
    ws, monkeypatch, caplog, kind
):
    import errno
    import logging

    import duckdb

    from metabase.errors import StoreWriteError
    from metabase.store import runs

    real = runs.write_results
    failed = []

    def full(con, results, executor):
        real(con, results, executor)  # written, then the commit's room runs out
        failed.extend(r.run_key for r in results)
        if kind == "oserror":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise duckdb.IOException("Could not write file: No space left on device")

    monkeypatch.setattr(runs, "write_results", full)
    with (
        caplog.at_level(logging.WARNING, logger="metabase"),
        pytest.raises(StoreWriteError) as err,
    ):
        Bot(ws, _options(max_runs=4)).run()
    assert "No space left on device" in str(err.value)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "No space left on device" in errors[0], errors
    assert failed[0] in errors[0]
    # rolled back: neither the run nor its job's new state; every job is back to proposed
    assert _rows(ws, "SELECT count(*) FROM runs WHERE run_key = ?", [failed[0]]) == [(0,)]
    assert {s for (s,) in _rows(ws, "SELECT state FROM bot_jobs")} == {"proposed"}
    stop = _rows(ws, "SELECT stopped_at IS NOT NULL, stop_reason FROM bot_registry")
    assert stop[0][0] and "the store refused a result" in stop[0][1]

    monkeypatch.setattr(runs, "write_results", real)  # room again
    summary = Bot(ws, _options(max_runs=4)).run()
    assert summary.runs == 4 and summary.stopped == "done"
    stored = _rows(ws, "SELECT run_key FROM runs WHERE source = 'local'")
    assert len(stored) == 4 == len(set(stored)) and (failed[0],) in stored  # run again, once


def test_the_command_exits_1_on_a_full_disk(ws, monkeypatch, capsys, bot_log):
    import errno

    from cli.main import main
    from metabase.store import runs

    def full(con, results, executor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "write_results", full)
    monkeypatch.setenv("METABASE_STORE", str(ws.store_path))
    monkeypatch.setenv("METABASE_OFFLINE", "1")
    code = main(["bot", "--tasks", "1", "--pipeline", "sklearn.decision_tree", "--max-runs", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert "the store refused a result" in err and "No space left on device" in err
