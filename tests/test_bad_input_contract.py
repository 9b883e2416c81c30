"""The shared bad-input contract (metabase.testing.bad_input), run for every text importer.

Each importer first imports a small clean slice of a real export; then every damaged variant of
that slice is imported into the same store. The variant is either refused with one line (exit 1,
the store's digest unchanged) or gives exactly the clean slice's rows.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from cli.main import main
from metabase.store import open_reader
from metabase.store.digest import table_digests
from metabase.testing.bad_input import (
    Outcome,
    arff_layout,
    check_variant,
    csv_layout,
    sample_text,
    text_variants,
)

pytestmark = pytest.mark.realdata


def _qualities(data: Path) -> tuple[str, str, dict]:
    text = sample_text((data / "qualities/openml_dataset_qualities_2872.csv").read_text(), 30)
    return text, "qualities.csv", {"numeric": ["NumberOfInstances"], "ids": ["Id"]}


def _pimp(data: Path) -> tuple[str, str, dict]:
    text = (data / "openml-pimp/KDD2018/data/arff/random_forest.arff").read_text()
    head, _, body = text.partition("@DATA\n")
    rows = [line for line in body.splitlines() if line.strip()]
    # Two tasks' worth of rows keep the slice small and real.
    text = head + "@DATA\n" + "\n".join(rows[:40] + rows[-40:]) + "\n"
    return text, "random_forest.arff", {"numeric": ["predictive_accuracy"], "ids": ["task_id"]}


def _lcdb(data: Path) -> tuple[str, str, dict]:
    with gzip.open(data / "lcdb/lcdb/database-accuracy.csv.gz", "rt") as f:
        lines = [next(f) for _ in range(31)]
    return "".join(lines), "database-accuracy.csv", {"numeric": ["score_test"], "ids": ["openmlid"]}


# source name, slice maker, ARFF or CSV, whether the source reads a folder holding the file
READERS = {
    "qualities-csv": (_qualities, "csv", False),
    "openml-pimp": (_pimp, "arff", False),
    "lcdb": (_lcdb, "csv", True),
}


def _import(store: Path, source: str, target: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--store", str(store), "import", source, str(target)])
    return code, capsys.readouterr().err


def _digest(store: Path):
    with open_reader(store) as con:
        return table_digests(con)


def _place(tmp: Path, name: str, data: bytes, folder: bool) -> Path:
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / name).write_bytes(data)
    return tmp if folder else tmp / name


@pytest.mark.parametrize("source", sorted(READERS))
def test_every_damaged_variant_is_refused_or_gives_the_clean_rows(source, openml_data, tmp_path, capsys):
    make, kind, folder = READERS[source]
    text, name, columns = make(openml_data)
    store = tmp_path / "store.duckdb"
    code, err = _import(store, source, _place(tmp_path / "clean", name, text.encode(), folder), capsys)
    assert code == 0, err
    clean = _digest(store)
    assert any(rows for rows, _ in clean.values()), "the clean slice imported nothing"
    layout = (arff_layout if kind == "arff" else csv_layout)(text, **columns)
    broken = []
    for variant in text_variants(layout):
        before = _digest(store)
        target = _place(tmp_path / "variant", name, variant.data, folder)
        code, err = _import(store, source, target, capsys)
        problem = check_variant(variant, Outcome(code, err, before, _digest(store), clean))
        if problem:
            broken.append(problem)
    assert broken == []
