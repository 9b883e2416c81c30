"""What ``metabase tune`` learns from and chooses among, read before anything runs.

- **History**: the task's stored local runs in scope (a pipeline in scope, the same fidelity,
  any seed), in the order they were stored. They count against the budget and are the first
  observations, which is how a killed ``tune`` resumes.
- **Training**: the store's runs of every other task (the target task is left out, so that the
  tune's own runs never change what it learned and a restart proposes as the first start did),
  or the starter knowledge base when the store has fewer than two such tasks, as ``recommend``
  does. With ``--pipeline``, the runs of those pipelines when they cover two tasks, else all.
- **Candidates**: ``samples`` configurations of each pipeline's ConfigSpace space under the
  tune's seed, plus ``recommend``'s own candidates for those pipelines (its fresh samples and the
  best configurations of every training task, canonicalised), among which are the zero-shot
  recommendations, plus any stored configuration of the task that is none of these; encoded as
  ``recommend`` encodes its query.
- **Cache**: the fitted strategy with its prepared data and the candidates that do not depend on
  the task's runs is cached beside the store (:func:`fitted`), so that a restarted or repeated
  tune skips reading the training runs and fitting (a minute on pimp's 92 tasks under load).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metabase.errors import InputError, StoreNotFoundError
from metabase.records import Fidelity

log = logging.getLogger(__name__)

RECOMMEND_SEED = 0  # the seed of `metabase recommend`'s fresh samples
LOWER_IS_BETTER = ("mean_absolute_error", "root_mean_squared_error")


@dataclass(frozen=True)
class Stored:
    """One stored run of the task in scope; ``value`` is its measure (None: it failed)."""

    run_key: str
    pipeline: str
    config: dict
    config_hash: str
    status: str
    value: float | None

    @property
    def identity(self) -> tuple[str, str]:
        return self.pipeline, self.config_hash


@dataclass(frozen=True)
class Candidates:
    """The configurations the strategy chooses among (aligned lists) and its query."""

    pipelines: list
    configs: list
    hashes: list
    query: object
    prepared: object
    source: str  # where the training runs came from: store or starter

    def index(self) -> dict[tuple[str, str], int]:
        return {(p, h): i for i, (p, h) in enumerate(zip(self.pipelines, self.hashes))}


def signed(measure: str, value: float | None) -> float | None:
    """Higher is better, whatever the measure."""
    if value is None or not np.isfinite(value):
        return None
    return -float(value) if measure in LOWER_IS_BETTER else float(value)


def history(ws, task_id: int, scope: list[str], fidelity: Fidelity, measure: str) -> list[Stored]:
    import pipelines as catalogue
    from metabase.store.runs import task_local_runs

    try:
        with ws.reader(starter=False) as con:
            rows = task_local_runs(con, task_id, measure) if "runs" in con.tables() else []
    except StoreNotFoundError:
        return []
    wanted = fidelity.to_dict()
    out = []
    for row in rows:
        if row["pipeline"] not in scope or json.loads(row["fidelity"] or "{}") != wanted:
            continue
        ok = row["status"] == "ok" and row["value"] is not None
        config = json.loads(row["config"] or "{}")
        out.append(
            Stored(
                row["run_key"],
                row["pipeline"],
                config,
                catalogue.config_hash(row["pipeline"], config),  # as the candidates' hashes
                row["status"],
                float(row["value"]) if ok else None,
            )
        )
    return out


def _runs(con, task_id: int, pipelines: list[str] | None):
    """(runs, tasks) of every task but ``task_id``: the given pipelines' when they cover two
    usable tasks, else every pipeline's.
    """
    from metabase.recommend.data import usable_tasks
    from metabase.services.recommend import load_store_data

    if "runs" not in con.tables():
        return None
    for scope in [pipelines, None] if pipelines else [None]:
        data = load_store_data(con, scope)
        runs = data.runs[data.runs["task_id"] != task_id].reset_index(drop=True)
        if len(usable_tasks(runs)) >= 2:
            return runs, data.tasks[data.tasks["task_id"] != task_id]
    return None


def _target_features(cons, task_id: int, data) -> dict:
    """The task's qualities where a store has them, else computed from its data."""
    from metabase.services.recommend import file_meta_features
    from metabase.store import run_queries

    for con in cons:
        values = run_queries.task_qualities(con, task_id)
        if values:
            return values
    return file_meta_features(data.X, data.y)


def training_data(ws, task_id: int, pipelines: list[str] | None):
    """(runs, tasks, source) to learn from; see the module doc."""
    from metabase import starter

    try:
        with ws.reader(starter=False) as con:
            found = _runs(con, task_id, pipelines)
            if found is not None:
                return (*found, "store")
    except StoreNotFoundError:
        pass
    if not starter.available():
        raise InputError(
            "the store holds runs of fewer than 2 other tasks to learn from: run "
            "`metabase import openml-pimp ...` or `metabase sync --flows ...` first"
        )
    con = starter.open_starter()
    try:
        found = _runs(con, task_id, pipelines)
        if found is None:
            raise InputError("the starter knowledge base holds runs of fewer than 2 other tasks")
        return (*found, "starter")
    finally:
        con.close()


