"""Hyperparameter settings from exports -> canonical configs, through the pipeline catalogue.

Importers hand the typed parameter values of an OpenML flow to ``pipelines.map_openml``. When the
catalogue knows the flow, runs get its pipeline name and canonical config; when it does not (or the
values lie outside the pipeline's space), they keep the typed raw parameters with a hash of their
sorted JSON, so the same setting imported twice always gets the same ``config_hash``.

Cost: ``map_openml`` takes ~0.2 ms of CPU per call, which dominates importing tens of thousands of
runs (openml-pimp: ~1 s without it, ~10 s with it); it is called once per distinct setting.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Mapping

_TOKENS = {"None": None, "True": True, "False": False, "null": None, "true": True, "false": False}


def typed_token(text: Any) -> Any:
    """One value as written in an export (``True``, ``None``, ``18``, ``0.5``, ``gini``) ->
    typed.
    """
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
    from metabase.errors import ConfigError

    _, config_hash = _catalogue()
    try:
        return config_hash(pipeline, config)
    except ConfigError:  # a catalogue pipeline's name with a config outside its space
        return fallback_hash(pipeline, text if text is not None else config)


def _catalogue():
    # Imported here, not at module level, so that importing metabase.imports stays cheap. Not
    # optional: a missing catalogue would silently change every config and hash.
    from pipelines import config_hash, map_openml

    return map_openml, config_hash


def flow_pipeline(flow_id: int | None, flow_name: str | None) -> str | None:
    """The catalogue pipeline of an OpenML flow, or None when it is not in the catalogue."""
    from pipelines import match_flow

    pipeline = match_flow(flow_name, flow_id)
    return None if pipeline is None else pipeline.name


def _canonical_hasher(config_hash):
    """``config_hash`` re-canonicalizes its input (~0.4 ms a call). The configs map_openml returns
    are canonical already, so hashing their canonical JSON directly
    (``pipelines.values.hash_text``) gives the same hash at a fraction of the cost; checked on the
    first config, else not used.
    """
    from pipelines.values import hash_text

    state: dict[str, bool] = {}

    def hasher(pipeline: str, config: Mapping[str, Any]) -> str:
        if "same" not in state:
            state["same"] = hash_text(pipeline, config) == config_hash(pipeline, config)
        return hash_text(pipeline, config) if state["same"] else config_hash(pipeline, config)

    return hasher


def map_configs(
    parameters: list[dict[str, Any]], flow_id: int | None, flow_name: str | None = None
) -> tuple[list[str | None], list[str], list[str]]:
    """Map typed parameter dicts of one flow -> (pipeline per row, config JSON, config_hash).

    Calls the catalogue once per distinct parameter setting (repeats are served from a cache).
    """
    map_openml, config_hash = _catalogue()
    hasher = _canonical_hasher(config_hash)
    owner = f"flow:{flow_id}" if flow_id is not None else f"flow:{flow_name}"
    cache: dict[str, tuple[str | None, str, str]] = {}
    pipelines_, configs, hashes = [], [], []
    for params in parameters:
        raw = canonical_json(params)
        hit = cache.get(raw)
        if hit is None:
            mapped = map_openml(flow_name=flow_name, parameters=params, flow_id=flow_id)
            if mapped is None:
                hit = (None, raw, fallback_hash(owner, raw))
            else:
                pipeline, config = mapped
                hit = (pipeline, canonical_json(config), hasher(pipeline, config))
            cache[raw] = hit
        pipelines_.append(hit[0])
        configs.append(hit[1])
        hashes.append(hit[2])
    return pipelines_, configs, hashes


def invalid_known_values(pipeline: str, config: Mapping[str, Any]) -> str | None:
    """Why ``config`` cannot be a setting of the catalogue pipeline ``pipeline``, or None.

    Only the hyperparameters the catalogue knows are checked (``max_features: "banana"`` is
    refused for ``sklearn.random_forest``): the interchange format admits pipelines outside the
    catalogue and keys a pipeline does not know, and those stay accepted (DESIGN.md).
    """
    import pipelines
    from metabase.errors import ConfigError

    if pipeline not in pipelines.names():
        return None
    entry = pipelines.get(pipeline)
    known = {k: v for k, v in config.items() if k in entry.space}
    try:
        entry.canonicalize(known)
    except ConfigError as exc:
        return str(exc)
    return None
