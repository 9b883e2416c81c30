"""A local OpenML: REST API v1 (XML, and JSON converted from it) served from the real exports.

``start_server(data_dir)`` starts it in a background thread and returns a handle with ``url``
(``http://127.0.0.1:PORT/api/v1/xml``), ``stop()`` and context-manager support. The parsed data
is cached per data directory per process, so starting another server is cheap.

What it serves and where it comes from:

* recorded responses from ``openml-python/`` (as recorded, download URLs rewritten): see
  ``recorded.py``;
* tasks and datasets from TabRepo, ``extra/tasks_supplement.csv``, tabular-benchmark's suite
  table, the OpenML100 quality match and the seed SQL: see ``catalog.py``;
* runs, setups and evaluations of the openml-pimp export (flow 6969) and the study exports, with
  the deterministic ids documented in ``ids.py``;
* studies 14 (OpenML100) and 99 (OpenML-CC18, partial), also by alias: see ``entities.py``;
* data files and generated (not OpenML's) splits: see ``datafiles.py``;
* uploads (POST flow, POST run) validated against the official XSDs: see ``uploads.py``;
* faults (``faults.py``) and scale mode (``scale.py``, synthetic and labelled so).

List calls cap ``limit`` at 1,000 (or the ``cap`` fault), answer an empty result with HTTP 412 and
the entity's "no results" code, and accept ``low..high`` id ranges besides comma lists.
"""

from __future__ import annotations

from pathlib import Path

from .server import ReplayHandle


def start_server(data_dir, host: str = "127.0.0.1", port: int = 0, faults=None,
                 scale: int | None = None) -> ReplayHandle:
    """Start a replay server on ``host:port`` (0 = a free port) and return its handle."""
    from .server import start

    return start(Path(data_dir), host=host, port=port, faults=faults, scale=scale)


__all__ = ["ReplayHandle", "start_server"]
