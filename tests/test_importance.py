"""fANOVA, tunability and data-driven defaults (metabase.importance), on landscapes whose answers
are known by hand, and against Optuna's independent tree walk on the very same trees.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metabase.importance import Dimension, FunctionalAnova, analyse, dimensions_from_space, encode
from metabase.importance.records import ImportanceResult

BOUNDS = ([0.0, 0.0, 0.0, -0.5], [1.0, 1.0, 1.0, 2.5])  # x1, x2, x3 in [0, 1]; c in {0, 1, 2}
H = np.array([-1.0, 0.0, 1.0])  # the effect of c


def _landscape(n: int, seed: int, smooth: bool):
    rng = np.random.default_rng(seed)
    x1, x2, x3, c = rng.random(n), rng.random(n), rng.random(n), rng.integers(0, 3, n)
    if smooth:
        a, b = x1 - 0.5, x2 - 0.5
        y = 2 * a + b + 4 * a * b + H[c]
    else:
        a, b = np.where(x1 > 0.5, 0.5, -0.5), np.where(x2 > 0.5, 0.5, -0.5)
        y = 2 * a + b + 2 * a * b + H[c]
    return np.column_stack([x1, x2, x3, c]).astype(float), y


# Step landscape f = 2 s(x1) + s(x2) + 2 s(x1) s(x2) + h(c), s(x) = +-1/2 either side of 1/2, under
# the uniform measure. s has mean 0 and variance 1/4, and s(x1) s(x2) is orthogonal to both, so the
# functional ANOVA components are the four terms: V1 = 4/4 = 1, V2 = 1/4, V12 = 4/16 = 1/4,
# Vc = (1 + 0 + 1)/3 = 2/3; V = 13/6. A forest can represent it exactly, up to where it puts the
# thresholds near 1/2 and boxes that no sample covers: 0.04 absolute (the worst of six seeds at
# n = 1000 was 0.022).
STEP = {"x1": 6 / 13, "x2": 3 / 26, "x3": 0.0, "c": 4 / 13, "pair": 3 / 26}
# Smooth landscape f = 2u1 + u2 + 4 u1 u2 + h(c), u = x - 1/2 (variance 1/12): V1 = 4/12,
# V2 = 1/12, V12 = 16/144, Vc = 2/3; V = 43/36. The forest's steps lose a little variance to
# noise-like terms: 0.03 absolute at n = 2000 (the worst of six seeds was 0.015).
SMOOTH = {"x1": 12 / 43, "x2": 3 / 43, "x3": 0.0, "c": 24 / 43, "pair": 4 / 43}


@pytest.mark.parametrize(
    "smooth, n, expected, tolerance",
    [(False, 1000, STEP, 0.04), (True, 2000, SMOOTH, 0.03)],
    ids=["step", "smooth"],
)
def test_marginal_and_pair_fractions_match_the_analytic_decomposition(
    smooth, n, expected, tolerance
):
    X, y = _landscape(n, seed=7, smooth=smooth)
    model = FunctionalAnova(seed=7).fit(X, y, *BOUNDS)
    pairs = model.pair_importance()
    got = dict(zip(["x1", "x2", "x3", "c"], model.importance_))
    for name in ("x1", "x2", "x3", "c"):
        assert got[name] == pytest.approx(expected[name], abs=tolerance), name
    assert pairs[(0, 1)] == pytest.approx(expected["pair"], abs=tolerance)
    assert (
        max(v for k, v in pairs.items() if k != (0, 1)) < tolerance
    )  # no other interaction exists
    total = sum(got.values()) + sum(pairs.values())
    assert total <= 1 + 1e-9


def test_variances_equal_optunas_tree_walk_on_the_same_trees():
    """Optuna's fANOVA walks each tree once per cell in Python; on the same sklearn trees and
    bounds it must give the same total, single and pairwise marginal variances.
    """
    tree_module = pytest.importorskip("optuna.importance._fanova._tree")
    X, y = _landscape(60, seed=3, smooth=True)
    model = FunctionalAnova(n_trees=3, seed=3).fit(X, y, *BOUNDS)
    bounds = np.column_stack(BOUNDS)
    for ours, estimator in zip(model.trees_, model.estimators_):
        theirs = tree_module._FanovaTree(estimator.tree_, bounds)
        assert ours.variance == pytest.approx(theirs.variance, rel=1e-9)
        for dims in [(0,), (1,), (2,), (3,), (0, 1), (1, 3), (2, 3)]:
            assert model._marginal_variance(ours, dims) == pytest.approx(
                theirs.get_marginal_variance(np.array(dims)), rel=1e-9, abs=1e-15
            ), dims


def test_marginal_curve_follows_the_step_and_prediction_matches_the_forest():
    X, y = _landscape(1000, seed=1, smooth=False)
    model = FunctionalAnova(seed=1).fit(X, y, *BOUNDS)
    mean, std = model.marginal(0, np.array([0.1, 0.9, 1.0]))
    # averaged over x2 and c, f = 2 s(x1) (the other terms have mean 0): -1 below 1/2, +1 above
    assert mean == pytest.approx([-1.0, 1.0, 1.0], abs=0.1)
    assert np.all(std >= 0)
    np.testing.assert_allclose(
        model.predict(X[:50]),
        np.mean([e.predict(X[:50].astype(np.float32)) for e in model.estimators_], axis=0),
    )


def _space():
    from ConfigSpace import (
        Categorical,
        ConfigurationSpace,
        Constant,
        EqualsCondition,
        Float,
        Integer,
    )

    space = ConfigurationSpace()
    kernel = Categorical("kernel", ["rbf", "poly"], default="rbf")
    degree = Integer("degree", (2, 5), default=3)
    space.add(
        [
            kernel,
            degree,
            Float("C", (0.01, 100.0), log=True, default=1.0),
            Float("x", (0.0, 1.0), default=0.5),
            Float("unused", (0.0, 1.0), default=0.5),
            Constant("n", 100),
        ]
    )
    space.add(EqualsCondition(degree, kernel, "poly"))
    return space


def _runs(n_tasks=3, n=120, seed=0):
    """Runs of a space where log10(C) matters most, x a little, degree only under kernel=poly,
    and ``unused`` is stored but always 0.5.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for task in range(1, n_tasks + 1):
        for _ in range(n):
            config = {
                "kernel": str(rng.choice(["rbf", "poly"])),
                "C": float(10 ** rng.uniform(-2, 2)),
                "x": float(rng.random()),
                "unused": 0.5,
                "n": 100,
            }
            score = 0.5 + 0.1 * np.log10(config["C"]) + 0.02 * config["x"]
            if config["kernel"] == "poly":
                config["degree"] = int(rng.integers(2, 6))
                score += 0.01 * config["degree"]
            rows.append(
                {"task_id": task * 10, "config": json.dumps(config), "score": score / task}
            )
    return pd.DataFrame(rows)


