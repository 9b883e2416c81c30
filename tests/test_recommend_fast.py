"""The warm ``recommend`` path: the prepared data cached without pandas and read through a memory
map, numpy stand-ins for what pandas did, and an answer identical to the uncached one.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metabase.recommend.base import average_ranks
from metabase.recommend.candidates import order_note
from metabase.recommend.data import Prepared, TextColumn
from metabase.recommend.records import Recommendation
from metabase.services import caches
from metabase.testing.strategy_contract import shifted_optimum

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("seed", range(5))
def test_average_ranks_are_pandas_average_ranks(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6, 40).astype(float)  # many ties
    values[rng.random(40) < 0.1] = np.nan
    expected = pd.Series(values).rank(method="average").to_numpy()
    np.testing.assert_array_equal(average_ranks(values), expected)


def test_a_text_column_reads_like_the_strings_it_packs():
    values = np.array(["a", "", "ünï", '{"x": 1}', "zz"], dtype=object)
    column = TextColumn.pack(values)
    assert isinstance(column, TextColumn) and len(column) == 5
    assert [column[i] for i in range(5)] == list(values) and column[-1] == "zz"
    assert list(column[np.array([4, 0])]) == ["zz", "a"] and list(column) == list(values)
    assert list(np.asarray(column)) == list(values)
    with_none = np.array(["a", None], dtype=object)
    assert TextColumn.pack(with_none) is with_none  # not all strings: left as it is


@pytest.fixture
def prepared() -> Prepared:
    runs, tasks, _ = shifted_optimum(n_tasks=6, n_runs=12)
    runs["run_key"] = [f"toy:{i}" for i in range(len(runs))]
    runs["openml_run_id"] = pd.array([i if i % 3 else None for i in range(len(runs))], "Int64")
    return Prepared.build(runs, tasks)


def test_the_cached_prepared_data_rebuilds_the_same_frames(prepared, tmp_path):
    path = tmp_path / "data-x.pkl"
    caches.save(path, prepared)
    loaded = caches.load(path)
    assert "runs" not in vars(loaded)  # rebuilt only when asked for
    assert loaded.feature_columns == list(prepared.features.columns)
    np.testing.assert_array_equal(loaded.column("norm"), prepared.runs["norm"].to_numpy())
    assert loaded.column("run_key")[3] == "toy:3" and loaded.column("openml_run_id")[0] is None
    pd.testing.assert_frame_equal(loaded.runs, prepared.runs)
    pd.testing.assert_frame_equal(loaded.features, prepared.features)
    pd.testing.assert_frame_equal(loaded.scaled, prepared.scaled)
    assert list(loaded.configs) == prepared.configs
    np.testing.assert_array_equal(loaded.dist, prepared.dist)
    assert not loaded.dist.flags.writeable  # read through the map, never copied


def test_prepared_data_read_from_a_cache_can_be_cached_again(prepared, tmp_path):
    """`tune` caches the prepared data it may itself have read from recommend's cache."""
    caches.save(tmp_path / "a.pkl", prepared)
    caches.save(tmp_path / "b.pkl", caches.load(tmp_path / "a.pkl"))
    twice = caches.load(tmp_path / "b.pkl")
    pd.testing.assert_frame_equal(twice.runs, prepared.runs)
    assert list(twice.configs) == prepared.configs


LOAD_WITHOUT_PANDAS = """
import sys
from pathlib import Path
from metabase.services import caches
loaded = caches.load(Path(sys.argv[1]))
loaded.training(); loaded.task_ids; loaded.column("key"); loaded.configs[0]
loaded.task_matrix(loaded.task_ids, scaled=True)
print(sorted(m for m in ("pandas", "pyarrow") if m in sys.modules))
"""


