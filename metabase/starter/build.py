"""Build the starter knowledge base from the real OpenML exports.

    python -m metabase.starter.build [--data ../shared/openml-data] [--out metabase/starter/data]

Only exports whose licences allow redistribution go in (:data:`SOURCES`, with their attributions).
Each is imported with its own importer (``metabase import``) into a temporary store; then every
knowledge table that holds rows is written as one zstd-compressed Parquet file, its rows in the
table's key order, so the files are exactly what a store holds after those imports, and two builds
from the same data give the same rows. ``manifest.json`` lists the tables, the sources and the
build date; ``LICENSES/`` holds the sources' licence texts and ``NOTICE.md`` their attributions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from metabase.starter import DATA, DEFAULT_PARTS, MANIFEST

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 9,
    "row_group_size": 1 << 20,
    "use_dictionary": True,
}
FORMAT = 1


@dataclass(frozen=True)
class Source:
    name: str  # as messages name it
    importer: str  # ``metabase import`` source
    path: str  # relative to the data folder
    licence: str  # SPDX identifier, or what is known when none is stated
    licence_file: str | None  # the licence text, relative to the data folder
    origin: str
    attribution: str


SOURCES = (
    Source(
        "openml-pimp",
        "openml-pimp",
        "openml-pimp/KDD2018/data/arff/random_forest.arff",
        "BSD-3-Clause",
        "openml-pimp/LICENSE",
        "github.com/janvanrijn/openml-pimp, commit 349043fb",
        "J. N. van Rijn and F. Hutter, Hyperparameter Importance Across Datasets, "
        "KDD 2018: 47,000 "
        "OpenML runs of flow 6969 (random forest) and the OpenML qualities of the "
        "100 OpenML100 tasks",
    ),
    Source(
        "TabRepo",
        "tabrepo-metadata",
        "tabrepo",
        "Apache-2.0",
        "tabrepo/LICENSE",
        "github.com/autogluon/tabrepo (task_metadata*.csv of several commits)",
        "D. Salinas and N. Erickson, TabRepo: A Large Scale Repository of Tabular Model "
        "Evaluations "
        "and its AutoML Applications, AutoML 2024: OpenML's task list (task, dataset, procedure, "
        "target) with basic qualities",
    ),
    Source(
        "LCDB",
        "lcdb",
        "lcdb/lcdb/datasets.csv",
        "MIT",
        "lcdb/LICENSE.txt",
        "the lcdb 0.1.0 package (Felix Mohr)",
        "F. Mohr, T. J. Viering, M. Loog and J. N. van Rijn, LCDB 1.0: An Extensive "
        "Learning Curves "
        "Database for Classification Tasks, ECML PKDD 2022: OpenML qualities of 219 datasets",
    ),
    Source(
        "tasks_supplement",
        "openml-task-list",
        "extra/tasks_supplement.csv",
        "no licence stated: one row of facts from OpenML's public task list",
        None,
        "openml-data/extra/tasks_supplement.csv",
        "OpenML task 14951 (OpenML-CC18): 10-fold cross-validation on eeg-eye-state "
        "(dataset 1471), "
        "target Class",
    ),
)


def _built_date() -> str:
    """Today (UTC), or the day of ``SOURCE_DATE_EPOCH`` for a reproducible build."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    )
    return moment.date().isoformat()


def _check_sources(data: Path) -> None:
    from metabase.errors import InputError

    missing = [s.path for s in SOURCES if not (data / s.path).exists()]
    if missing:
        raise InputError(
            f"{data} lacks {', '.join(missing)}: give the openml-data folder with --data"
        )


def import_sources(store: Path, data: Path) -> None:
    """Import every source into the (new) store at ``store``, as ``metabase import`` would."""
    from metabase.imports import get_importer
    from metabase.imports.api import apply_batch, check_path
    from metabase.store import open_writer

    for source in SOURCES:
        importer = get_importer(source.importer)
        batch = importer.read(check_path(data / source.path, importer.expects))
        with open_writer(store) as writer:
            apply_batch(writer, batch)


