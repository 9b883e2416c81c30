"""The contract every recommendation strategy passes (:class:`metabase.recommend.base.Strategy`),
on small synthetic meta-datasets whose best answer is known by construction (scikit-learn's
``check_estimator``, optuna's storage test case).

A new strategy runs the whole suite with::

    from metabase.testing.strategy_contract import check_strategy
    check_strategy(lambda: MyStrategy(), task_aware=True)

Each ``check_*`` function takes a factory (a fresh, unfitted strategy per call) and a prepared
meta-dataset, and raises ``AssertionError`` when the strategy breaks the contract.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np
import pandas as pd

from metabase.evaluate.regret import expected_random_regret, ranking, regret_curve
from metabase.recommend.base import Models, Strategy
from metabase.recommend.data import Prepared, PreparedCache

Factory = Callable[[], Strategy]


# -- meta-datasets with a known best answer ----------------------------------------------------
def shifted_optimum(n_tasks: int = 14, n_runs: int = 40, seed: int = 0):
    """Task t has meta-feature f_t; a config (x, kind) scores 1 - (x - f_t)^2 + 0.3 [kind == "a"].
    The best configuration is x = f_t with kind "a": it moves with the meta-feature.
    Returns (runs, tasks, f).
    """
    rng = np.random.default_rng(seed)
    f = np.linspace(0.05, 0.95, n_tasks)
    runs, tasks = [], []
    for t in range(n_tasks):
        xs = rng.random(n_runs)
        kinds = rng.choice(["a", "b"], n_runs)
        for x, kind in zip(xs, kinds):
            score = 1 - (x - f[t]) ** 2 + 0.3 * (kind == "a") + rng.normal(0, 0.005)
            runs.append(
                (100 + t, "toy", json.dumps({"x": float(x), "kind": str(kind), "const": 3}), score)
            )
        tasks.append(
            {
                "task_id": 100 + t,
                "NumberOfInstances": 10 ** (2 + 3 * f[t]),
                "f": f[t],
                "noise": rng.random(),
            }
        )
    return (
        pd.DataFrame(runs, columns=["task_id", "pipeline", "config", "score"]),
        pd.DataFrame(tasks),
        f,
    )


def shared_configs(n_tasks: int = 8, seed: int = 1):
    """The same 12 configurations (two pipelines with different keys) on every task; the ``gbm``
    configuration with depth 3 is the best on every task. Returns (runs, tasks).
    """
    rng = np.random.default_rng(seed)
    configs = [
        ("rf", {"trees": n, "crit": c}) for n in (10, 100) for c in ("gini", "entropy", None)
    ]
    configs += [("gbm", {"depth": d, "lr": lr}) for d in (1, 3, 6) for lr in (0.1, 0.5)]
    runs, tasks = [], []
    for t in range(n_tasks):
        base = rng.random() * 0.3
        for pipeline, config in configs:
            score = base + rng.random() * 0.2
            if pipeline == "gbm" and config["depth"] == 3 and config["lr"] == 0.1:
                score = base + 0.5
            runs.append((t + 1, pipeline, json.dumps(config), score))
        tasks.append({"task_id": t + 1, "q1": rng.random(), "q2": rng.normal()})
    return pd.DataFrame(runs, columns=["task_id", "pipeline", "config", "score"]), pd.DataFrame(
        tasks
    )


def shifted() -> tuple[Prepared, np.ndarray]:
    runs, tasks, f = shifted_optimum()
    return Prepared.build(runs, tasks), f


def shared() -> Prepared:
    runs, tasks = shared_configs()
    return Prepared.build(runs, tasks)


# -- the checks -----------------------------------------------------------------------------------
def check_fit_returns_self_and_predict_scores_every_candidate(
    factory: Factory, prepared: Prepared
) -> None:
    task = prepared.task_ids[3]
    strategy = factory()
    assert strategy.fit(prepared.training(exclude=task)) is strategy
    query = prepared.task_query(task)
    scores = strategy.predict(query)
    assert (
        len(scores.rank_value)
        == len(query)
        == len(prepared.runs[prepared.runs["task_id"] == task])
    )
    assert np.isfinite(scores.rank_value).all()
    assert len(scores.predicted) == len(query)
    # rank() is the ranking alone, the same one
    np.testing.assert_array_equal(strategy.rank(query), scores.rank_value)


def check_predictions_are_deterministic(factory: Factory, prepared: Prepared) -> None:
    task = prepared.task_ids[5]
    first = factory().fit(prepared.training(exclude=task)).predict(prepared.task_query(task))
    prepared.cache = PreparedCache()  # refit from scratch, not from what the first fit cached
    second = factory().fit(prepared.training(exclude=task)).predict(prepared.task_query(task))
    np.testing.assert_allclose(first.rank_value, second.rank_value)


def check_fit_reads_the_training_and_keeps_learned_state_in_underscored_attributes(
    factory: Factory, prepared: Prepared
) -> None:
    task = prepared.task_ids[4]
    strategy = factory()
    params = strategy.get_params()
    runs, configs = prepared.runs.copy(), json.dumps(prepared.configs, sort_keys=True, default=str)
    before = set(vars(strategy))
    strategy.fit(prepared.training(exclude=task)).predict(prepared.task_query(task))
    pd.testing.assert_frame_equal(prepared.runs, runs)
    assert json.dumps(prepared.configs, sort_keys=True, default=str) == configs
    assert strategy.get_params() == params  # fit never changes a parameter
    learned = set(vars(strategy)) - before
    assert learned and all(name.endswith("_") for name in learned), learned
    assert isinstance(strategy.models_, Models)


def check_given_models_answer_as_the_trained_ones(factory: Factory, prepared: Prepared) -> None:
    """The facade's model cache: handing a strategy the models it trained on the same training
    gives the same answer as training them.
    """
    task = prepared.task_ids[6]
    trained = factory().fit(prepared.training(exclude=task))
    given = factory().fit(prepared.training(exclude=task), trained.models_)
    query = prepared.task_query(task)
    np.testing.assert_allclose(trained.predict(query).rank_value, given.predict(query).rank_value)


def check_the_configuration_best_everywhere_is_ranked_first(
    factory: Factory, prepared: Prepared
) -> None:
    """On ``shared()``: the gbm configuration with depth 3 and learning rate 0.1."""
    for task in prepared.task_ids[:4]:
        result = factory().fit(prepared.training(exclude=task)).predict(prepared.task_query(task))
        top = ranking(result.rank_value)[0]
        runs = prepared.runs[prepared.runs["task_id"] == task].reset_index(drop=True)
        assert runs.loc[top, "pipeline"] == "gbm"
        assert json.loads(runs.loc[top, "config"]) == {"depth": 3, "lr": 0.1}


def check_beats_random_search_on_held_out_tasks(factory: Factory, prepared: Prepared) -> None:
    ours, rand = [], []
    for task in prepared.task_ids[1:-1:2]:
        scores = prepared.runs.loc[prepared.runs["task_id"] == task, "score"].to_numpy()
        result = factory().fit(prepared.training(exclude=task)).predict(prepared.task_query(task))
        ours.append(regret_curve(scores, ranking(result.rank_value))[2])
        rand.append(expected_random_regret(scores)[2])
    assert np.mean(ours) < 0.5 * np.mean(rand)


def check_follows_the_meta_feature(factory: Factory, prepared: Prepared, f: np.ndarray) -> None:
    """On ``shifted()``: the best x equals the task's meta-feature f, so the top pick must track
    it, for tasks at both ends, which no single fixed configuration can do.
    """
    for position in (1, len(f) - 2):
        task = prepared.task_ids[position]
        result = factory().fit(prepared.training(exclude=task)).predict(prepared.task_query(task))
        rows = np.flatnonzero(prepared.runs["task_id"].to_numpy() == task)
        top = prepared.configs[rows[ranking(result.rank_value)[0]]]
        assert abs(top["x"] - f[position]) < 0.25
        assert top["kind"] == "a"


def check_scores_configurations_given_as_dicts_including_unseen_values(
    factory: Factory, prepared: Prepared
) -> None:
    """Fresh samples reach strategies as dicts; an unseen category must not break them."""
    strategy = factory().fit(prepared.training())
    features = prepared.features.iloc[0].to_dict()
    query = prepared.query(
        features, ["toy", "toy"], [{"x": 0.5, "kind": "a"}, {"x": 0.5, "kind": "zzz"}]
    )
    scores = strategy.predict(query)
    assert len(scores.rank_value) == 2 and np.isfinite(scores.rank_value).all()


# the checks every strategy passes, on ``shifted()``; learners and task-aware ones pass more
BASIC = (
    check_fit_returns_self_and_predict_scores_every_candidate,
    check_predictions_are_deterministic,
    check_fit_reads_the_training_and_keeps_learned_state_in_underscored_attributes,
    check_given_models_answer_as_the_trained_ones,
)
LEARNING = (
    check_beats_random_search_on_held_out_tasks,
    check_scores_configurations_given_as_dicts_including_unseen_values,
)


def check_strategy(factory: Factory, *, learns: bool = True, task_aware: bool = False) -> None:
    """Every check that applies: ``learns`` (beats random search, ranks the configuration best
    everywhere first), ``task_aware`` (reads the target task's meta-features).
    """
    prepared, f = shifted()
    for check in BASIC:
        check(factory, prepared)
    if learns:
        for check in LEARNING:
            check(factory, prepared)
        check_the_configuration_best_everywhere_is_ranked_first(factory, shared())
    if task_aware:
        check_follows_the_meta_feature(factory, prepared, f)
