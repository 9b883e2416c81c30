"""Multi-fidelity in the live bot: the fidelity ladder of a pipeline, and promotions derived
from the store (:mod:`metabase.bot.halving` decides them).

A pipeline with a fidelity knob (``n_estimators`` in its space: trees and boosting rounds;
``max_epochs``: torch epochs) gets a ladder of rungs: the knob capped at each of ``rungs`` below
the bot's own fidelity, then the bot's fidelity itself (the top rung). A newly chosen
configuration runs at rung 0. Whenever a rung result of a (task, pipeline) is stored, the pair's
stored rung results go through :func:`~metabase.bot.halving.promotions`, with the hurdle: the
configuration best on similar tasks at the top fidelity (:func:`~metabase.bot.halving.
best_on_similar`), run at the same rungs. Each promotion is a job like any other; its run key
holds its fidelity, so proposing it again (a restart re-derives every pair's promotions) adds
nothing: no configuration is promoted twice.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from typing import Callable, Sequence

from metabase.records import Fidelity, run_key

RUNGS = {"n_estimators": (16, 64), "epochs": (5, 20)}  # the caps below the top rung
FINISHED = ("stored", "published", "failed")
RUNS_PER_TASK, BEST_PER_TASK = 200, 20  # the hurdle's sample of runs (the policy's knowledge's)


def knob(pipeline) -> str | None:
    """The :class:`Fidelity` field that makes ``pipeline`` cheaper, or None."""
    names = set(pipeline.space.keys())
    if "n_estimators" in names:
        return "n_estimators"
    if "max_epochs" in names:
        return "epochs"
    return None


def ladder(pipeline, top: Fidelity, rungs: Sequence[int] = ()) -> list[Fidelity]:
    """The pipeline's rungs, cheapest first, ending at ``top``; ``[top]`` without a knob."""
    field = knob(pipeline)
    if field is None:
        return [top]
    cap = getattr(top, field)
    caps = sorted({int(c) for c in (rungs or RUNGS[field]) if cap is None or c < cap})
    return [replace(top, **{field: c}) for c in caps] + [top]


def job(
    task_id: int,
    pipeline: str,
    config: dict,
    seed: int,
    fidelity: Fidelity,
    reason: str,
    rung: int | None = None,
    hurdle: bool = False,
    screening: bool = False,
) -> dict:
    """A ``bot_jobs`` row; ``screening``: below the top rung of its ladder (see migration 010:
    not learned from, not published).
    """
    import pipelines as catalogue

    digest = catalogue.config_hash(pipeline, config)
    return {
        "run_key": run_key(task_id, pipeline, digest, seed, fidelity),
        "task_id": int(task_id),
        "pipeline": pipeline,
        "config": json.dumps(config, sort_keys=True),
        "config_hash": digest,
        "seed": int(seed),
        "fidelity": json.dumps(fidelity.to_dict(), sort_keys=True),
        "reason": reason,
        "rung": rung,
        "hurdle": hurdle,
        "screening": screening,
    }


def promotion_jobs(
    con,
    task_id: int,
    pipeline: str,
    rungs: list[Fidelity],
    seed: int,
    hurdle: Callable[[], dict | None],
    eta: int,
) -> list[dict]:
    """The jobs successive halving asks for now on (task, pipeline): promotions and the hurdle's
    runs. ``hurdle`` gives the reference configuration when the pair has none stored yet.
    """
    import pipelines as catalogue
    from metabase.bot.halving import promotions
    from metabase.store import bot as store
    from metabase.store.run_queries import task_run_scores

    jobs = [j for j in store.rung_jobs(con, task_id, pipeline) if j["rung"] < len(rungs)]
    if not jobs:
        return []
    configs = {j["config_hash"]: json.loads(j["config"]) for j in jobs}
    reference = next((j["config_hash"] for j in jobs if j["hurdle"]), None)
    if reference is None and (found := hurdle()) is not None:
        reference = catalogue.config_hash(pipeline, found)
        configs.setdefault(reference, found)
    done = [j for j in jobs if j["state"] in FINISHED]
    scores = task_run_scores(con, task_id, [j["run_key"] for j in done])
    # a failed run scores -inf: it is never promoted, and a failed hurdle lets anything pass
    results = [
        (j["config_hash"], j["rung"], scores.get(j["run_key"], -float("inf"))) for j in done
    ]
    best = {(c, r): s for c, r, s in sorted(results, key=lambda x: x[2])}
    out = []
    for p in promotions(results, range(len(rungs)), eta, hurdle=reference):
        rung, below = int(p.fidelity), int(p.fidelity) - 1
        if p.candidate != reference and best.get((p.candidate, below)) == -float("inf"):
            continue
        out.append(
            job(
                task_id,
                pipeline,
                configs[p.candidate],
                seed,
                rungs[rung],
                p.reason,
                rung,
                p.candidate == reference,
                rung < len(rungs) - 1,
            )
        )
    return out


def hurdle_config(con, task_id: int, pipeline: str, top: Fidelity) -> dict | None:
    """The best configuration of ``pipeline`` on the tasks most similar to ``task_id``, judged
    by the store's runs at the ``top`` fidelity (imported runs count as full fidelity), or None.
    """
    import pandas as pd

    import pipelines as catalogue
    from metabase.bot.halving import best_on_similar
    from metabase.errors import MetabaseError
    from metabase.store import bot as store
    from metabase.store import run_queries

    runs = run_queries.sampled_runs(con, [pipeline], cap=RUNS_PER_TASK, best=BEST_PER_TASK)
    other = {
        key
        for key, text in store.local_fidelities(con, pipeline).items()
        if (json.loads(text) if text else {}) != top.to_dict()
    }
    runs = runs[~runs["run_key"].isin(other)]
    ids = sorted({*runs["task_id"].astype(int), int(task_id)})
    tasks = pd.DataFrame({"task_id": pd.Series(ids, dtype="int64")}).merge(
        run_queries.task_features(con, ids), on="task_id", how="left"
    )
    with warnings.catch_warnings():  # tasks without meta-features: all equally near
        warnings.simplefilter("ignore", RuntimeWarning)
        text = best_on_similar(runs, tasks, task_id, pipeline)
    if text is None:
        return None
    try:
        config = json.loads(text)
        catalogue.config_hash(pipeline, config)  # a configuration outside the space: no hurdle
    except (MetabaseError, ValueError, KeyError):
        return None
    return config
