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
