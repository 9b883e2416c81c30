"""Hand recommendations to optimisers: Optuna trials to enqueue, a SMAC initial design."""

from __future__ import annotations

import json
from pathlib import Path

from metabase.errors import InputError


def optuna_trials(result) -> list[dict]:
    """``[{"params": {...}, "user_attrs": {...}}, ...]``: for each,
    ``study.enqueue_trial(t["params"], user_attrs=t["user_attrs"])``. Parameters that are None
    (inactive, e.g. ``max_depth: None``) are left out: Optuna suggests nothing for them.
    """
    trials = []
    for rec in result.recommendations:
        params = {k: v for k, v in rec.config.items() if v is not None}
        trials.append(
            {
                "params": params,
                "user_attrs": {
                    "metabase_rank": rec.rank,
                    "metabase_pipeline": rec.pipeline,
                    "metabase_predicted_score": rec.predicted_score,
                },
            }
        )
    return trials


def smac_initial_design(result) -> dict:
    """``{"pipeline": ..., "configurations": [{...}, ...]}`` per pipeline: dictionaries that
    ``ConfigSpace.Configuration(space, values=...)`` accepts (inactive, None-valued parameters
    dropped), in rank order, for SMAC's ``additional_configs``.
    """
    by_pipeline: dict[str, list] = {}
    for rec in result.recommendations:
        by_pipeline.setdefault(rec.pipeline, []).append(
            {k: v for k, v in rec.config.items() if v is not None}
        )
    return {
        "task_id": result.task_id,
        "designs": [{"pipeline": p, "configurations": c} for p, c in by_pipeline.items()],
    }


def write_export(result, kind: str, path: str | Path) -> Path:
    path = check_export_path(path)
    payload = optuna_trials(result) if kind == "optuna" else smac_initial_design(result)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    except OSError as exc:
        raise InputError(
            f"--export {kind} {path}: cannot write it ({exc.strerror or type(exc).__name__})"
        ) from None
    return path


def check_export_path(path: str | Path) -> Path:
    """The export file, refused up front when it names a directory (the recommendation takes a
    while).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"--export {path}: is a directory; give a file name such as trials.json")
    return path
