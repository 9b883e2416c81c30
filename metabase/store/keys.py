"""How the store names things that have no name of their own.

A run whose flow maps onto no catalogue pipeline is known by its flow: ``flow-<flow id>``. The
store's SQL spells the same key in the ``run_pipeline_key`` macro (migration 005), which the
``run_configs`` view's ``pipeline_key`` column and the store's queries use.
"""

from __future__ import annotations

FLOW_KEY_PREFIX = "flow-"


def flow_key(flow_id: int) -> str:
    """The pipeline key of a flow that is not in the catalogue, e.g. ``flow-6969``."""
    return f"{FLOW_KEY_PREFIX}{flow_id}"


def is_flow_key(name: str) -> bool:
    """Whether ``name`` is a flow's key (``flow-<id>``) rather than a catalogue pipeline's name."""
    return name.startswith(FLOW_KEY_PREFIX)
