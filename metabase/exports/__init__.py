"""Writing the store's contents out in exchange formats (the reverse of :mod:`metabase.imports`).

Exporters read through a read-only connection that the caller opens, so an export never blocks
on, or interferes with, a running import.
"""

from metabase.exports.meta_dataset import ExportResult, export_meta_dataset

__all__ = ["ExportResult", "export_meta_dataset"]