def test_encoding_follows_the_space():
    dims = dimensions_from_space(_space())
    by_name = {d.name: d for d in dims}
    assert by_name["kernel"].kind == "categorical" and (
        by_name["kernel"].lower,
        by_name["kernel"].upper,
    ) == (-0.5, 1.5)
    assert by_name["C"].log and by_name["C"].lower == pytest.approx(np.log(0.01))
    assert by_name["degree"].conditional and by_name["degree"].integer
    assert by_name["n"].kind == "constant"
    configs = [
        {"kernel": "rbf", "C": 1.0, "x": 0.2, "unused": 0.5},
        {"kernel": "poly", "degree": 4, "C": 10.0, "x": 0.8, "unused": 0.5, "stray": 1},
        {"kernel": "linear", "C": 1.0, "x": 0.5, "unused": 0.5},
    ]  # not a choice: dropped
    enc = encode(configs, dims)
    assert enc.kept.tolist() == [True, True, False]
    assert enc.unknown_keys == ("stray",)
    assert enc.constant == {
        "n": 100,
        "unused": 0.5,
    }  # a space constant, and one the runs never vary
    names = [d.name for d in enc.dims]
    # the inactive degree takes the default 3; C is on the log scale; bounds narrow to the runs
    assert enc.X[0, names.index("degree")] == 3 and enc.X[1, names.index("degree")] == 4
    assert enc.X[1, names.index("C")] == pytest.approx(np.log(10.0))
    x = enc.dims[names.index("x")]
    assert (x.lower, x.upper) == (0.2, 0.8)
    ranged = encode(configs, dims, ranges={"x": (0.0, 1.0)})  # all the pipeline's runs cover more
    assert (ranged.dims[names.index("x")].lower, ranged.dims[names.index("x")].upper) == (0.0, 1.0)
    # a choice matches its own value in another spelling, never a different type that compares
    # equal
    kernel, bools = (
        by_name["kernel"],
        Dimension("b", "categorical", -0.5, 1.5, True, choices=(True, False)),
    )
    assert kernel.encode("poly") == 1 and np.isnan(kernel.encode("linear"))
    assert bools.encode("False") == 1 and np.isnan(bools.encode(1))
    ints = Dimension("n", "categorical", -0.5, 2.5, 1, choices=(1, 2, 3))
    assert ints.encode(2.0) == 1 and np.isnan(ints.encode(True))
    assert (ranged.dims[names.index("x")].lower, ranged.dims[names.index("x")].upper) == (0.0, 1.0)