def write_tables(store: Path, out: Path) -> tuple[dict[str, int], dict]:
    """One Parquet file per knowledge table with rows; (row counts, summary)."""
    import pyarrow.parquet as pq

    from metabase.store import open_reader
    from metabase.store.snapshot import knowledge_summary, snapshot_tables, table_rows

    counts = {}
    with open_reader(store) as con:
        for table in snapshot_tables(con):
            rows = table_rows(con, table)
            pq.write_table(rows, out / f"{table}.parquet", **PARQUET_OPTIONS)
            counts[table] = rows.num_rows
        summary = knowledge_summary(con)
    return counts, summary


def _write_default_parts(store: Path, out: Path) -> None:
    """What ``default`` chooses on the starter (see :func:`metabase.starter.default_parts`)."""
    from metabase.services.recommend import default_parts
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    settings = Settings.resolve(store=store, offline=True)
    parts = default_parts(Workspace(settings))
    (out / DEFAULT_PARTS).write_text(json.dumps(parts, indent=2) + "\n")


def _write_notices(data: Path, out: Path) -> None:
    licences = out / "LICENSES"
    licences.mkdir()
    lines = [
        "# The starter knowledge base's sources",
        "",
        "Converted by `python -m metabase.starter.build` from the exports below into "
        "Parquet tables of "
        "the metabase store (imported, typed and reshaped as `metabase import` does; "
        "no values changed). "
        "The values themselves are OpenML's (openml.org; J. Vanschoren, J. N. van Rijn, "
        "B. Bischl and "
        "L. Torgo, OpenML: networked science in machine learning, SIGKDD Explorations "
        "15(2), 2013).",
        "",
    ]
    for source in SOURCES:
        line = f"- **{source.name}** ({source.origin}; {source.licence}): {source.attribution}."
        if source.licence_file:
            name = f"{source.name}-{source.licence}.txt"
            shutil.copyfile(data / source.licence_file, licences / name)
            line += f" Licence: `LICENSES/{name}`."
        lines.append(line)
    (out / "NOTICE.md").write_text("\n".join(lines) + "\n")


def build(data: Path, out: Path = DATA) -> dict:
    """Build the starter from the exports in ``data`` into ``out`` (replacing what is there)."""
    from metabase.errors import InputError

    data, out = Path(data), Path(out)
    _check_sources(data)
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise InputError(
            f"{out} is not empty and holds no starter ({MANIFEST}): give an empty or new --out"
        )
    with tempfile.TemporaryDirectory(prefix="metabase-starter-") as tmp:
        store = Path(tmp) / "starter.duckdb"
        import_sources(store, data)
        staging = Path(tmp) / "out"
        staging.mkdir()
        counts, summary = write_tables(store, staging)
        _write_default_parts(store, staging)
        _write_notices(data, staging)
        info = {
            "format": FORMAT,
            "built": _built_date(),
            "tables": counts,
            "summary": summary,
            "sources": [asdict(s) for s in SOURCES],
        }
        (staging / MANIFEST).write_text(json.dumps(info, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(staging, out)
    return info


def _default_data() -> Path:
    from metabase.settings import default_openml_data

    return default_openml_data() or Path("../shared/openml-data")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m metabase.starter.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="the openml-data folder (default: ../shared/openml-data)",
    )
    parser.add_argument(
        "--out", type=Path, default=DATA, help=f"where the files go (default: {DATA})"
    )
    args = parser.parse_args(argv)
    from metabase.errors import MetabaseError

    try:
        info = build(args.data or _default_data(), args.out)
    except MetabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(
        f"wrote {args.out} ({size / 1e6:.1f} MB): "
        + ", ".join(f"{t} {n:,}" for t, n in info["tables"].items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
