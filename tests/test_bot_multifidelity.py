"""The bot's multi-fidelity helpers: successive halving with a hurdle (metabase.bot.halving) and
aging evolution of the torch architectures (metabase.bot.evolution).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metabase.bot.evolution import propose
from metabase.bot.halving import best_on_similar, promotions

LADDER = (1, 3, 9)


def test_the_best_third_of_a_rung_moves_up_and_only_once():
    results = [(f"c{i}", 1, i / 10) for i in range(9)]  # c8 best, then c7, c6
    up = promotions(results, LADDER, eta=3)
    assert {(p.candidate, p.fidelity) for p in up} == {("c8", 3), ("c7", 3), ("c6", 3)}
    results += [("c8", 3, 0.5), ("c7", 3, 0.9), ("c6", 3, 0.4)]
    up = promotions(results, LADDER, eta=3)
    # rung 3 holds three results: its best third (c7) goes to 9; rung 1's top third is done
    assert [(p.candidate, p.fidelity) for p in up] == [("c7", 9)]


def test_the_hurdle_is_measured_first_and_stops_newcomers_below_it():
    newcomers = [
        (f"c{i}", 1, s) for i, s in enumerate([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9, 0.95])
    ]
    up = promotions(newcomers, LADDER, eta=3, hurdle="ref")
    assert [(p.candidate, p.fidelity) for p in up] == [("ref", 1)]
    up = promotions([*newcomers, ("ref", 1, 0.92)], LADDER, eta=3, hurdle="ref")
    # ten results at rung 1: the top three are c8 (0.95), ref (0.92), c7 (0.9); c7 is below ref
    assert [(p.candidate, p.fidelity) for p in up] == [("c8", 3)]
    # c8 now waits at rung 3 for the reference to be measured there
    up = promotions([*newcomers, ("ref", 1, 0.92), ("c8", 3, 0.97)], LADDER, 3, hurdle="ref")
    assert ("ref", 3) in {(p.candidate, p.fidelity) for p in up}


def test_eta_below_two_is_refused():
    with pytest.raises(ValueError):
        promotions([], LADDER, eta=1)


def test_the_hurdle_is_the_best_configuration_on_the_most_similar_tasks():
    m = {1: 0.10, 2: 0.15, 3: 0.20, 4: 0.90, 5: 0.95, 6: 0.12, 7: 0.93}
    tasks = pd.DataFrame({"task_id": list(m), "dataset_id": list(m), "m": list(m.values())})
    rows = []
    for t, mt in m.items():
        best = "A" if mt < 0.5 else "B"
        for config in ("A", "B", "C"):
            score = 0.9 if config == best else 0.6 if config == "C" else 0.5
            rows.append((t, "p", json.dumps({"x": config}), score))
    runs = pd.DataFrame(rows, columns=["task_id", "pipeline", "config", "score"])
    assert best_on_similar(runs, tasks, 6, "p", k=3) == json.dumps({"x": "A"})
    assert best_on_similar(runs, tasks, 7, "p", k=2) == json.dumps({"x": "B"})
    assert best_on_similar(runs, tasks, 6, "other", k=3) is None


def _space(name: str):
    from pipelines.torch_spaces import mlp_space, resnet_space

    return {"mlp": mlp_space, "resnet": resnet_space}[name]()


def _differences(a: dict, b: dict) -> set:
    return {k for k in set(a) | set(b) if a.get(k) != b.get(k)}


def test_the_recommended_architectures_are_tried_first_then_random_members():
    space = _space("resnet")
    first = dict(space.get_default_configuration())
    second = {**first, "n_blocks": 5}
    p = propose(space, [], initial=[first, second], population=4, sample=2)
    assert p.config == first and "recommended" in p.reason
    p = propose(space, [(first, 0.5)], initial=[first, second], population=4, sample=2)
    assert p.config == second
    p = propose(
        space, [(first, 0.5), (second, 0.6)], initial=[first, second], population=4, sample=2
    )
    assert "random" in p.reason and p.config not in (first, second)
    from ConfigSpace import Configuration  # the proposal is a point of the space

    Configuration(space, values=p.config)


def test_a_full_population_mutates_one_hyperparameter_of_the_tournament_winner():
    space = _space("resnet")
    space.seed(1)
    history = [
        (dict(c), float(s))
        for c, s in zip(space.sample_configuration(6), np.linspace(0.1, 0.6, 6))
    ]
    best = history[-1][0]
    p = propose(space, history, population=6, sample=6, seed=3)  # everyone in the tournament
    assert len(_differences(best, p.config)) == 1
    assert "score 0.6000" in p.reason
    assert propose(space, history, population=6, sample=6, seed=3) == p


def test_the_oldest_are_retired_whatever_their_score():
    space = _space("resnet")
    space.seed(2)
    configs = [dict(c) for c in space.sample_configuration(6)]
    history = list(zip(configs, [0.99, 0.1, 0.2, 0.3, 0.4, 0.5]))  # the best is the oldest
    p = propose(space, history, population=5, sample=5)
    assert "score 0.5000" in p.reason and len(_differences(configs[-1], p.config)) == 1


def test_mutating_the_depth_keeps_the_conditional_widths_valid():
    from ConfigSpace import Configuration

    space = _space("mlp")
    space.seed(4)
    history = [(dict(c), float(i)) for i, c in enumerate(space.sample_configuration(8))]
    seen = set()
    for seed in range(25):
        p = propose(space, history, population=8, sample=3, seed=seed)
        Configuration(space, values=p.config)  # raises on an inactive or missing width
        widths = {k for k in p.config if k.startswith("units_")}
        assert widths == {f"units_{i}" for i in range(1, p.config["n_layers"] + 1)}
        seen.add(p.reason.split()[1])
    assert len(seen) > 3  # mutations spread over several hyperparameters
