"""The bot's policies (metabase.bot.policy, active, tune) and the simulation that proves them
(metabase.bot.simulate), on small synthetic worlds whose answers are known by construction.

The world: tasks with one meta-feature ``m`` in [0, 1], two pipelines. ``good`` has a
hyperparameter ``c`` whose best value is the task's ``m`` (score 0.6 + 0.3 exp(-((c - m) /
0.15)^2)); ``bad`` scores 0.5 whatever its ``k``, with three times as many configurations, which
teach nothing about where the best configuration is.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metabase.bot.policy import POLICIES, Choice, Knowledge, create_policy
from metabase.errors import InputError
from metabase.metadataset import MetaDataset
from metabase.recommend.sequential import SEQUENTIAL_DEFAULT


def world(n_tasks: int = 15, good: int = 12, bad: int = 36, seed: int = 0) -> MetaDataset:
    rng = np.random.default_rng(seed)
    m = rng.permutation(np.linspace(0.0, 1.0, n_tasks))
    rows = []
    for i, mi in enumerate(m):
        task = i + 1
        for c in np.linspace(0.0, 1.0, good):
            score = 0.6 + 0.3 * np.exp(-(((c - mi) / 0.15) ** 2)) + rng.normal(0, 0.003)
            rows.append((task, "good", json.dumps({"c": round(float(c), 4)}), score))
        for k in range(bad):
            rows.append((task, "bad", json.dumps({"k": k}), 0.5 + rng.normal(0, 0.003)))
    runs = pd.DataFrame(rows, columns=["task_id", "pipeline", "config", "score"])
    tasks = pd.DataFrame(
        {"task_id": np.arange(1, n_tasks + 1), "dataset_id": np.arange(1, n_tasks + 1), "m": m}
    )
    return MetaDataset(runs=runs, tasks=tasks)


def knowledge(meta: MetaDataset, known_per_task: int = 3, seed: int = 0) -> Knowledge:
    runs = meta.runs
    rng = np.random.default_rng(seed)
    known = np.concatenate(
        [
            rng.choice(rows, known_per_task, replace=False)
            for rows in runs.groupby("task_id").indices.values()
        ]
    )
    free = np.setdiff1d(np.arange(len(runs)), known)
    candidates = runs.iloc[free][["task_id", "pipeline", "config"]].assign(candidate=free + 1000)
    return Knowledge(runs.iloc[known], meta.tasks, candidates)


def _valid(k: Knowledge, picked: list[Choice], n: int) -> None:
    assert 0 < len(picked) <= n
    ids = [c.candidate for c in picked]
    assert len(set(ids)) == len(ids), "a candidate chosen twice"
    frame = k.candidates.set_index("candidate")
    for c in picked:
        row = frame.loc[c.candidate]
        assert (c.task_id, c.pipeline, c.config) == (row.task_id, row.pipeline, row.config)
        assert c.reason


@pytest.mark.parametrize("name", ["active", "tune", "random"])
def test_every_policy_returns_distinct_offered_candidates_deterministically(name):
    k = knowledge(world())
    policy = create_policy(name)
    picked = policy.choose(k, 12, seed=3)
    _valid(k, picked, 12)
    assert len(picked) == 12  # plenty of candidates within the caps: a full batch
    assert policy.choose(k, 12, seed=3) == picked
    assert create_policy(name).choose(k, 1, seed=3)[0].candidate in set(k.candidates.candidate)


def test_the_registry_names_the_three_policies_and_refuses_others():
    assert set(POLICIES) == {"active", "tune", "random"}
    with pytest.raises(InputError, match="unknown bot policy 'greedy'"):
        create_policy("greedy")


@pytest.mark.parametrize("name", ["active", "tune"])
def test_no_task_and_pipeline_takes_more_than_its_share_of_a_batch(name):
    k = knowledge(world())
    n = 20
    picked = create_policy(name, max_share=0.1).choose(k, n, seed=0)
    _valid(k, picked, n)
    per_pair = pd.Series([(c.task_id, c.pipeline) for c in picked]).value_counts()
    assert per_pair.max() <= 2  # ceil(0.1 * 20)


@pytest.mark.parametrize("name", ["active", "tune"])
def test_a_task_and_pipeline_with_max_runs_known_gets_no_more(name):
    meta = world()
    k = knowledge(meta, known_per_task=3)
    # task 1 gets 10 known runs of "good"; with max_runs=10 it must get no more of them
    extra = meta.runs[(meta.runs.task_id == 1) & (meta.runs.pipeline == "good")].head(10)
    runs = pd.concat([k.runs[~((k.runs.task_id == 1) & (k.runs.pipeline == "good"))], extra])
    known_keys = set(zip(runs.task_id, runs.config))
    candidates = k.candidates[
        [(t, c) not in known_keys for t, c in zip(k.candidates.task_id, k.candidates.config)]
    ]
    k = Knowledge(runs, meta.tasks, candidates)
    picked = create_policy(name, max_runs=10, max_share=1.0).choose(k, 60, seed=0)
    _valid(k, picked, 60)
    assert not [c for c in picked if (c.task_id, c.pipeline) == (1, "good")]


def test_active_spends_on_the_configurations_it_would_recommend():
    k = knowledge(world())
    picked = create_policy("active").choose(k, 30, seed=0)
    offered = (k.candidates.pipeline == "good").mean()  # 0.25: what random spends there
    share = np.mean([c.pipeline == "good" for c in picked])
    assert offered < 0.3 and share >= 0.8
    assert all(c.reason.startswith("active:") for c in picked)


def test_tune_serves_the_task_with_the_most_to_gain_first():
    meta = world()
    k = knowledge(meta, known_per_task=6)
    # task 2 knows one result only: it has everything to gain, so it goes first
    runs = pd.concat([k.runs[k.runs.task_id != 2], k.runs[k.runs.task_id == 2].head(1)])
    k = Knowledge(runs, meta.tasks, k.candidates)
    picked = create_policy("tune").choose(k, 5, seed=0)
    _valid(k, picked, 5)
    assert picked[0].task_id == 2 and f"tune: {SEQUENTIAL_DEFAULT}" in picked[0].reason


@pytest.mark.parametrize("name", ["active", "tune"])
def test_with_too_little_to_learn_the_model_policies_choose_at_random(name):
    meta = world()
    k = knowledge(meta)
    k = Knowledge(k.runs[k.runs.task_id == 1], meta.tasks, k.candidates)  # one task known
    picked = create_policy(name).choose(k, 4, seed=0)
    _valid(k, picked, 4)
    assert all(c.reason.startswith("random (") for c in picked)


def test_cost_turns_the_choice_towards_cheap_runs():
    k = knowledge(world())
    ids = k.candidates.candidate.to_numpy()
    first = create_policy("active").choose(k, 1, seed=0)[0].candidate
    cost = pd.Series(np.where(ids == first, 1e6, 1.0), index=ids)
    again = create_policy("active").choose(Knowledge(k.runs, k.tasks, k.candidates, cost), 1, 0)
    assert again[0].candidate != first
