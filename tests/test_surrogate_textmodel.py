"""The numpy reader of saved LightGBM models predicts what LightGBM itself predicts."""

from __future__ import annotations

import numpy as np
import pytest

from metabase.surrogate.textmodel import load_text_surrogate


@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_text_models_predict_as_lightgbm_does(tmp_path, missing):
    from metabase.surrogate.model import LGBMSurrogate

    rng = np.random.default_rng(1)
    n = 1500
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.uniform(size=n),
            rng.integers(0, 12, n).astype(float),
            rng.integers(0, 3, n).astype(float),
            np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n)),
        ]
    )
    y = (
        np.sin(X[:, 0])
        + (X[:, 2] % 3 == 0) * 0.8
        - 0.5 * (X[:, 3] == 1)
        + X[:, 4]
        + rng.normal(0, 0.1, n)
    )
    X[rng.random(X.shape) < missing] = np.nan
    model = LGBMSurrogate(
        n_models=3,
        n_estimators=40,
        num_leaves=15,
        min_child_samples=5,
        categorical_features=(2, 3),
        random_state=0,
    ).fit(X, y, rng.integers(0, 20, n))
    model.save(tmp_path)
    text, _ = load_text_surrogate(tmp_path)
    test = np.column_stack(
        [
            rng.normal(size=400),
            rng.uniform(size=400),
            rng.integers(-1, 15, 400).astype(float),
            rng.integers(0, 3, 400).astype(float),
            np.where(rng.random(400) < 0.3, 0.0, 1.0),
        ]
    )
    test[rng.random(test.shape) < 0.1] = np.nan
    expected_mean, expected_std = model.predict(test, return_std=True)
    mean, std = text.predict(test, return_std=True)
    np.testing.assert_allclose(mean, expected_mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(std, expected_std, rtol=0, atol=1e-9)
    assert expected_std.max() > 0  # the members differ, so the spread is really compared
    # the whole-model walk gives, bit for bit, what walking tree after tree gives
    for trees, forest in zip(text.members, text.forests):
        tree_by_tree = sum(t.predict(test) for t in trees)
        np.testing.assert_array_equal(forest.predict(test), tree_by_tree)