def test_analyse_reports_constants_conditionals_and_a_ranking():
    from ConfigSpace import ConfigurationSpace

    runs = _runs()
    space = _space()
    result = analyse(
        runs,
        dimensions_from_space(space),
        pipeline="toy",
        measure="acc",
        min_runs=100,
        default_config=dict(ConfigurationSpace.get_default_configuration(space)),
        pairs=True,
    )
    assert result.constant == {"n": 100, "unused": 0.5}
    assert "unused" not in result.summary()
    assert result.ranking()[0] == "C"  # 0.1 per decade over four decades dwarfs the rest
    assert set(result.hyperparameters) == {"kernel", "degree", "C", "x"}
    for task in result.tasks:
        assert all(v >= 0 for v in [*task.importance.values(), *task.pairs.values()])
        assert sum(task.importance.values()) + sum(task.pairs.values()) <= 1 + 1e-9
    data = result.to_dict()
    assert set(data["tasks"]) == {"10", "20", "30"} and set(data["summary"]) == set(
        result.hyperparameters
    )
    assert set(data["summary"]["C"]) == {"median", "q1", "q3", "tasks"}
    assert data["pairs"]["10"] and "C:x" in data["pairs"]["10"] or "x:C" in data["pairs"]["10"]
    again = ImportanceResult.from_cache(json.loads(json.dumps(result.to_cache())))
    assert again.to_dict() == json.loads(json.dumps(data))


def test_too_few_runs_skip_a_task_and_a_constant_score_is_a_note():
    runs = _runs(n_tasks=2, n=120)
    runs = runs[~((runs.task_id == 20) & (runs.index % 2 == 0))]  # task 20 keeps 60 runs
    flat = pd.DataFrame({"task_id": 30, "config": runs.config[:110].tolist(), "score": 0.7})
    result = analyse(
        pd.concat([runs, flat]),
        dimensions_from_space(_space()),
        pipeline="toy",
        measure="acc",
        min_runs=100,
    )
    assert result.skipped == {20: 60}
    assert [t.task_id for t in result.tasks] == [10, 30]
    assert result.task(30).importance == {} and "same score" in result.task(30).note


