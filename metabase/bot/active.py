"""The ``active`` policy: run where the meta-models are most unsure, per predicted second.

The cross-task surrogate (recommend's LightGBM ensemble, each member trained on a bootstrap of the
tasks) is trained on the known runs and scores every candidate. For each task its ``shortlist``
best-predicted candidates are the configurations it would recommend there; among those, the ones
on which the ensemble disagrees most (its standard deviation, per predicted second when costs are
given) are run first. Disagreement anywhere would spend the budget on configurations no
recommendation would ever reach; disagreement at the recommended ones is what decides a
recommendation, so that is where a result teaches most. Past the shortlists, the rest follow by
the same disagreement, so that a batch is always filled. Pure.
"""

from __future__ import annotations

import numpy as np

from metabase.bot.model import eligible, learn, per_second, random_choices, with_reasons
from metabase.bot.records import Choice, Knowledge, capped


def choose_active(
    knowledge: Knowledge,
    n: int,
    seed: int,
    shortlist: int = 10,
    n_models: int = 5,
    max_share: float = 0.1,
    max_runs: int | None = None,
) -> list[Choice]:
    knowledge = eligible(knowledge, max_runs)
    if n <= 0 or knowledge.candidates.empty:
        return []
    learned = learn(knowledge)
    if learned is None:
        return random_choices(knowledge, n, seed, max_share, max_runs, "too little to learn from")
    mean, std = predict(learned, n_models, seed)
    value = per_second(knowledge, learned.ids, std)
    recommended = shortlisted(learned.task_ids, mean, shortlist)
    tie = np.random.default_rng(seed).random(len(value))
    order = np.lexsort((tie, -value, ~recommended))
    picked = capped(knowledge, learned.ids[order], n, max_share, max_runs)
    position = {int(i): k for k, i in enumerate(learned.ids)}
    reasons = []
    for i in picked:
        k = position[int(i)]
        where = "a recommended" if recommended[k] else "an unrecommended"
        reasons.append(
            f"active: ensemble spread {std[k]:.3f} at {where} configuration "
            f"(predicted {mean[k]:.2f} of the task's range)"
        )
    return with_reasons(knowledge, picked, reasons)


def predict(learned, n_models: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The surrogate ensemble's mean and spread at every candidate."""
    from metabase.recommend.surrogate import SurrogateStrategy

    training = learned.prepared.training()
    model = SurrogateStrategy(n_models=n_models, random_state=seed).fit(training).model_
    rows = np.arange(len(learned.ids))
    x = np.hstack([learned.features_of(rows), learned.tree])
    return model.predict(x, return_std=True)


def shortlisted(task_ids: np.ndarray, mean: np.ndarray, shortlist: int) -> np.ndarray:
    """True for each task's ``shortlist`` best-predicted candidates."""
    order = np.lexsort((-mean, task_ids))
    sorted_tasks = task_ids[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_tasks)) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    out = np.zeros(len(mean), bool)
    out[order] = rank < shortlist
    return out
