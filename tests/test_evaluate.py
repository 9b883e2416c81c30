"""Leave-one-task-out backtest: the regret arithmetic, the protocol, the CLI and its bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from metabase.evaluate.regret import expected_random_regret, ranking, regret_curve


def test_regret_curve_by_hand():
    scores = np.array([0.5, 0.9, 0.7, 0.1])
    # try 0.7 first (regret (0.9-0.7)/(0.9-0.1) = 0.25), then 0.5 (still 0.25), then 0.9 (0)
    np.testing.assert_allclose(regret_curve(scores, [2, 0, 1, 3]), [0.25, 0.25, 0.0, 0.0])


def test_expected_random_regret_equals_enumerating_every_draw():
    scores = np.array([0.3, 0.8, 0.8, 0.1, 0.55, 0.6])
    best, worst = scores.max(), scores.min()
    for k in range(1, len(scores) + 1):
        draws = list(itertools.combinations(scores, k))
        brute = np.mean([(best - max(d)) / (best - worst) for d in draws])
        assert expected_random_regret(scores)[k - 1] == pytest.approx(brute)


def test_ranking_puts_higher_values_first_and_breaks_ties_by_seed():
    order = ranking(np.array([0.1, 0.9, 0.5]))
    assert list(order) == [1, 2, 0]
    tied = np.zeros(50)
    assert list(ranking(tied, seed=1)) != list(ranking(tied, seed=2))


def _write(tmp_path, runs, tasks):
    from metabase.metadataset import MetaDataset, write

    return write(MetaDataset(runs=runs, tasks=tasks), tmp_path / "md")


@pytest.fixture
def toy_dir(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_recommend_contract import shifted_optimum

    runs, tasks, _ = shifted_optimum(n_tasks=8, n_runs=30)
    return _write(tmp_path, runs, tasks)


def test_evaluate_cli_json_shape_and_plot(toy_dir, tmp_path, capsys):
    from cli.main import main

    plot = tmp_path / "regret.png"
    rc = main(
        [
            "--store",
            str(tmp_path / "s.duckdb"),
            "evaluate",
            str(toy_dir),
            "--strategies",
            "knn,portfolio",
            "--k",
            "1,5,30",
            "--format",
            "json",
            "--plot",
            str(plot),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["tasks"] == 8
    assert list(out["strategies"]) == ["random", "default", "knn", "portfolio"]
    for values in out["strategies"].values():
        assert set(values) >= {"regret@1", "regret@5", "regret@30", "picks_to_random@100"}
        assert values["regret@30"] == pytest.approx(
            0.0
        )  # all 30 candidates tried: the best among them
    # with 30 candidates, random's regret@100 is its regret after trying all of them: 0
    assert out["strategies"]["random"]["picks_to_random@100"] == 30
    assert out["strategies"]["knn"]["regret@1"] < out["strategies"]["random"]["regret@1"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_cli_table(toy_dir, tmp_path, capsys):
    from cli.main import main

    rc = main(
        [
            "--store",
            str(tmp_path / "s.duckdb"),
            "evaluate",
            str(toy_dir),
            "--strategies",
            "knn",
            "--k",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "knn" in out and "random" in out and "regret@1" in out


@pytest.mark.parametrize(
    "case, message",
    [
        ("one_task", "usable task"),
        ("constant", "same score"),
        ("missing", "not a meta-dataset directory"),
    ],
)
def test_evaluate_bad_input_is_one_line(case, message, tmp_path, capsys):
    from cli.main import main

    runs = pd.DataFrame(
        {
            "task_id": [1, 1, 1, 2, 2],
            "pipeline": "p",
            "config": [json.dumps({"a": i}) for i in range(5)],
            "score": [0.1, 0.5, 0.9, 0.3, 0.3],
        }
    )
    tasks = pd.DataFrame({"task_id": [1, 2], "q": [1.0, 2.0]})
    if case == "constant":
        runs["score"] = 0.7
    directory = tmp_path / "nowhere" if case == "missing" else _write(tmp_path, runs, tasks)
    rc = main(["--store", str(tmp_path / "s.duckdb"), "evaluate", str(directory)])
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_evaluate_unknown_strategy_and_bad_k(toy_dir, tmp_path, capsys):
    from cli.main import main

    assert (
        main(
            [
                "--store",
                str(tmp_path / "s.duckdb"),
                "evaluate",
                str(toy_dir),
                "--strategies",
                "oracle",
            ]
        )
        == 1
    )
    assert "unknown strategy" in capsys.readouterr().err
    assert (
        main(["--store", str(tmp_path / "s.duckdb"), "evaluate", str(toy_dir), "--k", "1,x"]) == 1
    )
    assert "comma-separated integers" in capsys.readouterr().err


def test_in_task_ceiling_ranks_a_task_it_has_seen_almost_perfectly():
    """The reference model sees most of each task's own runs: on a smooth, barely noisy surface
    (score = -(x - c_t)^2, optimum moving with the task) its first pick must be near the best,
    far better than random's; on pure noise it can do no better than random on average.
    """
    from metabase.evaluate.ceiling import in_task_ceiling
    from metabase.recommend.data import Prepared

    rng = np.random.default_rng(0)
    rows, noise_rows = [], []
    for t in range(6):
        centre = 0.1 + 0.15 * t
        for x in rng.random(60):
            rows.append(
                (
                    t + 1,
                    "toy",
                    json.dumps({"x": float(x)}),
                    -((x - centre) ** 2) + rng.normal(0, 1e-4),
                )
            )
            noise_rows.append((t + 1, "toy", json.dumps({"x": float(x)}), rng.normal()))
    tasks = pd.DataFrame({"task_id": range(1, 7), "q": range(6)})
    columns = ["task_id", "pipeline", "config", "score"]
    smooth = Prepared.build(pd.DataFrame(rows, columns=columns), tasks)
    curves = in_task_ceiling(smooth, folds=5)
    assert curves.shape == (6, 60)
    random_at_1 = np.mean(
        [
            expected_random_regret(g.to_numpy())[0]
            for _, g in smooth.runs.groupby("task_id")["score"]
        ]
    )
    assert curves[:, 0].mean() < 0.05 < random_at_1
    assert (curves[:, -1] == 0).all()  # every configuration tried: the best was found
    noise = Prepared.build(pd.DataFrame(noise_rows, columns=columns), tasks)
    assert in_task_ceiling(noise, folds=5)[:, 0].mean() > 0.15


def _smooth_landscape(tasks: int = 4, runs: int = 80, seed: int = 1):
    """Three hyperparameters, one of them categorical, and an optimum that moves with the task:
    a landscape an in-task model can learn from 80% of the runs, but that no single configuration
    (and no order that ignores the scores) solves.
    """
    from metabase.recommend.data import Prepared

    rng = np.random.default_rng(seed)
    rows = []
    for t in range(tasks):
        centre = 0.15 + 0.7 * t / max(1, tasks - 1)
        for _ in range(runs):
            x, z, kind = rng.random(), rng.random(), str(rng.choice(["a", "b", "c"]))
            score = (
                -((x - centre) ** 2)
                - 0.3 * (z - 0.5) ** 2
                - 0.1 * (kind == "c")
                + rng.normal(0, 1e-3)
            )
            rows.append((t + 1, "toy", json.dumps({"kind": kind, "x": x, "z": z}), score))
    runs_frame = pd.DataFrame(rows, columns=["task_id", "pipeline", "config", "score"])
    return Prepared.build(
        runs_frame, pd.DataFrame({"task_id": range(1, tasks + 1), "q": range(tasks)})
    )


@pytest.mark.parametrize("model", ["lightgbm", "gp", "extra_trees", "random_forest", "knn"])
def test_every_in_task_model_finds_a_smooth_landscape(model):
    """Each in-task model ranks each task's held-out fifth far better than random search's exact
    expectation, and its regrets are regrets (in [0, 1], non-increasing, 0 once all are tried).
    """
    from metabase.evaluate.ceiling import CEILING_MODELS, in_task_ceiling

    assert model in CEILING_MODELS
    smooth = _smooth_landscape()
    curves = in_task_ceiling(smooth, folds=5, model=model)
    assert curves.shape == (4, 80)
    assert ((curves >= 0) & (curves <= 1)).all()
    assert (np.diff(curves, axis=1) <= 0).all() and (curves[:, -1] == 0).all()
    random = np.vstack(
        [expected_random_regret(g.to_numpy()) for _, g in smooth.runs.groupby("task_id")["score"]]
    )
    for k in (1, 5):
        assert curves[:, k - 1].mean() < 0.5 * random[:, k - 1].mean(), k
    assert curves[:, 0].mean() < 0.1  # random's first pick: ~0.3 on these tasks


def test_in_task_ceiling_default_model_is_lightgbm_and_max_train_subsamples():
    from metabase.evaluate.ceiling import in_task_ceiling

    smooth = _smooth_landscape(tasks=2, runs=40)
    np.testing.assert_array_equal(
        in_task_ceiling(smooth, folds=4), in_task_ceiling(smooth, folds=4, model="lightgbm")
    )
    capped = in_task_ceiling(smooth, folds=4, model="knn", max_train=10)
    assert capped.shape == (2, 40) and ((capped >= 0) & (capped <= 1)).all()


def test_in_task_ceiling_envelope_is_the_per_task_minimum():
    from metabase.evaluate.ceiling import ceiling_envelope

    a = np.array([[0.5, 0.2, 0.0], [0.1, 0.1, 0.0]])
    b = np.array([[0.3, 0.3, 0.1], [0.4, 0.0, 0.0]])
    np.testing.assert_array_equal(
        ceiling_envelope({"a": a, "b": b}), [[0.3, 0.2, 0.0], [0.1, 0.0, 0.0]]
    )
    # curves of different widths: the shorter keeps its final regret
    np.testing.assert_array_equal(
        ceiling_envelope({"a": a, "c": np.array([[0.0], [0.2]])}),
        [[0.0, 0.0, 0.0], [0.1, 0.1, 0.0]],
    )


@pytest.mark.parametrize("kwargs", [{"model": "oracle"}, {"model": "knn", "max_train": 1}])
def test_in_task_ceiling_bad_arguments_raise_input_error(kwargs):
    from metabase.errors import InputError, MetabaseError
    from metabase.evaluate.ceiling import ceiling_envelope, in_task_ceiling

    assert issubclass(InputError, MetabaseError)
    with pytest.raises(InputError):
        in_task_ceiling(_smooth_landscape(tasks=2, runs=10), **kwargs)
    with pytest.raises(InputError):
        ceiling_envelope({})
