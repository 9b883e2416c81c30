"""The recommend service: store -> meta-dataset -> strategy -> recommendations.

- The runs come from the store (:func:`metabase.store.run_queries.sampled_runs`: each run's main
  evaluation, higher-is-better). Per task and pipeline at most ``MAX_RUNS_PER_TASK`` runs are used
  (a deterministic sample) plus its ``BEST_RUNS_KEPT`` best runs, which bounds the cost for stores
  with millions of runs. The sample does not depend on the task asked about, so the prepared data
  (parsed and encoded configurations, scaled meta-features) is cached beside the models, keyed on
  the store's state: a warm ``recommend`` for any task skips reading and encoding the runs.
- The target task's meta-features come from the store, else from OpenML through the gateway
  (dataset fetched, qualities computed), or from a local file.
- Candidates and records: :mod:`metabase.recommend.candidates`. Caches of prepared data and
  trained models: :mod:`metabase.services.caches`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from metabase.errors import InputError, MetabaseError, NotFoundError
from metabase.recommend.candidates import (
    BEST_RUNS_KEPT,
    best_canonical,
    canonical_of,
    canonical_pool,
    fresh_pairs,
    merged,
    neighbour_evidence,
    observed_recommendations,
    order_note,
    task_pool,
    tie_notes,
    top_recommendations,
)
from metabase.services import caches
from metabase.store import catalog, run_queries
from metabase.store.keys import is_flow_key

if TYPE_CHECKING:  # a warm call never imports pandas: the prepared data is cached without it
    import pandas as pd

log = logging.getLogger(__name__)

MAX_RUNS_PER_TASK = 200
FRESH_SAMPLES = 200
MODEL_VERSION = 2
OBSERVED_RUNS = BEST_RUNS_KEPT  # the task's best runs read as observed evidence (the cache has
# their canonical configs: each task's best runs are in the prepared sample)


@dataclass(frozen=True)
class StoreData:
    runs: pd.DataFrame  # run_key, openml_run_id, task_id, pipeline, config, score
    tasks: pd.DataFrame  # task_id, meta-feature columns
    state: str  # store state key (cache key part)


def load_store_data(con, pipelines: list[str] | None = None) -> StoreData:
    """The runs (sampled per task and pipeline, scores higher-is-better) and their tasks'
    features.
    """
    runs = run_queries.sampled_runs(con, pipelines, cap=MAX_RUNS_PER_TASK, best=BEST_RUNS_KEPT)
    runs = runs.sort_values(["task_id", "pipeline", "run_key"], ignore_index=True)
    tasks = run_queries.task_features(con, sorted(int(t) for t in runs["task_id"].unique()))
    return StoreData(runs, tasks, catalog.store_state(con))


def task_meta_features(ws, con, task_id: int) -> tuple[dict, str]:
    """(qualities, where they came from): the store, else OpenML (fetch the dataset, compute)."""
    values = run_queries.task_qualities(con, task_id)
    if values:
        return values, "store"
    if ws.settings.offline:
        raise NotFoundError(
            f"task {task_id} has no meta-features in the store and --offline forbids "
            f"fetching it: run `metabase sync --tasks {task_id}` first"
        )
    from metabase.services.features import openml_table

    try:
        X, y, _ = openml_table(ws, task_id=task_id)
    except (ImportError, AttributeError) as exc:
        raise NotFoundError(
            f"task {task_id} is not in the store and cannot be fetched here ({exc}); "
            f"run `metabase sync --tasks {task_id}`"
        ) from None
    except NotFoundError:
        raise NotFoundError(
            f"unknown task {task_id}: it is neither in the store nor on OpenML"
        ) from None
    except MetabaseError as exc:
        raise NotFoundError(
            f"task {task_id} is not in the store and fetching it failed ({exc}); "
            f"run `metabase sync --tasks {task_id}` when OpenML is reachable"
        ) from None
    return file_meta_features(X, y), "openml"


def file_meta_features(X, y) -> dict:
    from metabase.metafeatures import compute, infer_task

    # integer class codes (eeg-eye-state's 1/2) are classification targets, not regression
    result = compute(X, y, task=infer_task(y, class_codes=True))
    return {k: v for k, v in result.values.items() if v is not None and np.isfinite(v)}


def catalogue_pipelines(names) -> dict:
    import pipelines as catalogue

    known = set(catalogue.names())
    return {name: catalogue.get(name) for name in names if name in known}


def check_pipelines(requested: list[str] | None, runs: pd.DataFrame) -> None:
    if not requested:
        return
    import pipelines as catalogue

    known = set(catalogue.names()) | set(runs["pipeline"].unique())
    unknown = [p for p in requested if p not in known]
    if unknown:
        raise NotFoundError(
            f"pipeline {', '.join(unknown)} is not in the catalogue: "
            "`metabase pipelines list` shows the catalogue"
        )
    lacking = [p for p in requested if p not in set(runs["pipeline"])]
    if lacking:
        raise NotFoundError(
            f"no usable runs for pipeline {', '.join(lacking)}: run "
            "`metabase sync --flows ...` or `metabase import ...` for it first"
        )


def _check_request(task_id, dataset, k: int, pipelines, strategy: str) -> None:
    """Refuse a malformed request before the store is opened."""
    from metabase.recommend import names as strategy_names

    if (task_id is None) == (dataset is None):
        raise InputError("give either --task ID or --dataset PATH (with --target COL)")
    if strategy not in strategy_names():
        raise InputError(
            f"unknown strategy {strategy!r}; choose from {', '.join(strategy_names())}"
        )
    if k < 1:
        raise InputError("--k must be at least 1")
    if pipelines:
        import pipelines as catalogue

        missing = [p for p in pipelines if p not in catalogue.names() and not is_flow_key(p)]
        if missing:
            raise NotFoundError(
                f"pipeline {', '.join(missing)} is not in the catalogue: "
                "`metabase pipelines list` shows the catalogue"
            )


def _prepared(ws, con, pipelines, fresh: int, seed: int):
    """(prepared meta-dataset, cache key) for the store as it is now. The prepared data is cached
    in the model directory under a key of the store's state, the code and the options, and rebuilt
    when any of them changes.
    """
    from metabase.recommend.data import Prepared, usable_tasks

    key = json.dumps(
        [
            MODEL_VERSION,
            caches.code_version(),
            catalog.store_state(con),
            sorted(pipelines or []),
            fresh,
            seed,
        ]
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    model_dir = ws.settings.model_dir
    path = model_dir / f"data-{digest}.pkl"
    try:
        return caches.load(path), path
    except caches.CacheMiss as exc:
        if path.exists():
            log.warning("prepared-data cache %s unusable (%s): rebuilding", path, exc)
    data = load_store_data(con, pipelines)
    if data.runs.empty and pipelines:
        raise NotFoundError(
            f"no usable runs for pipeline {', '.join(pipelines)}: run "
            "`metabase sync --flows ...` or `metabase import ...` for it first"
        )
    if data.runs.empty:
        raise NotFoundError(
            "the store has no runs with evaluations: run "
            "`metabase import openml-pimp ...` or `metabase sync --flows ...` first"
        )
    check_pipelines(pipelines, data.runs)
    if len(usable_tasks(data.runs)) < 2:
        raise InputError(
            "the store's runs cover fewer than 2 tasks with varying scores: import or "
            "sync runs of more tasks before asking for recommendations"
        )
    pipeline_objs = catalogue_pipelines(sorted(data.runs["pipeline"].unique()))
    prepared = Prepared.build(
        data.runs, data.tasks, extra_configs=fresh_pairs(pipeline_objs, fresh, seed)
    )
    _save_prepared(path, prepared)
    return prepared, path


def default_parts(ws) -> dict:
    """The parts ``default`` chooses on the store's runs, with the digest of that training: the
    starter ships it (``metabase.starter.DEFAULT_PARTS``), so that its first ``recommend`` does
    not choose.
    """
    from metabase.recommend import create

    with ws.reader(starter=False) as con:
        prepared, _ = _prepared(ws, con, None, FRESH_SAMPLES, 0)
    training = prepared.training()
    parts = create("default").choose(training)
    return {"training": caches.training_digest(training), "parts": list(parts)}


def _save_prepared(path, prepared) -> None:
    """Cache the prepared data with what was derived from it alone (candidates, the portfolio's
    pool), never a trained model (saved apart, as LightGBM text) or the design matrix (cheap to
    rebuild, large to store).
    """
    cache = replace(prepared.cache, surrogate=None, design=None)
    try:
        caches.save(path, replace(prepared, cache=cache), keep="data-")
    except OSError as exc:  # a read-only place: recommend all the same, uncached
        log.info("cannot cache the prepared data in %s (%s)", path.parent, exc)


def _candidates(prepared, pipelines, fresh: int, seed: int, task_id: int | None):
    """(pipelines, configs, rows, canonical, canon): the cached candidates that do not depend on
    the task, plus the task's own best runs when it has any; ``canon(pipeline, config, run key)``
    canonicalises a configuration, from the cache where it can. Only a cache miss loads the
    catalogue (and ConfigSpace with it).
    """
    cache, key = prepared.cache, (fresh, seed, not pipelines)
    loaded: dict = {}

    def objs() -> dict:
        if not loaded:
            loaded.update(catalogue_pipelines(sorted(set(prepared.column("pipeline")))))
        return loaded

    if key not in cache.candidates or cache.runnable is None:
        cache.candidates[key] = canonical_pool(prepared, objs(), fresh, seed, not pipelines)
        cache.canonical.update(best_canonical(prepared, objs()))
        cache.runnable = set(objs())

    def canon(pipeline: str, config: dict, run_key: str):
        if run_key in cache.canonical:
            return cache.canonical[run_key]
        return canonical_of(objs(), pipeline, config)

    pool = cache.candidates[key]
    if task_id is None:
        return (*pool, canon)
    extra = task_pool(prepared, cache.runnable, task_id, not pipelines, canon)
    return (*(a + b for a, b in zip(pool, extra)), canon)


def _task_scale(con, task_id: int, pipelines) -> tuple[float, float]:
    """(worst, best - worst) of the task's scores, higher is better: predictions are normalised
    within the task, and shown on its scale.
    """
    found = run_queries.task_score_range(con, task_id, pipelines)
    return (found[0], found[1] - found[0]) if found else (0.0, 1.0)


def recommend(
    ws,
    *,
    task_id: int | None = None,
    dataset: str | None = None,
    target: str | None = None,
    k: int = 10,
    pipelines: list[str] | None = None,
    strategy: str = "default",
    fresh: int = FRESH_SAMPLES,
    seed: int = 0,
):
    """Recommendations for a stored or OpenML task (``task_id``), or a local data file
    (``dataset``).
    """
    from metabase.recommend import create
    from metabase.recommend.records import RecommendationSet

    _check_request(task_id, dataset, k, pipelines, strategy)
    with ws.reader() as con:
        prepared, path = _prepared(ws, con, pipelines, fresh, seed)
        in_store = task_id is not None and int(task_id) in set(prepared.task_ids)
        scale = _task_scale(con, int(task_id), pipelines) if in_store else (0.0, 1.0)
        # what ran on the task itself outranks any model: its best runs come first
        best_runs = (
            run_queries.best_task_runs(con, int(task_id), pipelines, OBSERVED_RUNS)
            if task_id is not None
            else None
        )
        if dataset is not None:
            from metabase.metafeatures import load_table

            X, y = load_table(dataset, target)
            if y is None:
                raise InputError("--dataset needs --target COL (the column to predict)")
            features, source = file_meta_features(X, y), "file"
        else:
            features, source = task_meta_features(ws, con, task_id)
    digest = path.stem.removeprefix("data-")
    derived = (
        len(prepared.cache.candidates),
        len(prepared.cache.pools),
        len(prepared.cache.canonical),
    )
    chosen = caches.fit_cached(
        create(strategy), prepared.training(), ws.settings.model_dir, f"{strategy}-{digest}"
    )
    pipes, configs, rows, canonical, canon = _candidates(
        prepared, pipelines, fresh, seed, int(task_id) if in_store else None
    )
    query = prepared.query(features, pipes, configs)
    scores = chosen.predict(query)
    observed = (
        []
        if not best_runs
        else observed_recommendations(
            best_runs, int(task_id), canon, -(-k // 2), neighbour_evidence(prepared, scores)
        )
    )
    predicted = top_recommendations(
        prepared,
        scale,
        scores,
        pipes,
        canonical,
        rows,
        k + len(observed),
        query_scaled=query.scaled,
    )
    if (
        len(prepared.cache.candidates),
        len(prepared.cache.pools),
        len(prepared.cache.canonical),
    ) != derived:
        _save_prepared(path, prepared)  # the next call skips the catalogue and the pool
    recs = _with_runtimes(ws, merged(observed, predicted, k))
    notes = tie_notes(recs, strategy) + order_note(recs, strategy)
    if observed:
        notes.insert(
            0,
            f"ranks 1-{len(observed)} ran on task {task_id}: their scores are observed "
            "(± the spread over folds or runs, where known); the rest are predicted",
        )
    return RecommendationSet(
        task_id=None if task_id is None else int(task_id),
        strategy=strategy,
        recommendations=tuple(recs),
        source=source,
        notes=tuple(notes),
    )


def _with_runtimes(ws, recs):
    """Mean run time (seconds) of each recommendation's supporting runs, where the store has it."""
    keys = sorted({e["run_key"] for r in recs for e in r.evidence if e.get("run_key")})
    if not keys:
        return recs
    with ws.reader() as con:
        seconds = run_queries.mean_runtimes(con, keys)
    if not seconds:
        return recs
    out = []
    for rec in recs:
        values = [seconds[e["run_key"]] for e in rec.evidence if e.get("run_key") in seconds]
        out.append(
            replace(rec, expected_runtime=round(float(np.mean(values)), 3)) if values else rec
        )
    return out
