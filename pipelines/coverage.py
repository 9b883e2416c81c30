"""How much of a body of OpenML runs the catalogue understands, per flow.

Pure: records in, records out. The store side (which runs, which flows) belongs to the caller; this
module only says, per flow, which pipeline it is and how many of its runs map to a valid
configuration of that pipeline's space.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipelines.openml_map import map_openml, match_flow


def pipeline_for_flow(flow_name: str | None, flow_id: int | None = None) -> str | None:
    """The catalogue pipeline a flow is (what ``flows.pipeline`` holds), or None."""
    pipeline = match_flow(flow_name, flow_id)
    return None if pipeline is None else pipeline.name


def flow_coverage(runs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per flow: its pipeline, its run count, and the fraction of runs that map to a catalogue
    configuration.

    Each run record has ``flow_id`` and, where known, ``flow_name``, ``parameters`` (a mapping of
    OpenML parameter values) and ``n_features``. A run without parameters counts as mapped when
    its flow is a catalogue pipeline (``config_known`` then says the values were not checked).
    """
    flows: dict[Any, dict[str, Any]] = {}
    for run in runs:
        key = run.get("flow_id"), run.get("flow_name")
        row = flows.get(key)
        if row is None:
            row = flows[key] = {
                "flow_id": key[0],
                "flow_name": key[1],
                "pipeline": pipeline_for_flow(key[1], key[0]),
                "runs": 0,
                "mapped_runs": 0,
                "config_known": True,
            }
        row["runs"] += 1
        if row["pipeline"] is None:
            continue
        parameters = run.get("parameters")
        if parameters is None:
            row["config_known"] = False
            row["mapped_runs"] += 1
        elif map_openml(key[1], parameters, key[0], n_features=run.get("n_features")) is not None:
            row["mapped_runs"] += 1
    out = sorted(flows.values(), key=lambda r: (-r["runs"], str(r["flow_id"])))
    for row in out:
        row["fraction"] = row["mapped_runs"] / row["runs"]
    return out