def test_tunability_and_the_data_driven_default_on_the_step_landscape():
    """Default at x1 = x2 = 1/4, c = 0: f = -1 - 1/2 + 1/2 - 1 = -2. Tuning x1 alone reaches
    s1 = +1/2: f = 1 - 1/2 - 1/2 - 1 = -1 (gain 1); x2 alone: f = -1 + 1/2 - 1/2 - 1 = -2 (gain 0,
    the interaction cancels it); c alone: h = +1 (gain 2); x3 nothing; everything: f = 3 (gain 5).
    Every task has the same best region, so the data-driven default lies in it (normalised 1).
    A single hyperparameter's gain is the surrogate's maximum along a line, which finds its errors
    too: within 0.2 (the worst of six seeds at n = 1000 was 0.17, x1 at 1.17).
    """
    from ConfigSpace import Categorical, ConfigurationSpace, Float

    space = ConfigurationSpace()
    space.add(
        [
            Float("x1", (0, 1), default=0.25),
            Float("x2", (0, 1), default=0.25),
            Float("x3", (0, 1), default=0.5),
            Categorical("c", [0, 1, 2], default=0),
        ]
    )
    frames = []
    for task, scale in ((1, 1.0), (2, 0.5)):
        X, y = _landscape(1000, seed=task, smooth=False)
        configs = [json.dumps({"x1": a, "x2": b, "x3": d, "c": int(c)}) for a, b, d, c in X]
        frames.append(pd.DataFrame({"task_id": task, "config": configs, "score": scale * y}))
    result = analyse(
        pd.concat(frames),
        dimensions_from_space(space),
        pipeline="toy",
        measure="acc",
        default_config={"x1": 0.25, "x2": 0.25, "x3": 0.5, "c": 0},
        tunability=True,
        min_runs=100,
    )
    task = result.task(1)
    assert task.default_score == pytest.approx(-2.0, abs=1e-9)
    assert task.tunability == pytest.approx({"x1": 1.0, "x2": 0.0, "x3": 0.0, "c": 2.0}, abs=0.2)
    assert task.tunability_all == pytest.approx(5.0, abs=1e-6)
    assert result.task(2).tunability_all == pytest.approx(2.5, abs=1e-6)
    best = result.data_driven_default
    assert best["mean_normalised_score"] == pytest.approx(1.0, abs=1e-6)
    assert best["config"]["x1"] > 0.5 and best["config"]["x2"] > 0.5 and best["config"]["c"] == 2
    assert best["default_mean_normalised_score"] == pytest.approx(
        0.0, abs=1e-6
    )  # -2 of [-2, 3]: the worst


def test_lower_is_better_measures_keep_their_sign_in_scores_but_gain_as_improvement():
    from ConfigSpace import ConfigurationSpace, Float

    space = ConfigurationSpace()
    space.add([Float("x", (0, 1), default=0.25), Float("z", (0, 1), default=0.5)])
    rng = np.random.default_rng(0)
    x, z = rng.random(300), rng.random(300)
    error = np.where(x > 0.5, 0.1, 0.3)  # an error rate: lower is better; tuning x takes it to 0.1
    runs = pd.DataFrame(
        {
            "task_id": 1,
            "config": [json.dumps({"x": a, "z": b}) for a, b in zip(x, z)],
            "score": error,
        }
    )
    result = analyse(
        runs,
        dimensions_from_space(space),
        pipeline="toy",
        measure="error",
        higher_is_better=False,
        default_config={"x": 0.25, "z": 0.5},
        tunability=True,
        curves=1,
        min_runs=100,
    )
    task = result.task(1)
    assert task.default_score == pytest.approx(0.3)
    assert task.tunability["x"] == pytest.approx(0.2) and task.tunability["z"] == 0.0
    assert task.curves[0].hyperparameter == "x"
    # the marginal, in the error's own units (the fANOVA forest tries one of the two dimensions
    # per split, so a few of its boxes mix the two levels: within 0.02)
    assert task.curves[0].mean[0] == pytest.approx(0.3, abs=0.02)
    assert task.curves[0].mean[-1] == pytest.approx(0.1, abs=0.02)