def target_features(ws, task_id: int, data, source: str) -> dict:
    """The task's meta-features: the store's qualities, else (learning from the starter) the
    starter's, else computed from its data.
    """
    from metabase import starter
    from metabase.store import run_queries

    own: dict = {}
    try:
        with ws.reader(starter=False) as con:
            own = run_queries.task_qualities(con, task_id)
            if source == "store":
                return _target_features([con], task_id, data)
    except StoreNotFoundError:
        pass
    if own:
        return own
    con = starter.open_starter()
    try:
        return _target_features([con], task_id, data)
    finally:
        con.close()


@dataclass(frozen=True)
class Model:
    """The fitted strategy, the prepared data it learned from, and the candidate configurations
    that do not depend on the task's own runs (``pairs``).
    """

    prepared: object
    strategy: object
    pairs: list
    source: str  # store or starter
    cached: bool  # read from the cache beside the store


def fitted(ws, task_id, pipelines, scope, resolve, samples, seed, strategy) -> Model:
    """The fitted strategy, from the cache beside the store (``settings.model_dir``) when one was
    written for the same training state, code and options; else fitted and cached. The key is
    the store's state without the task's own runs (:func:`catalog.training_state`): the task is
    left out of training, so a restarted or repeated tune of it finds the cache its first start
    wrote, while a run, import or sync of any other task is a new key. A cache that cannot be
    read is rebuilt, with one warning.
    """
    from metabase.services import caches

    key = _key(ws, task_id, pipelines, scope, samples, seed, strategy)
    path = ws.settings.model_dir / f"tune-{task_id}-{strategy}-{key}.pkl"
    try:
        found = caches.load(path)
        return Model(found["prepared"], found["strategy"], found["pairs"], found["source"], True)
    except caches.CacheMiss as exc:
        if path.exists():
            log.warning("tune cache %s unusable (%s): refitting", path, exc)
    except (KeyError, TypeError) as exc:
        log.warning("tune cache %s unusable (%s: %s): refitting", path, type(exc).__name__, exc)
    from metabase.recommend.sequential import create_sequential

    runs, tasks, source = training_data(ws, task_id, pipelines)
    prepared, pairs = _prepare(runs, tasks, resolve, scope, samples, seed)
    fitted = create_sequential(strategy).fit(prepared.training())
    # the surrogate's design matrix is a third of the file and rebuilt on demand; nothing a
    # fitted strategy proposes with reads it
    prepared.cache.design = None
    payload = {"prepared": prepared, "strategy": fitted, "pairs": pairs, "source": source}
    try:
        caches.save(path, payload, keep=f"tune-{task_id}-{strategy}-")
    except OSError as exc:  # a read-only place: tune all the same, uncached
        log.info("cannot cache the fitted strategy in %s (%s)", path.parent, exc)
    return Model(prepared, fitted, pairs, source, False)


def _key(ws, task_id, pipelines, scope, samples, seed, strategy) -> str:
    """A digest of what the fitted strategy depends on (see :func:`fitted`)."""
    import hashlib
    from importlib.metadata import version

    import pipelines as catalogue
    from metabase import starter
    from metabase.services import caches
    from metabase.store import catalog

    state = ""  # a missing store is an empty one (catalog.training_state)
    try:
        with ws.reader(starter=False) as con:
            state = catalog.training_state(con, int(task_id))
    except StoreNotFoundError:
        pass
    parts = [
        caches.code_version(),
        _sources(Path(__file__), *Path(catalogue.__file__).parent.glob("*.py")),  # the spaces
        [version(lib) for lib in ("numpy", "scikit-learn", "lightgbm")],
        state,
        starter.manifest() if starter.available() else None,  # learnt from when the store is bare
        strategy,
        sorted(pipelines or []),
        scope,
        samples,
        seed,
    ]
    return hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _sources(*paths: Path) -> str:
    import hashlib

    digest = hashlib.sha1()
    for path in sorted(paths):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _prepare(runs, tasks, resolve, scope, samples, seed):
    """(prepared data, candidate pairs): ``samples`` configurations of each pipeline in scope,
    ``recommend``'s own candidates, and the canonical best configurations of the training tasks.
    """
    from metabase.recommend import candidates as pool
    from metabase.recommend.data import Prepared
    from metabase.services.recommend import FRESH_SAMPLES

    objs = {name: resolve(name) for name in scope}
    fresh = [(name, c) for name, p in objs.items() for c in p.sample(samples, seed=seed)]
    # recommend's own candidates (its fresh samples and pool): its zero-shot picks are among them
    fresh += pool.fresh_pairs(objs, FRESH_SAMPLES, RECOMMEND_SEED)
    prepared = Prepared.build(runs, tasks, extra_configs=fresh)
    pipes, configs, _ = pool.candidates(prepared, objs, 0, seed, None, runnable_only=True)
    pairs = list(fresh)
    for p, c in zip(pipes, configs):
        if p in objs:
            found = pool.canonical_of(objs, p, c)
            if found is not None:
                pairs.append((p, found[0]))
    return prepared, pairs


def candidates(model: Model, features: dict, stored: list[Stored]) -> Candidates:
    """The candidate configurations and their query (see the module doc)."""
    import pipelines as catalogue

    pairs = model.pairs + [(s.pipeline, s.config) for s in stored]
    out_p, out_c, out_h, seen = [], [], [], set()
    for p, c in pairs:
        digest = catalogue.config_hash(p, c)
        if (p, digest) not in seen:  # one candidate per configuration
            seen.add((p, digest))
            out_p.append(p)
            out_c.append(c)
            out_h.append(digest)
    query = model.prepared.query(features, out_p, out_c)
    return Candidates(out_p, out_c, out_h, query, model.prepared, model.source)
