"""Bad input to ``metabase import``: one line on stderr, exit code 1, the store unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from cli.main import main
from metabase.errors import StoreError
from metabase.imports.api import apply_batch
from metabase.imports.base import ImportBatch, TableLoad
from metabase.store import open_reader, open_writer

realdata = pytest.mark.realdata

PIMP = Path("openml-pimp/KDD2018/data/arff/random_forest.arff")
QUALITIES = Path("qualities/openml_dataset_qualities_2872.csv")
STUDY = Path(
    "openml-aslib/openmlmetadata/output/study_14_run_evaluations_predictive_accuracy.arff"
)


def fingerprint(store: Path) -> dict[str, tuple]:
    """Row count and an order-independent checksum of every table's content."""
    with open_reader(store) as con:
        return {
            t: tuple(
                con.execute(
                    f"SELECT count(*), coalesce(md5(string_agg(CAST(x AS VARCHAR), '|' "
                    "ORDER BY CAST(x AS VARCHAR))), '') "
                    f"FROM {t} x"
                ).fetchone()
            )
            for t in con.tables()
        }


@pytest.fixture
def filled_store(openml_data, tmp_path) -> Path:
    """A store with something in it (50 datasets' qualities), so that 'unchanged' means
    something.
    """
    lines = (openml_data / QUALITIES).read_text().splitlines()
    small = tmp_path / "small.csv"
    small.write_text("\n".join(lines[:51]) + "\n")
    store = tmp_path / "s.duckdb"
    assert main(["--store", str(store), "import", "qualities-csv", str(small)]) == 0
    return store


def _fails_cleanly(store: Path, capsys, *args: str) -> str:
    capsys.readouterr()
    before = fingerprint(store)
    rc = main(["--store", str(store), "import", *args])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 1, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert captured.out == ""
    assert fingerprint(store) == before
    return lines[0]


def _truncated(source: Path, target: Path, keep_fraction: float) -> Path:
    """The first part of a file, cut in the middle of a line."""
    text = source.read_text()
    cut = int(len(text) * keep_fraction)
    while text[cut - 1] in "\n,":  # make sure the cut lands inside a value
        cut -= 1
    target.write_text(text[:cut])
    return target


@realdata
def test_truncated_arff_in_the_data(openml_data, tmp_path, filled_store, capsys):
    path = _truncated(openml_data / PIMP, tmp_path / "random_forest.arff", 0.5)
    line = _fails_cleanly(filled_store, capsys, "openml-pimp", str(path))
    assert "truncated" in line or "expected" in line


@realdata
def test_truncated_arff_in_the_header(openml_data, tmp_path, filled_store, capsys):
    text = (openml_data / STUDY).read_text()
    path = tmp_path / "study_14_run_evaluations_predictive_accuracy.arff"
    path.write_text(text[: text.index("@DATA")])  # every attribute, then the file ends
    assert "no @DATA" in _fails_cleanly(filled_store, capsys, "openml-study-arff", str(path))


@realdata
def test_arff_with_a_bad_value(openml_data, tmp_path, filled_store, capsys):
    lines = (openml_data / STUDY).read_text().splitlines()
    row = lines.index("@DATA") + 300
    parts = lines[row].split(",")
    lines[row] = ",".join(parts[:3] + ["high", parts[4]])  # the measure column
    path = tmp_path / "study_14_run_evaluations_predictive_accuracy.arff"
    path.write_text("\n".join(lines) + "\n")
    assert "not a number" in _fails_cleanly(filled_store, capsys, "openml-study-arff", str(path))


@realdata
def test_csv_with_a_wrong_header(openml_data, tmp_path, filled_store, capsys):
    lines = (openml_data / QUALITIES).read_text().splitlines()
    path = tmp_path / "q.csv"
    path.write_text(
        "\n".join(["did,dataset_name," + lines[0].split(",", 2)[2]] + lines[1:20]) + "\n"
    )
    assert "header" in _fails_cleanly(filled_store, capsys, "qualities-csv", str(path))


@realdata
def test_missing_path(tmp_path, filled_store, capsys):
    line = _fails_cleanly(filled_store, capsys, "openml-pimp", str(tmp_path / "nowhere.arff"))
    assert "no such file" in line


@realdata
def test_unknown_source(openml_data, filled_store, capsys):
    line = _fails_cleanly(filled_store, capsys, "openml-pimpp", str(openml_data / PIMP))
    assert "unknown import source" in line and "openml-pimp" in line


@realdata
@pytest.mark.parametrize("source", ["qualities-csv", "openml-pimp"])
def test_directory_where_a_file_is_expected(openml_data, filled_store, capsys, source):
    line = _fails_cleanly(filled_store, capsys, source, str(openml_data / "qualities"))
    assert "directory" in line


@realdata
def test_file_where_a_directory_is_expected(openml_data, filled_store, capsys):
    assert "directory" in _fails_cleanly(
        filled_store, capsys, "meta-dataset", str(openml_data / QUALITIES)
    )


@realdata
def test_wrong_kind_of_file_for_the_source(openml_data, filled_store, capsys):
    # a CSV given to an ARFF importer
    assert "ARFF" in _fails_cleanly(
        filled_store, capsys, "openml-pimp", str(openml_data / QUALITIES)
    )


@realdata
def test_failure_while_applying_rolls_back(filled_store):
    before = fingerprint(filled_store)
    good = TableLoad(
        "datasets", pd.DataFrame({"dataset_id": [999_999], "name": ["x"], "source": ["t"]})
    )
    bad = TableLoad("no_such_table", pa.table({"a": [1]}), mode="append")
    with open_writer(filled_store) as writer, pytest.raises(StoreError):
        apply_batch(writer, ImportBatch(source="t", loads=(good, bad)))
    assert fingerprint(filled_store) == before


ARFF = """% {"flow_id": 5}
@RELATION 'a relation'
@ATTRIBUTE 'col one' STRING
@ATTRIBUTE n NUMERIC
@ATTRIBUTE c {'x y', z}
@DATA
'50% of, it',1.5,'x y'
plain,?,z
% a comment between rows
'it\\'s',2,?
"""


def test_arff_reader_quotes_missing_values_and_comments(tmp_path):
    from metabase.imports._arff import read_arff

    path = tmp_path / "t.arff"
    path.write_text(ARFF)
    header, data = read_arff(path)
    assert header.relation == "a relation" and header.names == ["col one", "n", "c"]
    assert header.comment_json() == {"flow_id": 5}
    assert header.attribute("c").values == ("x y", "z")
    assert data["col one"].tolist() == ["50% of, it", "plain", "it's"]
    assert data["n"].isna().tolist() == [False, True, False]
    assert data["c"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize(
    "row, reason",
    [
        ("plain,1", "expected 3 values"),
        ("plain,1,w", "not declared"),
        ("plain,one,z", "not a number"),
        ("{0 plain, 1 2}", "sparse"),
    ],
)
def test_arff_reader_refuses_bad_rows(tmp_path, row, reason):
    from metabase.errors import ImportFormatError
    from metabase.imports._arff import read_arff

    path = tmp_path / "t.arff"
    path.write_text(ARFF + row + "\n")
    with pytest.raises(ImportFormatError, match=reason):
        read_arff(path)
