"""What ``metabase run`` is asked to run, checked before anything is fetched or written.

Sources of configurations: one ``--config`` JSON (keys left out take the space's defaults),
``--sample N`` random ones, ``--recommended N`` of ``recommend``, or a ``--configs FILE``: JSON
lines (``{"pipeline": ..., "config": {...}}`` per line), or a file that ``recommend --export``
or ``recommend --format json`` wrote. Every configuration is validated against its pipeline's
ConfigSpace space; errors name the pipeline, the hyperparameter and what it allows.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Callable

from metabase.errors import ConfigError, InputError
from metabase.records import Fidelity

Candidate = tuple[str, dict]  # (pipeline, canonical config)


def check_limits(
    time_limit: float | None, memory_limit: float | None, workers: int | None
) -> None:
    for name, value in (
        ("--time-limit", time_limit),
        ("--memory-limit", memory_limit),
        ("--workers", workers),
    ):
        if value is not None and not (
            isinstance(value, (int, float)) and math.isfinite(value) and value > 0
        ):
            raise InputError(f"{name} must be a positive number, not {value!r}")


def parse_memory(text: str | float | None) -> float | None:
    """``2048``, ``2048M``, ``2G`` or ``512MB`` -> MiB."""
    if text is None or isinstance(text, (int, float)):
        return text
    match = re.fullmatch(r"\s*(-?[0-9.]+)\s*([kKmMgG]?)[bB]?\s*", str(text))
    if not match:
        raise InputError(f"--memory-limit must be a size such as 2048, 512M or 2G, not {text!r}")
    try:
        value = float(match.group(1))
    except ValueError:
        raise InputError(
            f"--memory-limit must be a size such as 2048, 512M or 2G, not {text!r}"
        ) from None
    return value * {"k": 1 / 1024, "m": 1.0, "g": 1024.0, "": 1.0}[match.group(2).lower()]


def parse_fidelity(text: str | None) -> Fidelity:
    """``n_estimators=16,epochs=2,data_fraction=0.5`` -> :class:`Fidelity`."""
    if not text:
        return Fidelity()
    values: dict[str, Any] = {}
    for part in text.split(","):
        key, _, raw = part.partition("=")
        key = key.strip()
        try:
            if key in ("n_estimators", "epochs"):
                values[key] = int(raw)
                ok = values[key] > 0
            elif key == "data_fraction":
                values[key] = float(raw)
                ok = 0 < values[key] <= 1
            else:
                raise InputError(
                    f"--fidelity knows n_estimators, epochs and data_fraction, not {key!r}"
                )
        except ValueError:
            ok = False
        if not ok:
            raise InputError(
                f"--fidelity {key} must be a positive integer (data_fraction: in (0, 1]), "
                f"not {raw!r}"
            )
    return Fidelity(**values)


def parse_config(text: str | None) -> dict:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(
            f"--config is not valid JSON ({exc.msg} at character {exc.pos}): "
            "give an object such as '{\"max_features\": 0.3}'"
        ) from None
    if not isinstance(value, dict):
        raise InputError(
            f"--config must be a JSON object of hyperparameters, not {type(value).__name__}"
        )
    return value


def canonical(resolve: Callable[[str], Any], pipeline: str, config: dict) -> Candidate:
    """(pipeline, canonical config); NotFoundError for an unknown pipeline, ConfigError for a bad
    hyperparameter or value.
    """
    entry = resolve(pipeline)
    return pipeline, entry.canonicalize(config)


def from_file(path: str | Path, resolve, default_pipeline: str | None) -> list[Candidate]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read --configs {path}: {exc.strerror or exc}") from None
    try:
        items = _file_items(text, default_pipeline)
    except ValueError as exc:
        raise InputError(
            f"--configs {path} is not JSON lines or a `recommend` export: {exc}"
        ) from None
    if not items:
        raise InputError(f"--configs {path} holds no configurations")
    out = []
    for number, (pipeline, config) in enumerate(items, 1):
        if not pipeline:
            raise InputError(
                f"--configs {path}: configuration {number} names no pipeline (give --pipeline)"
            )
        try:
            out.append(canonical(resolve, pipeline, config))
        except ConfigError as exc:
            raise ConfigError(f"--configs {path}, configuration {number}: {exc}") from None
    return out


def _file_items(text: str, default_pipeline: str | None) -> list[tuple[str | None, dict]]:
    stripped = text.strip()
    if not stripped:
        return []
    try:
        whole = json.loads(stripped)
    except ValueError:
        whole = None
        lines = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    else:
        lines = whole if isinstance(whole, list) else [whole]
    if isinstance(whole, dict) and "recommendations" in whole:  # recommend --format json
        lines = whole["recommendations"]
    if isinstance(whole, dict) and "designs" in whole:  # recommend --export smac
        return [
            (d.get("pipeline"), dict(c))
            for d in whole["designs"]
            for c in d.get("configurations", [])
        ]
    out = []
    for item in lines:
        if not isinstance(item, dict):
            raise ValueError(f"a line holds {type(item).__name__}, not an object")
        if "params" in item:  # recommend --export optuna
            attrs = item.get("user_attrs") or {}
            out.append((attrs.get("metabase_pipeline") or default_pipeline, dict(item["params"])))
        elif "config" in item:
            out.append((item.get("pipeline") or default_pipeline, dict(item["config"])))
        else:  # a bare configuration
            out.append((default_pipeline, dict(item)))
    return out


def check_task_type(resolve, candidates: list[Candidate], task_type: str, task_id: int) -> None:
    for pipeline in sorted({p for p, _ in candidates}):
        supported = resolve(pipeline).task_types
        if task_type not in supported:
            raise InputError(
                f"{pipeline} is a {'/'.join(supported)} pipeline and task {task_id} is a "
                f"{task_type} task: choose a pipeline that supports {task_type} "
                "(`metabase pipelines list`)"
            )
