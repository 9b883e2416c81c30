"""The starter knowledge base: a small, real store that ships inside the package.

A fresh install has no store, and a store created by ``metabase init --empty`` or a first import
may have no runs yet. The starter holds what the redistributable real OpenML exports say
(openml-pimp's 47,000 random-forest runs with typed configurations and the OpenML100 tasks'
qualities, TabRepo's task list, LCDB's dataset qualities, task 14951), as one compressed Parquet
file per store table in ``data/``, built by ``python -m metabase.starter.build``.

- :func:`store_or_starter` is what :meth:`metabase.workspace.Workspace.reader` hands out: the
  store, or, when it does not exist or holds no runs, the starter (a DuckDB file in the user's
  cache, built on first use; in memory where no cache can be written), with one warning on stderr
  that says so.
- :func:`init_store` creates a store seeded with the starter (``metabase init``; ``import`` and
  ``sync`` into a new store with ``--seed-starter``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from metabase.errors import StoreError, StoreNotFoundError

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
MANIFEST = "manifest.json"
DEFAULT_PARTS = "default_parts.json"  # the parts `default` chooses on the starter, and for what
SOURCE = "starter"  # provenance of the rows a seeded store got from here
GROW_HINT = (
    "learn from more with `metabase sync --suite OpenML-CC18 --max-runs 100` "
    "(or `metabase init` for a store of your own)"
)

_announced: set[str] = set()


def _dir(data: Path | None) -> Path:
    return Path(data) if data is not None else DATA


def available(data: Path | None = None) -> bool:
    return (_dir(data) / MANIFEST).is_file()


def manifest(data: Path | None = None) -> dict:
    return json.loads((_dir(data) / MANIFEST).read_text())


def default_parts(data: Path | None = None) -> dict | None:
    """``{"training": digest, "parts": [...]}``: what ``default`` chose on the starter's runs
    (written by the build), or None.
    """
    path = _dir(data) / DEFAULT_PARTS
    return json.loads(path.read_text()) if path.is_file() else None


def describe(data: Path | None = None) -> str:
    """What the starter holds and from when, in one clause."""
    info = manifest(data)
    s = info["summary"]
    names = [src["name"] for src in info["sources"]]
    sources = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return (
        f"{s['runs']:,} runs of {', '.join(s['pipelines'])} on {s['tasks_with_runs']} tasks, "
        f"{s['tasks_with_qualities']} tasks with their qualities; "
        f"built {info['built']} from {sources}"
    )


def _files(data: Path) -> dict[str, Path]:
    return {table: data / f"{table}.parquet" for table in manifest(data)["tables"]}


def starter_batch(data: Path | None = None):
    """The starter as an import batch (source ``starter``) that merges with what a store holds,
    as an import does.
    """
    import pyarrow.parquet as pq

    from metabase.imports.base import ImportBatch, TableLoad
    from metabase.store import TABLE_KEYS

    data = _dir(data)
    loads = []
    for table, file in _files(data).items():
        rows = pq.read_table(file)
        if table in TABLE_KEYS:
            loads.append(TableLoad(table, rows, mode="upsert"))
        else:  # evaluations: a run owns its evaluations
            loads.append(TableLoad(table, rows, mode="replace", by=("run_key",)))
    return ImportBatch(source=SOURCE, loads=tuple(loads), path=data)


def _seed(writer, data: Path, fresh: bool) -> dict[str, int]:
    """Fill ``writer``'s store with the starter: appended when the store is new, merged
    otherwise.
    """
    from metabase.imports.api import apply_batch
    from metabase.store.snapshot import load_tables

    if fresh:
        return load_tables(writer, _files(data), SOURCE, data)
    return apply_batch(writer, starter_batch(data))


@lru_cache(maxsize=2)
def _memory_store(data: Path):
    from metabase.store.snapshot import open_memory_writer

    writer = open_memory_writer(data)
    _seed(writer, data, fresh=True)
    return writer


def open_starter(data: Path | None = None):
    """A read-only connection to the starter: its DuckDB file in the user's cache (built on the
    first call, see :mod:`metabase.starter.cache`), else loaded into memory once per process.
    """
    from metabase.starter.cache import open_cached

    data = _dir(data)
    tables = list(manifest(data)["tables"])
    con = open_cached(data, tables, lambda writer: _seed(writer, data, fresh=True))
    if con is not None:
        return con
    from metabase.store.snapshot import memory_reader

    return memory_reader(_memory_store(data))


def store_or_starter(store_path: Path, data: Path | None = None, wait_s: float | None = None):
    """A read-only connection to the store at ``store_path``; the starter instead when that store
    does not exist or holds no runs (and the starter is installed).
    """
    from metabase.store import open_reader
    from metabase.store.snapshot import has_runs

    try:
        con = open_reader(store_path) if wait_s is None else open_reader(store_path, wait_s=wait_s)
    except StoreNotFoundError:
        if not available(data):
            raise
        reason = f"no store at {store_path}"
    else:
        if has_runs(con) or not available(data):
            return con
        con.close()
        reason = f"the store {store_path} holds no runs"
    _announce(reason, data)
    return open_starter(data)


def _announce(reason: str, data: Path | None) -> None:
    """One warning per store and process (``recommend`` opens its store more than once)."""
    if reason not in _announced:
        _announced.add(reason)
        log.warning(
            "%s: answering from the starter knowledge base (%s); %s",
            reason,
            describe(data),
            GROW_HINT,
        )


@dataclass(frozen=True)
class InitResult:
    path: Path
    created: bool
    seeded: bool
    row_counts: dict[str, int] = field(default_factory=dict)
    runs_before: int = 0


def init_store(store_path: Path, seed: bool = True, data: Path | None = None) -> InitResult:
    """Create the store at ``store_path`` (schema only) and, with ``seed``, fill it with the
    starter in one transaction. A store that already holds runs is left as it is.
    """
    from metabase.store import open_writer
    from metabase.store.snapshot import has_runs, knowledge_summary

    store_path = Path(store_path)
    if seed and not available(data):
        raise StoreError(
            f"the starter knowledge base is not installed (no {_dir(data) / MANIFEST}): "
            "build it with `python -m metabase.starter.build`"
        )
    created = not store_path.exists()
    with open_writer(store_path) as writer:
        if has_runs(writer):
            return InitResult(
                store_path, created, False, runs_before=knowledge_summary(writer)["runs"]
            )
        if not seed:
            return InitResult(store_path, created, False)
        counts = _seed(writer, _dir(data), fresh=created)
    return InitResult(store_path, created, True, counts)
