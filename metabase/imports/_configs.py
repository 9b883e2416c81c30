"""Hyperparameter settings from exports -> canonical configs, through the pipeline catalogue.

Importers hand the typed parameter values of an OpenML flow to ``pipelines.map_openml``. When the
catalogue knows the flow, runs get its pipeline name and canonical config; when it does not (or the
catalogue is not importable), they keep the typed raw parameters, hashed the same way, so the same
setting imported twice always gets the same ``config_hash``.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Mapping

_TOKENS = {"None": None, "True": True, "False": False, "null": None, "true": True, "false": False}


def typed_token(text: Any) -> Any:
    """One value as written in an export (``True``, ``None``, ``18``, ``0.5``, ``gini``) -> typed."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if not isinstance(text, str):
        return text
    token = text.strip()
    if token in _TOKENS:
        return _TOKENS[token]
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return token


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)


def canonical_json(config: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces: the same setting always gives the same text."""
    return _ENCODER.encode(config)


def fallback_hash(owner: str, config: Mapping[str, Any] | str) -> str:
    """sha256 of the owner (pipeline name, or ``flow:<id>``) and the canonical JSON config."""
    text = config if isinstance(config, str) else canonical_json(config)
    return hashlib.sha256(f"{owner}\n{text}".encode("utf-8")).hexdigest()[:32]


def hash_config(pipeline: str, config: Mapping[str, Any], text: str | None = None) -> str:
    """The catalogue's hash for a catalogue pipeline, else :func:`fallback_hash`."""
    _, config_hash = _catalogue()
    if config_hash is not None:
        try:
            return config_hash(pipeline, config)
        except Exception:  # noqa: BLE001 - not a catalogue pipeline: hash it generically
            pass
    return fallback_hash(pipeline, text if text is not None else config)


def _catalogue():
    try:
        import pipelines
    except ImportError:
        return None, None
    return getattr(pipelines, "map_openml", None), getattr(pipelines, "config_hash", None)


def flow_pipeline(flow_id: int | None, flow_name: str | None) -> str | None:
    """The catalogue pipeline of an OpenML flow, or None when it is not in the catalogue."""
    map_openml, _ = _catalogue()
    if map_openml is None:
        return None
    mapped = map_openml(flow_name=flow_name, parameters={}, flow_id=flow_id)
    return None if mapped is None else mapped[0]


def map_configs(
    parameters: list[dict[str, Any]], flow_id: int | None, flow_name: str | None = None
) -> tuple[list[str | None], list[str], list[str]]:
    """Map typed parameter dicts of one flow -> (pipeline per row, config JSON, config_hash)."""
    map_openml, config_hash = _catalogue()
    owner = f"flow:{flow_id}" if flow_id is not None else f"flow:{flow_name}"
    pipelines_, configs, hashes = [], [], []
    for params in parameters:
        mapped = None
        if map_openml is not None:
            mapped = map_openml(flow_name=flow_name, parameters=params, flow_id=flow_id)
        if mapped is None:
            text = canonical_json(params)
            pipelines_.append(None)
            configs.append(text)
            hashes.append(fallback_hash(owner, text))
        else:
            pipeline, config = mapped
            pipelines_.append(pipeline)
            configs.append(canonical_json(config))
            hashes.append(config_hash(pipeline, config) if config_hash else fallback_hash(pipeline, config))
    return pipelines_, configs, hashes
