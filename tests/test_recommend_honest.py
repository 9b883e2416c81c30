"""How ``recommend`` orders and explains what it knows (pure parts, no store)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metabase.recommend.base import Scores
from metabase.recommend.candidates import _order, merged, observed_recommendations, tie_notes
from metabase.recommend.records import Recommendation


def test_exact_ties_go_to_the_smaller_uncertainty_then_the_higher_prediction():
    scores = Scores(
        rank_value=np.array([0.5, 0.9, 0.9, 0.9]),
        predicted=np.array([0.1, 0.7, 0.8, 0.8]),
        std=np.array([0.0, 0.01, 0.05, 0.02]),
    )
    assert list(_order(scores)) == [1, 3, 2, 0]


def test_observed_configurations_rank_by_their_best_run_with_fold_spread():
    runs = pd.DataFrame(
        {
            "run_key": ["a", "b", "c"],
            "openml_run_id": [1, 2, None],
            "pipeline": ["p", "p", "p"],
            "config": [json.dumps({"x": 1}), json.dumps({"x": 2}), json.dumps({"x": 1})],
            "score": [0.9, 0.8, 0.7],
            "fold_std": [0.02, np.nan, np.nan],
            "folds": [10, 0, 0],
        }
    )

    def canon(pipeline, config, key):  # every config is valid and already canonical
        return config, pipeline + json.dumps(config, sort_keys=True)

    recs = observed_recommendations(runs, 7, canon, limit=5)
    assert [r.config for r in recs] == [{"x": 1}, {"x": 2}]
    assert [r.predicted_score for r in recs] == [0.9, 0.8]
    assert recs[0].uncertainty == pytest.approx(0.02)  # its best run's spread over 10 folds
    assert recs[1].uncertainty is None  # one run, no folds: unknown
    assert [e["run_key"] for e in recs[0].evidence] == ["a", "c"]
    assert all(r.basis == "observed" for r in recs)


def test_predictions_fill_the_rest_without_repeating_an_observed_configuration():
    obs = [Recommendation(1, "p", {"x": 1}, 0.9, None, basis="observed")]
    pred = [Recommendation(i + 1, "p", {"x": x}, 0.5, 0.1) for i, x in enumerate([1, 3, 4])]
    out = merged(obs, pred, k=3)
    assert [(r.rank, r.config["x"], r.basis) for r in out] == [
        (1, 1, "observed"),
        (2, 3, "predicted"),
        (3, 4, "predicted"),
    ]


def test_shared_predictions_are_explained():
    recs = [
        Recommendation(i + 1, "p", {"x": i}, s, u)
        for i, (s, u) in enumerate([(0.8, 0.1), (0.8, 0.1), (0.7, 0.1)])
    ]
    notes = tie_notes(recs, "default")
    assert len(notes) == 1 and notes[0].startswith("ranks 1, 2 share one prediction")
    assert tie_notes(recs[1:], "default") == []
