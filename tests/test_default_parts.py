"""``default`` chooses its parts once per training: the choice is cached with its models, and the
starter ships the choice made on it, so that a first ``recommend`` does not pay for it.
"""

from __future__ import annotations

import json
import logging

import pytest

from metabase.recommend import create
from metabase.recommend.data import Prepared
from metabase.recommend.default import BLEND, DefaultStrategy
from metabase.services import caches
from metabase.testing.strategy_contract import shifted_optimum


@pytest.fixture
def training():
    runs, tasks, _ = shifted_optimum(n_tasks=8, n_runs=30)
    return Prepared.build(runs, tasks).training()


@pytest.fixture
def choices(monkeypatch):
    """The parts ``choose`` returns (settable), and how often it ran."""
    made = {"calls": 0, "parts": BLEND}

    def choose(self, training):
        made["calls"] += 1
        return made["parts"]

    monkeypatch.setattr(DefaultStrategy, "choose", choose)
    return made


def test_a_cached_fit_does_not_choose_again(training, choices, tmp_path):
    first = caches.fit_cached(create("default"), training, tmp_path, "default-k")
    again = caches.fit_cached(create("default"), training, tmp_path, "default-k")
    assert choices["calls"] == 1
    assert json.loads((tmp_path / "default-k" / "parts.json").read_text()) == list(BLEND)
    assert again.chosen_ == first.chosen_ == BLEND
    query = training.prepared.task_query(int(training.task_ids[0]))
    assert list(again.rank(query)) == list(first.rank(query))


def test_parts_without_a_model_are_cached_alone(training, choices, tmp_path):
    choices["parts"] = ("portfolio",)
    caches.fit_cached(create("default"), training, tmp_path, "default-k")
    assert not (tmp_path / "default-k" / "surrogate").exists()
    again = caches.fit_cached(create("default"), training, tmp_path, "default-k")
    assert choices["calls"] == 1 and again.chosen_ == ("portfolio",)


@pytest.mark.parametrize("text", ['["surrog', '["portfolio"]'])
def test_a_corrupt_or_disagreeing_parts_file_is_chosen_again(
    training, choices, tmp_path, caplog, text
):
    caches.fit_cached(create("default"), training, tmp_path, "default-k")
    # truncated JSON, or parts without the surrogate beside a saved surrogate
    (tmp_path / "default-k" / "parts.json").write_text(text)
    with caplog.at_level(logging.WARNING):
        again = caches.fit_cached(create("default"), training, tmp_path, "default-k")
    assert choices["calls"] == 2 and again.chosen_ == BLEND
    assert "unusable" in caplog.text


def test_the_fixed_blend_neither_chooses_nor_takes_a_cached_choice(training, choices):
    from metabase.recommend.base import Models

    blend = create("blend").fit(training, Models(parts=("portfolio",)))
    assert blend.chosen_ == BLEND and choices["calls"] == 0


def test_the_shipped_choice_is_used_only_for_the_starters_training(training, choices, monkeypatch):
    from metabase import starter

    digest = caches.training_digest(training)
    monkeypatch.setattr(
        starter, "default_parts", lambda data=None: {"training": digest, "parts": ["portfolio"]}
    )
    assert create("default").fit(training).chosen_ == BLEND  # a plain fit chooses
    fitted = caches._shipped_parts(create("default"), training)
    assert fitted.parts == ("portfolio",)
    other = Prepared.build(*shifted_optimum(n_tasks=8, n_runs=30, seed=1)[:2]).training()
    assert caches._shipped_parts(create("default"), other) is None
    assert caches._shipped_parts(create("blend"), training) is None


@pytest.mark.slow
def test_the_starter_ships_what_default_chooses_on_it(tmp_path):
    from metabase import starter
    from metabase.services.recommend import default_parts
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    store = tmp_path / "store.duckdb"
    starter.init_store(store)
    chosen = default_parts(Workspace(Settings.resolve(store=store, offline=True)))
    assert chosen == starter.default_parts()


@pytest.mark.slow
def test_a_first_recommend_on_the_starter_does_not_choose(tmp_path, monkeypatch, capsys):
    from cli.main import main

    def refuse(self, training):
        raise AssertionError("default chose its parts on the starter")

    monkeypatch.setattr(DefaultStrategy, "choose", refuse)
    rc = main(
        ["--offline", "--store", str(tmp_path / "none.duckdb"), "recommend", "--task", "14951"]
    )
    assert rc == 0, capsys.readouterr().err


def test_strategies_fitted_on_one_fold_choose_once(training, monkeypatch):
    from metabase.recommend.sequential import create_sequential

    calls = []
    monkeypatch.setattr(
        DefaultStrategy, "_choose", lambda self, training, tasks: calls.append(1) or BLEND
    )
    create("default").fit(training)
    create_sequential("rgpe").fit(training)
    assert len(calls) == 1
    other = training.prepared.training(exclude=int(training.task_ids[0]))
    create("default").fit(other)
    assert len(calls) == 2
