"""qualities-csv importer on the real openml_dataset_qualities_2872.csv."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from metabase.settings import Settings
from metabase.store import open_reader
from metabase.workspace import Workspace

pytestmark = pytest.mark.realdata

CSV = Path("qualities/openml_dataset_qualities_2872.csv")
DOCUMENTED_DATASETS = 2_872


def _ws(store: Path) -> Workspace:
    return Workspace(Settings.resolve(store=str(store)))


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def _non_empty_quality_cells(header: list[str], rows: list[list[str]]) -> int:
    quality_columns = [i for i, name in enumerate(header) if name not in ("Id", "Name", "Runs")]
    return sum(
        1 for row in rows for i in quality_columns if row[i] != "" and math.isfinite(float(row[i]))
    )


def test_whole_file(openml_data, tmp_path):
    path = openml_data / CSV
    header, rows = _rows(path)
    store = tmp_path / "s.duckdb"
    _ws(store).import_("qualities-csv", path)
    with open_reader(store) as con:
        assert con.scalar("SELECT count(*) FROM datasets") == DOCUMENTED_DATASETS == len(rows)
        assert con.scalar("SELECT count(*) FROM dataset_qualities") == _non_empty_quality_cells(
            header, rows
        )
        # Runs is a count of OpenML runs, not a quality
        assert con.scalar("SELECT count(*) FROM dataset_qualities WHERE quality = 'Runs'") == 0
        assert con.scalar("SELECT count(DISTINCT source) FROM dataset_qualities") == 1
        # one value checked against the file: credit-g (dataset 31)
        row = next(r for r in rows if r[0] == "31")
        column = header.index("NumberOfInstances")
        assert con.scalar(
            "SELECT value FROM dataset_qualities "
            "WHERE dataset_id = 31 AND quality = 'NumberOfInstances'"
        ) == pytest.approx(float(row[column]))
        name, version = con.execute(
            "SELECT name, version FROM datasets WHERE dataset_id = 31"
        ).fetchone()
        assert f"{name} ({version})" == row[1]
        # the wide view has one column per imported quality
        wide_cols = con.df("SELECT * FROM dataset_qualities_wide LIMIT 0").columns
        assert set(con.df("SELECT DISTINCT quality FROM dataset_qualities")["quality"]) == set(
            wide_cols
        ) - {"dataset_id"}


def test_slice_twice_keeps_counts(openml_data, tmp_path):
    lines = (openml_data / CSV).read_text().splitlines()
    path = tmp_path / "slice.csv"
    path.write_text("\n".join(lines[:51]) + "\n")  # header + 50 datasets
    header, rows = _rows(path)
    store = tmp_path / "s.duckdb"
    counts = []
    for _ in range(2):
        _ws(store).import_("qualities-csv", path)
        with open_reader(store) as con:
            counts.append(
                (
                    con.scalar("SELECT count(*) FROM datasets"),
                    con.scalar("SELECT count(*) FROM dataset_qualities"),
                )
            )
    assert counts[0] == counts[1] == (50, _non_empty_quality_cells(header, rows))