def test_reading_the_cache_imports_neither_pandas_nor_pyarrow(prepared, tmp_path):
    path = tmp_path / "data-x.pkl"
    caches.save(path, prepared)
    out = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_PANDAS, str(path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


class _Hostile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_hostile_pickle_in_the_cache_format_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data-x.pkl"
    hostile = pickle.dumps(_Hostile(marker), protocol=5)
    # the cache's layout (magic, pickle length, no out-of-band buffers) around a hostile pickle
    path.write_bytes(caches.MAGIC + (len(hostile)).to_bytes(8, "little") + bytes(8) + hostile)
    with pytest.raises(caches.CacheMiss, match="may not appear"):
        caches.load(path)
    assert not marker.exists()
    path.write_bytes(b"")
    with pytest.raises(caches.CacheMiss):
        caches.load(path)


def _rec(rank, score, basis="predicted"):
    return Recommendation(rank, "p", {"x": rank}, score, 0.01, basis=basis)


def test_the_order_note_names_the_first_rise_of_the_shown_score():
    falling = [_rec(1, 0.9), _rec(2, 0.8), _rec(3, 0.8)]
    assert order_note(falling, "default") == []
    rising = [_rec(1, 0.95, "observed"), _rec(2, 0.8), _rec(3, 0.85), _rec(4, 0.9)]
    (note,) = order_note(rising, "default")
    assert "rank 2: 0.8, rank 3: 0.85" in note and "portfolio" in note
    assert "knn strategy" in order_note(rising, "knn")[0]
    # observed scores above predicted ones are not a rise among the predictions
    assert order_note([_rec(1, 0.5, "observed"), _rec(2, 0.9)], "default") == []


WARM = """
import json, sys
from cli.main import main
main(["--store", sys.argv[1], "--offline", "recommend", "--task", sys.argv[2], "--format",
      "json"])
heavy = ("pandas", "pyarrow", "scipy", "lightgbm")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("task", ["14951", "9983"])
def test_a_warm_call_answers_as_the_uncached_one_without_pandas(tmp_path, task):
    """On the starter (no store): the first call prepares and trains (pandas, lightgbm), the
    second reads the caches only; both give the same recommendations.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    store = str(tmp_path / "none.duckdb")
    outs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", WARM, store, task],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        answer, imported = done.stdout.rsplit("\n", 2)[:2]
        outs.append((json.loads(answer), json.loads(imported)))
    (cold, cold_imports), (warm, warm_imports) = outs
    assert "pandas" in cold_imports and warm_imports == []
    assert warm == cold and len(warm["recommendations"]) == 10


def test_the_per_task_queries_read_what_the_run_configs_view_says():
    """The task-first forms of the score range, the best runs and the qualities agree with the
    views they stand in for (read through the views directly here), on tasks with runs and
    without.
    """
    from metabase import starter
    from metabase.store import run_queries

    with starter.open_starter() as con:
        for task in (9983, 3, 14951):
            low, high = con.execute(
                "SELECT min(signed_score), max(signed_score) FROM run_configs "
                "WHERE task_id = ? AND score IS NOT NULL",
                [task],
            ).fetchone()
            expected = None if low is None else (low, high)
            assert run_queries.task_score_range(con, task, None) == expected
            best = con.execute(
                "SELECT run_key, signed_score FROM run_configs WHERE task_id = ? "
                "AND score IS NOT NULL ORDER BY signed_score DESC, run_key LIMIT 10",
                [task],
            ).fetchall()
            got = run_queries.best_task_runs(con, task, None, 10)
            assert [(r.run_key, r.score) for r in got] == best
            assert all(r.folds == 0 and r.fold_std is None for r in got)  # pimp: no folds
            wide = con.execute("SELECT * FROM task_qualities_wide WHERE task_id = ?", [task])
            names = [d[0] for d in wide.description]
            row = wide.fetchone()
            assert run_queries.task_qualities(con, task) == {
                k: v for k, v in zip(names, row) if k != "task_id" and v is not None and v == v
            }
        assert len(run_queries.best_task_runs(con, 9983, None, 10)) == 10
        assert len(run_queries.task_qualities(con, 14951)) > 100


def test_cityblock_skips_only_columns_that_add_nothing():
    from metabase.recommend.base import cityblock

    rng = np.random.default_rng(3)
    a, b = rng.random((7, 9)), rng.random((5, 9))
    a[:, [1, 4]] = 0.0  # unused one-hot columns: zero on both sides
    b[:, [1, 4]] = 0.0
    a[:, 6], b[:, 6] = 0.5, 0.25  # constant but different: still counted
    expected = np.abs(a[:, None, :] - b[None, :, :]).sum(axis=2)
    np.testing.assert_allclose(cityblock(a, b), expected, rtol=0, atol=1e-12)
    assert cityblock(a[:0], b).shape == (0, 5)


def test_the_closest_features_are_named_by_the_scaled_columns():
    """The scaler drops a constant quality, so the scaled columns are not the raw ones: a name
    must come from the scaled column it was measured on.
    """
    from metabase.recommend.candidates import closest_features

    runs, tasks, _ = shifted_optimum(n_tasks=6, n_runs=12)
    tasks.insert(1, "AConstant", 1.0)  # dropped by the scaler; first, so every index shifts
    prepared = Prepared.build(runs, tasks)
    assert "AConstant" not in prepared.scaler.columns_
    target = prepared.task_matrix([100], scaled=True)[0].copy()
    f_column = prepared.scaler.columns_.index("f")
    target[:] = 4.0  # far on every scaled feature...
    target[f_column] = prepared.task_matrix([101], scaled=True)[0][f_column]  # ...but f
    assert closest_features(prepared, target, 101, n=1) == ["f"]
