"""The import service: ``metabase import SOURCE PATH`` on a workspace's store."""

from __future__ import annotations

from pathlib import Path

from metabase.errors import as_import_errors
from metabase.imports import get_importer
from metabase.imports.api import ImportResult, apply_batch, check_path


def import_(ws, source: str, path: str | Path, wait_s: float | None = None) -> ImportResult:
    """Read the export (pure, may fail before the store is touched), then apply it in one
    transaction with its provenance. ``wait_s``: how long to wait for a running import, sync or
    reader to release the store.
    """
    importer = get_importer(source)
    path = check_path(Path(path), importer.expects)
    with as_import_errors():  # the shared readers' errors are import errors here
        batch = importer.read(path)
    with ws.writer(wait_s) as writer:
        counts = apply_batch(writer, batch)
    return ImportResult(source=batch.source, path=str(path), row_counts=counts)
