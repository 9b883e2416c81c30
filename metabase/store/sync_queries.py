"""The queries ``metabase sync`` asks of the store: what it already holds (so that it fetches
only what is missing) and the one set-based UPDATE that links runs to their setups.
"""

from __future__ import annotations

import json

import numpy as np

from metabase.store.catalog import has_relation, row_count


def known(con, entity: str) -> tuple[dict[str, tuple[int, int]], set[int], set[int], set[int]]:
    """What a sync need not fetch again: (window marks of ``entity``, OpenML datasets, datasets
    with OpenML qualities, OpenML flows); nothing in a file without the sync's tables.
    """
    if not has_relation(con, "sync_state"):
        return {}, set(), set(), set()
    return (
        window_marks(con, entity),
        openml_datasets(con),
        datasets_with_openml_qualities(con),
        openml_flows(con),
    )


def window_marks(con, entity: str) -> dict[str, tuple[int, int]]:
    """Filter key -> (next position, rows so far) of each list window of ``entity``."""
    marks = {}
    for key, high in con.execute(
        "SELECT filter_key, high_water FROM sync_state WHERE entity = ?", [entity]
    ).fetchall():
        mark = json.loads(high or "{}")
        marks[key] = (int(mark.get("pos", 0)), int(mark.get("rows", 0)))
    return marks


def openml_datasets(con) -> set[int]:
    return {
        r[0]
        for r in con.execute("SELECT dataset_id FROM datasets WHERE source = 'openml'").fetchall()
    }


def datasets_with_openml_qualities(con) -> set[int]:
    return {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT dataset_id FROM dataset_qualities WHERE source = 'openml'"
        ).fetchall()
    }


def openml_flows(con) -> set[int]:
    return {
        r[0] for r in con.execute("SELECT flow_id FROM flows WHERE source = 'openml'").fetchall()
    }


def counts(con, tables) -> dict[str, int]:
    return {t: row_count(con, t) for t in tables}


def flows_lacking(con) -> list[int]:
    """Flows that OpenML runs use and the store does not hold, by id."""
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT flow_id FROM runs WHERE source = 'openml' AND flow_id IS NOT NULL "
            "AND flow_id NOT IN (SELECT flow_id FROM flows) ORDER BY 1"
        ).fetchall()
    ]


def setups_lacking(con) -> np.ndarray:
    """Setups that OpenML runs use and the store does not hold: sorted unique ids."""
    return con.execute(
        "SELECT DISTINCT setup_id FROM runs WHERE source = 'openml' AND setup_id IS NOT NULL "
        "AND setup_id NOT IN (SELECT setup_id FROM setups) ORDER BY 1"
    ).fetchnumpy()["setup_id"]


def flow_names(con) -> dict[int, str]:
    return dict(con.execute("SELECT flow_id, name FROM flows").fetchall())


def link_runs_to_setups(writer) -> None:
    """OpenML runs without a config take their setup's pipeline, config and config_hash, in one
    set-based UPDATE (the caller holds the transaction).
    """
    writer.execute(
        "UPDATE runs SET config = s.config, config_hash = s.config_hash, "
        "pipeline = coalesce(s.pipeline, runs.pipeline) FROM setups s "
        "WHERE runs.source = 'openml' AND runs.config IS NULL AND runs.setup_id = s.setup_id"
    )


def set_checkpoint_threshold(writer, size: str) -> None:
    """Let the write-ahead log grow to ``size`` (e.g. ``1GB``) before DuckDB checkpoints."""
    writer.execute(f"SET checkpoint_threshold = '{size}'")
