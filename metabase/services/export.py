"""The export service: ``metabase export meta-dataset`` from a workspace's store."""

from __future__ import annotations

from pathlib import Path

from metabase.exports import ExportResult, export_meta_dataset
from metabase.exports.meta_dataset import DEFAULT_MEASURE


def export(
    ws,
    directory: str | Path,
    *,
    pipeline: str | None = None,
    flow: int | None = None,
    measure: str = DEFAULT_MEASURE,
) -> ExportResult:
    """Write the selected runs and their tasks' meta-features as a meta-dataset directory,
    reading through a read-only connection (an export never blocks an import for long).
    """
    with ws.reader() as con:
        return export_meta_dataset(con, directory, pipeline=pipeline, flow=flow, measure=measure)
