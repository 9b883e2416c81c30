"""The importance facade: store -> one pipeline's runs -> fANOVA per task -> across-task summary.

- The pipeline must be in the catalogue: its ConfigSpace space gives the dimensions, their bounds,
  which hyperparameters are constants or conditional, and the default that tunability starts from.
- The runs come from named store functions (:mod:`metabase.store.run_scores`): the aggregate value
  of one measure (by default the one most of the pipeline's runs are scored by in ``run_configs``).
- Results are cached beside the store (``<store>.models/importance-*.json``, plain JSON), keyed on
  a digest of the runs (count, latest creation time, a checksum of keys, configs and scores), the
  options and the analysis code: a changed run, a new run or an upgrade recomputes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable

from metabase.errors import InputError, NotFoundError

log = logging.getLogger(__name__)

CACHE_VERSION = 1
CACHE_KEEP = 8  # cached results kept per pipeline and measure
TASK_CURVES = 3  # marginal curves drawn per task with --plot and --task


def importance(
    ws,
    pipeline: str,
    *,
    tasks: list[int] | None = None,
    measure: str | None = None,
    pairs: bool = False,
    tunability: bool = False,
    min_runs: int = 100,
    seed: int = 0,
    curves: int = 0,
    jobs: int = 1,
    plot: str | Path | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
):
    """The :class:`~metabase.importance.ImportanceResult` of ``pipeline``'s runs in the store.

    ``tasks`` restricts the analysis to those tasks (each must have ``min_runs`` runs); ``plot``
    writes the across-task figure, or with ``tasks`` the per-task bars and marginal curves.
    """
    import pipelines as catalogue
    from metabase.store import run_scores
    from metabase.store.measures import higher_is_better

    if min_runs < 2:
        raise InputError("--min-runs must be at least 2")
    spec = catalogue.get(pipeline)  # NotFoundError naming the catalogue for an unknown pipeline
    tasks = sorted({int(t) for t in tasks}) if tasks else None
    if plot and tasks:
        curves = max(curves, TASK_CURVES)
    with ws.reader() as con:
        measure = _measure(con, spec, measure)
        _check_counts(
            spec, measure, run_scores.task_run_counts(con, pipeline, measure), tasks, min_runs
        )
        options = [
            CACHE_VERSION,
            _code_version(),
            run_scores.runs_digest(con, pipeline, measure),
            pipeline,
            measure,
            tasks,
            pairs,
            tunability,
            min_runs,
            seed,
            curves,
        ]
        path = _cache_path(ws, pipeline, measure, options)
        result = _load(path) if use_cache else None
        if result is None:
            from metabase.importance import dimensions_from_space

            dims = dimensions_from_space(spec.space)
            runs = run_scores.run_scores(con, pipeline, measure, tasks)
            # the bounds come from all the pipeline's runs, whichever tasks are analysed
            ranges = run_scores.value_ranges(
                con, pipeline, measure, [d.name for d in dims if d.kind == "numeric"]
            )
            better = higher_is_better(con, measure)
    if result is None:  # the store is closed again: a long analysis never keeps a writer waiting
        from metabase.importance import analyse

        result = analyse(
            runs,
            dims,
            pipeline=pipeline,
            measure=measure,
            higher_is_better=better,
            default_config=spec.default_config(),
            pairs=pairs,
            tunability=tunability,
            curves=curves,
            min_runs=min_runs,
            seed=seed,
            jobs=jobs,
            ranges=ranges,
            progress=progress,
        )
        _save(path, result)
    if plot:
        from metabase.importance.plot import plot_across_tasks, plot_tasks

        plot_tasks(result, tasks, plot) if tasks else plot_across_tasks(result, plot)
    return result


def _flows_hint(spec) -> str:
    flows = ",".join(str(f) for f in spec.openml.flow_ids) or "<its OpenML flow ids>"
    return f"`metabase sync --flows {flows}`, or `metabase import` of an export that has them"


def _measure(con, spec, measure: str | None) -> str:
    from metabase.store import run_scores

    measures = run_scores.pipeline_measures(con, spec.name)
    if not measures:
        raise NotFoundError(
            f"the store has no scored runs of pipeline {spec.name}: import or sync them "
            f"first with {_flows_hint(spec)}"
        )
    if measure is None:
        return run_scores.main_measure(con, spec.name) or next(iter(measures))
    if measure not in measures:
        have = ", ".join(f"{m} ({n} runs)" for m, n in measures.items())
        raise InputError(f"the runs of {spec.name} have no measure {measure!r}; they have: {have}")
    return measure


def _check_counts(
    spec, measure: str, counts: dict[int, int], tasks: list[int] | None, min_runs: int
) -> None:
    """One clear line for every way the runs cannot support the analysis."""
    hint = f"import or sync more of its runs ({_flows_hint(spec)}) or lower --min-runs"
    if tasks:
        missing = [t for t in tasks if t not in counts]
        if missing:
            raise NotFoundError(
                f"task {', '.join(map(str, missing))} has no runs of {spec.name} scored by "
                f"{measure}: sync them with `metabase sync --tasks {missing[0]} --flows "
                f"{','.join(map(str, spec.openml.flow_ids)) or '...'}`"
            )
        few = {t: counts[t] for t in tasks if counts[t] < min_runs}
        if few:
            listed = ", ".join(f"task {t} has {n}" for t, n in few.items())
            raise InputError(
                f"too few runs of {spec.name} for --min-runs {min_runs}: {listed}; {hint}"
            )
        return
    if max(counts.values()) < min_runs:
        raise InputError(
            f"{spec.name} has at most {max(counts.values())} runs per task scored by {measure} "
            f"({sum(counts.values())} runs on {len(counts)} tasks), fewer than --min-runs "
            f"{min_runs} on every task; {hint}"
        )


def _code_version() -> str:
    """A digest of the analysis code, so that an upgrade never serves results of older code."""
    import metabase.importance as package

    digest = hashlib.sha1()
    for path in sorted([*Path(package.__file__).parent.glob("*.py"), Path(__file__)]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def _cache_path(ws, pipeline: str, measure: str, options: list) -> Path:
    digest = hashlib.sha1(json.dumps(options, default=str).encode()).hexdigest()[:16]
    return ws.settings.model_dir / f"importance-{_slug(pipeline)}-{_slug(measure)}-{digest}.json"


def _load(path: Path):
    from metabase.importance import ImportanceResult

    try:
        return ImportanceResult.from_cache(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
    ) as exc:  # a damaged or foreign file: recompute
        log.info("importance cache %s unusable (%s): recomputing", path, exc)
        return None


def _save(path: Path, result) -> None:
    """Write atomically, and keep only the newest few results of this pipeline and measure."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(result.to_cache()))
        os.replace(partial, path)
        prefix = path.name.rsplit("-", 1)[0] + "-"
        older = sorted(
            path.parent.glob(prefix + "*.json"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in older[CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only place: the result stands, uncached
        log.info("cannot cache the importance result in %s (%s)", path.parent, exc)
