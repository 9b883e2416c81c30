"""The import service: ``metabase import SOURCE PATH`` on a workspace's store."""

from __future__ import annotations

from pathlib import Path

from metabase.imports import get_importer
from metabase.imports.api import ImportResult, apply_batch, check_path


def import_(ws, source: str, path: str | Path) -> ImportResult:
    """Read the export (pure, may fail before the store is touched), then apply it in one
    transaction with its provenance."""
    importer = get_importer(source)
    path = check_path(Path(path), importer.expects)
    batch = importer.read(path)
    with ws.writer() as writer:
        counts = apply_batch(writer, batch)
    return ImportResult(source=batch.source, path=str(path), row_counts=counts)
