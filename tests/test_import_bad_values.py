"""Values that used to become silent garbage in the store (issue 20, sections 3 and 4).

Every bad variant is made from a small slice of a real export. Each must be refused with one line
naming the file (and the row or column), exit code 1, and the store left as it was; the variants
that are valid (a byte-order mark, keys a pipeline does not know) must import.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli.main import main
from metabase.store import open_reader

pytestmark = pytest.mark.realdata

D_PIMP = Path("openml-pimp/KDD2018/data/arff/random_forest.arff")
D_STUDY = Path(
    "openml-aslib/openmlmetadata/output/study_14_run_evaluations_predictive_accuracy.arff"
)
D_META = Path("openml-aslib/openmlmetadata/output/study_14_metafeatures.arff")
D_QUALITIES = Path("qualities/openml_dataset_qualities_2872.csv")
D_TABREPO = Path("tabrepo/_history/c027dbd43d/data/metadata/task_metadata.csv")
D_ASKL = Path(
    "auto-sklearn/_history/830822b23/autosklearn/metalearning/files/accuracy_binary.classification_dense"
)
D_SQL = Path("openml-server/data/sql")


def fingerprint(store: Path) -> dict[str, tuple]:
    with open_reader(store) as con:
        return {
            t: con.execute(
                f"SELECT count(*), coalesce(sum(hash(x::VARCHAR)), 0) FROM {t} x"
            ).fetchone()
            for t in con.tables()
        }


@pytest.fixture(scope="module")
def base_store(openml_data, tmp_path_factory) -> Path:
    """A store holding 30 datasets' qualities: something that must survive every refusal."""
    folder = tmp_path_factory.mktemp("base")
    lines = (openml_data / D_QUALITIES).read_text().splitlines()[:31]
    (folder / "q.csv").write_text("\n".join(lines) + "\n")
    store = folder / "s.duckdb"
    assert main(["--store", str(store), "import", "qualities-csv", str(folder / "q.csv")]) == 0
    return store


@pytest.fixture
def store(base_store, tmp_path) -> Path:
    copy = tmp_path / "store.duckdb"
    shutil.copy(base_store, copy)
    return copy


def refused(store: Path, capsys, source: str, path: Path) -> str:
    capsys.readouterr()
    before = fingerprint(store)
    rc = main(["--store", str(store), "import", source, str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1, err
    assert len(err) == 1 and err[0].startswith("error: ") and "unexpected" not in err[0], err
    assert fingerprint(store) == before
    return err[0]


# -- builders: a real slice with one thing changed ---------------------------------------------
def arff_slice(
    source: Path,
    target: Path,
    n: int = 40,
    row: int | None = None,
    column: int | None = None,
    value: str | None = None,
    header=lambda h: h,
) -> Path:
    lines = source.read_text().splitlines()
    start = lines.index("@DATA") + 1
    head, rows = header(lines[:start]), lines[start : start + n]
    if row is not None:
        parts = rows[row].split(",")
        parts[column] = value
        rows[row] = ",".join(parts)
    target.write_text("\n".join(head + rows) + "\n")
    return target


def csv_slice(
    source: Path, target: Path, n: int = 20, edit=lambda lines: lines, encoding="utf-8"
) -> Path:
    lines = source.read_text().splitlines()[: n + 1]
    target.write_text("\n".join(edit(lines)) + "\n", encoding=encoding)
    return target


def set_cell(row: int, column: str, value: str):
    def edit(lines: list[str]) -> list[str]:
        i = lines[0].split(",").index(column)
        parts = lines[row].split(",")
        parts[i] = value
        return [*lines[:row], ",".join(parts), *lines[row + 1 :]]

    return edit


NON_FINITE = ["inf", "-inf", "1e999"]
BAD_IDS = ["-5", "0", "3.5", "12345678901234567890"]


@pytest.mark.parametrize("value", NON_FINITE)
def test_pimp_non_finite_score(openml_data, tmp_path, store, capsys, value):
    path = arff_slice(
        openml_data / D_PIMP, tmp_path / "random_forest.arff", row=5, column=10, value=value
    )
    line = refused(store, capsys, "openml-pimp", path)
    assert "data row 6: predictive_accuracy is not finite" in line


@pytest.mark.parametrize("value", BAD_IDS + ["inf"])
def test_pimp_task_id_must_be_an_id(openml_data, tmp_path, store, capsys, value):
    path = arff_slice(
        openml_data / D_PIMP, tmp_path / "random_forest.arff", row=5, column=11, value=value
    )
    assert "data row 6: task_id is not an id" in refused(store, capsys, "openml-pimp", path)


@pytest.mark.parametrize("flow_id", [-5, 0, 3.5, 12345678901234567890])
def test_pimp_flow_id_must_be_an_id(openml_data, tmp_path, store, capsys, flow_id):
    def header(lines):
        meta = json.loads(lines[0][1:])
        meta["flow_id"] = flow_id
        return ["% " + json.dumps(meta), *lines[1:]]

    path = arff_slice(openml_data / D_PIMP, tmp_path / "random_forest.arff", header=header)
    assert "flow_id" in refused(store, capsys, "openml-pimp", path)


@pytest.mark.parametrize("measure", ["task_id", "randomforestclassifier__max_features"])
def test_pimp_measure_from_a_non_measure_column(openml_data, tmp_path, store, capsys, measure):
    def header(lines):
        meta = json.loads(lines[0][1:])
        meta["col_measures"] = [measure]
        return ["% " + json.dumps(meta), *lines[1:]]

    path = arff_slice(openml_data / D_PIMP, tmp_path / "random_forest.arff", header=header)
    assert "not evaluations" in refused(store, capsys, "openml-pimp", path)


def test_duplicate_attribute(openml_data, tmp_path, store, capsys):
    def header(lines):
        i = next(
            k for k, line in enumerate(lines) if line.startswith("@ATTRIBUTE predictive_accuracy")
        )
        return [*lines[:i], lines[i], *lines[i:]]

    path = arff_slice(openml_data / D_PIMP, tmp_path / "random_forest.arff", header=header)
    assert "'predictive_accuracy' is declared twice" in refused(store, capsys, "openml-pimp", path)


@pytest.mark.parametrize(
    "column, value, message",
    [
        (3, "inf", "predictive_accuracy is not finite"),
        (1, "1.5", "repetition is not an id"),  # 1.5 used to overwrite repetition 1
        (1, "0", "repetition is not an id"),
        (0, "-5", "task id is not an id"),
        (0, "12345678901234567890", "task id is not an id"),
        (2, "12345678901234567890_weka.J48", "algorithm's flow id is not an id"),
    ],
)
def test_study_bad_values(openml_data, tmp_path, store, capsys, column, value, message):
    path = arff_slice(
        openml_data / D_STUDY, tmp_path / D_STUDY.name, row=5, column=column, value=value
    )
    line = refused(store, capsys, "openml-study-arff", path)
    assert f"data row 6: {message}" in line


@pytest.mark.parametrize("measure", ["repetition", "openml_data_id"])
def test_study_measure_named_after_a_structural_column(
    openml_data, tmp_path, store, capsys, measure
):
    path = arff_slice(openml_data / D_STUDY, tmp_path / f"study_14_run_evaluations_{measure}.arff")
    assert "not an evaluation" in refused(store, capsys, "openml-study-arff", path)


def test_study_metafeature_inf(openml_data, tmp_path, store, capsys):
    path = arff_slice(openml_data / D_META, tmp_path / D_META.name, row=2, column=5, value="inf")
    assert "data row 3" in refused(store, capsys, "openml-study-arff", path)


def test_study_text_metafeature_column_is_reported(openml_data, tmp_path, store, caplog):
    def header(lines):
        return [
            line.replace(
                "@ATTRIBUTE openml_data_id STRING",
                "@ATTRIBUTE openml_data_id STRING\n@ATTRIBUTE kind STRING",
            )
            for line in lines
        ]

    lines = (openml_data / D_META).read_text().splitlines()
    start = lines.index("@DATA") + 1
    path = tmp_path / D_META.name
    path.write_text(
        "\n".join(
            header(lines[:start]) + [r.replace(",", ",text,", 1) for r in lines[start : start + 5]]
        )
        + "\n"
    )
    with caplog.at_level("WARNING"):
        assert main(["--store", str(store), "import", "openml-study-arff", str(path)]) == 0
    assert "kind" in caplog.text and "skipped" in caplog.text


@pytest.mark.parametrize(
    "value, message",
    [
        ("inf", "NumberOfInstances is not finite"),
        ("nan", "NumberOfInstances is not finite"),
        ("1e999", "NumberOfInstances is not finite"),
        ("abc", "NumberOfInstances is not a number"),
    ],
)
def test_qualities_csv_bad_number(openml_data, tmp_path, store, capsys, value, message):
    path = csv_slice(
        openml_data / D_QUALITIES, tmp_path / "q.csv", edit=set_cell(3, "NumberOfInstances", value)
    )
    assert f"line 4: {message}" in refused(store, capsys, "qualities-csv", path)


@pytest.mark.parametrize("value", BAD_IDS)
def test_qualities_csv_bad_id(openml_data, tmp_path, store, capsys, value):
    path = csv_slice(openml_data / D_QUALITIES, tmp_path / "q.csv", edit=set_cell(3, "Id", value))
    assert "line 4: Id is not an id" in refused(store, capsys, "qualities-csv", path)


def test_qualities_csv_repeated_header_name(openml_data, tmp_path, store, capsys):
    def edit(lines):
        return [lines[0] + ",NumberOfInstances", *(line + ",1" for line in lines[1:])]

    path = csv_slice(openml_data / D_QUALITIES, tmp_path / "q.csv", edit=edit)
    assert "'NumberOfInstances' twice" in refused(store, capsys, "qualities-csv", path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda lines: [lines[0] + ",NumberOfClasses", *(line + ",2" for line in lines[1:])],
            "twice",
        ),
        (lambda lines: [*lines, lines[3]], "occurs twice"),
        (set_cell(2, "tid", "12345678901234567890"), "tid is not an id"),
        (set_cell(2, "MinorityClassSize", "-inf"), "MinorityClassSize is not finite"),
    ],
)
def test_tabrepo_bad_input(openml_data, tmp_path, store, capsys, edit, message):
    path = csv_slice(openml_data / D_TABREPO, tmp_path / "task_metadata.csv", edit=edit)
    assert message in refused(store, capsys, "tabrepo-metadata", path)


def test_tabrepo_byte_order_mark_gives_the_clean_rows(openml_data, tmp_path):
    (tmp_path / "clean").mkdir()
    clean = csv_slice(openml_data / D_TABREPO, tmp_path / "clean" / "task_metadata.csv")
    bom = tmp_path / "bom" / "task_metadata.csv"
    bom.parent.mkdir()
    bom.write_bytes(b"\xef\xbb\xbf" + clean.read_bytes())
    stores = []
    for path in (clean, bom):
        store = path.parent / "s.duckdb"
        assert main(["--store", str(store), "import", "tabrepo-metadata", str(path)]) == 0
        fp = fingerprint(store)  # the bookkeeping tables hold times and paths; the data must agree
        stores.append({t: v for t, v in fp.items() if t not in ("imports", "schema_migrations")})
    assert stores[0] == stores[1] and stores[0]["tasks"][0] == 20


def _askl_copy(openml_data: Path, tmp_path: Path) -> Path:
    folder = tmp_path / D_ASKL.name
    shutil.copytree(openml_data / D_ASKL, folder)
    return folder


def _edit_first_data_row(path: Path, column: int, value: str) -> None:
    lines = path.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip().upper() == "@DATA") + 1
    parts = lines[i].split(",")
    parts[column] = value
    lines[i] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "file, column, value, message",
    [
        ("algorithm_runs.arff", 3, "inf", "accuracy is not finite"),
        ("algorithm_runs.arff", 0, "0", "instance_id is not an id"),
        ("algorithm_runs.arff", 0, "12345678901234567890", "instance_id is not an id"),
        ("feature_values.arff", 3, "-inf", "is not finite"),
    ],
)
def test_autosklearn_bad_values(
    openml_data, tmp_path, store, capsys, file, column, value, message
):
    folder = _askl_copy(openml_data, tmp_path)
    _edit_first_data_row(folder / file, column, value)
    line = refused(store, capsys, "autosklearn", folder)
    assert file in line and message in line


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda lines: [*lines, lines[1]], "occurs twice"),  # a configuration id listed twice
        (
            lambda lines: [
                lines[0] + "," + lines[0].split(",")[1],
                *(line + ",x" for line in lines[1:]),
            ],
            "twice",
        ),
        (
            lambda lines: [*lines[:-1], lines[-1].rsplit(",", 2)[0]],
            "values as in the header, found",
        ),
    ],
)
def test_autosklearn_configurations_bad(openml_data, tmp_path, store, capsys, edit, message):
    folder = _askl_copy(openml_data, tmp_path)
    path = folder / "configurations.csv"
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    line = refused(store, capsys, "autosklearn", folder)
    assert "configurations.csv" in line and message in line


def test_autosklearn_directory_where_a_file_is_expected(openml_data, tmp_path, store, capsys):
    folder = _askl_copy(openml_data, tmp_path)
    (folder / "algorithm_runs.arff").unlink()
    (folder / "algorithm_runs.arff").mkdir()
    assert "is a directory" in refused(store, capsys, "autosklearn", folder)


def _meta_dataset(folder: Path, runs=lambda r: r, tasks=lambda t: t) -> Path:
    """A meta-dataset of sklearn.random_forest runs with valid configs, then edited."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "task_id": np.repeat([3, 6], 4),
            "pipeline": "sklearn.random_forest",
            "config": [
                json.dumps({"max_features": round(0.1 + 0.8 * x, 3)}) for x in rng.random(8)
            ],
            "score": rng.random(8),
        }
    )
    task_frame = pd.DataFrame(
        {"task_id": [3, 6], "dataset_id": [3, 6], "NumberOfInstances": [10.0, 20.0]}
    )
    folder.mkdir()
    runs(frame).to_parquet(folder / "runs.parquet")
    tasks(task_frame).to_parquet(folder / "tasks.parquet")
    return folder


def _cell(column: str, value, dtype=None):
    def edit(frame):
        frame = frame.astype({column: dtype}) if dtype else frame.copy()
        frame.loc[0, column] = value
        return frame

    return edit


@pytest.mark.parametrize(
    "runs, tasks, message",
    [
        (_cell("task_id", -5), None, "task_id is not an id"),
        (_cell("task_id", 3.5, "float64"), None, "task_id is not an id"),  # used to become task 3
        (_cell("score", np.inf), None, "score is not finite"),
        (_cell("config", '{"max_features": NaN}'), None, "NaN and Infinity are not JSON values"),
        (_cell("config", '{"max_features": "banana"}'), None, "max_features"),
        (None, lambda t: t.assign(kind=["a", "b"]), "meta-feature column 'kind'"),
        (None, lambda t: t.assign(L=[[1, 2], [3]]), "meta-feature column 'L'"),
        (None, _cell("dataset_id", -5), "dataset_id is not an id"),
        (None, _cell("NumberOfInstances", -np.inf), "NumberOfInstances is not finite"),
    ],
)
def test_meta_dataset_bad_values(tmp_path, store, capsys, runs, tasks, message):
    folder = _meta_dataset(tmp_path / "md", runs or (lambda r: r), tasks or (lambda t: t))
    assert message in refused(store, capsys, "meta-dataset", folder)


@pytest.mark.parametrize(
    "runs",
    [
        _cell("config", '{"max_featurez": 0.5}'),  # a key the catalogue does not know
        lambda r: r.assign(pipeline="my.own.pipeline", config='{"max_features": "banana"}'),
    ],
)
def test_meta_dataset_unknown_keys_and_pipelines_stay_accepted(tmp_path, store, runs):
    folder = _meta_dataset(tmp_path / "md", runs)
    assert main(["--store", str(store), "import", "meta-dataset", str(folder)]) == 0
    with open_reader(store) as con:
        assert con.scalar("SELECT count(*) FROM runs WHERE source = 'meta-dataset'") == 8


@pytest.mark.parametrize(
    "table, old, new, message",
    [
        ("dataset", "(1, ", "(12345678901234567890, ", "dataset.did is not an id"),
        ("dataset", "(1, ", "(-5, ", "dataset.did is not an id"),
        ("dataset", "(1, ", "(3.5, ", "dataset.did is not an id"),
        ("dataset", "(2, ", "(1, ", "holds the row did=1 twice"),
    ],
)
def test_openml_sql_bad_keys(openml_data, tmp_path, store, capsys, table, old, new, message):
    text = (openml_data / D_SQL / f"{table}.sql").read_text()
    assert old in text
    path = tmp_path / f"{table}.sql"
    path.write_text(text.replace(old, new, 1))
    assert message in refused(store, capsys, "openml-sql", path)


@pytest.mark.parametrize(
    "value, message", [("'abc0.5'", "is not a number"), ("'inf'", "is not finite")]
)
def test_openml_sql_bad_quality_value(tmp_path, store, capsys, value, message):
    path = tmp_path / "data_quality.sql"
    path.write_text(
        "INSERT INTO `data_quality` (`data`, `quality`, `evaluation_engine_id`, `value`) "
        f"VALUES (31, 'NumberOfInstances', 1, '1000'), (31, 'X', 1, {value});\n"
    )
    assert f"data_quality.value {message}" in refused(store, capsys, "openml-sql", path)


def test_pimp_column_lists_must_be_lists(openml_data, tmp_path, store, capsys):
    def header(lines):
        meta = json.loads(lines[0][1:])
        meta["col_parameters"] = 5
        return ["% " + json.dumps(meta), *lines[1:]]

    path = arff_slice(openml_data / D_PIMP, tmp_path / "random_forest.arff", header=header)
    assert "col_parameters must be a list" in refused(store, capsys, "openml-pimp", path)


def test_study_folder_entry_that_is_a_directory(tmp_path, store, capsys):
    folder = tmp_path / "output"
    (folder / D_STUDY.name).mkdir(parents=True)
    assert "is a directory" in refused(store, capsys, "openml-study-arff", folder)


def test_meta_dataset_score_written_as_text_inf(tmp_path, store, capsys):
    folder = _meta_dataset(
        tmp_path / "md",
        lambda r: r.assign(score=r["score"].astype(str)).pipe(_cell("score", "inf")),
    )
    assert "score is not finite" in refused(store, capsys, "meta-dataset", folder)


def test_meta_dataset_parquet_file_that_is_a_directory(tmp_path, store, capsys):
    folder = _meta_dataset(tmp_path / "md")
    (folder / "tasks.parquet").unlink()
    (folder / "tasks.parquet").mkdir()
    assert "tasks.parquet: is a directory" in refused(store, capsys, "meta-dataset", folder)


def _lcdb_folder(openml_data: Path, folder: Path, edit=lambda lines: lines) -> Path:
    import gzip

    with gzip.open(openml_data / "lcdb/lcdb/database-accuracy.csv.gz", "rt") as f:
        lines = [next(f).rstrip("\n") for _ in range(51)]
    folder.mkdir()
    (folder / "database-accuracy.csv").write_text("\n".join(edit(lines)) + "\n")
    return folder


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("score_valid", "nan", "line 4: score_valid is not finite"),
        ("score_test", "inf", "line 4: score_test is not finite"),
        ("traintime", "-inf", "line 4: traintime is not finite"),
        ("openmlid", "0", "line 4: openmlid 0 is not a dataset id"),
        ("openmlid", "3.5", "openmlid"),
        ("openmlid", "12345678901234567890", "openmlid"),
    ],
)
def test_lcdb_bad_values(openml_data, tmp_path, store, capsys, column, value, message):
    folder = _lcdb_folder(openml_data, tmp_path / "lcdb", set_cell(3, column, value))
    assert message in refused(store, capsys, "lcdb", folder)


@pytest.mark.parametrize(
    "text, message",
    [
        ("openmlid,Name,X\n3,a,inf\n", "line 2: X is not finite"),
        ("openmlid,Name,X\n0,a,1\n", "line 2: openmlid is not an id"),
        ("openmlid,Name,X,X\n3,a,1,2\n", "'X' twice"),
        ("openmlid,Name,X\n", "no data rows"),
        ("openmlid,Name,X\n3,a,1\n3,a,2\n", "occurs in two rows"),
    ],
)
def test_lcdb_datasets_csv_bad(openml_data, tmp_path, store, capsys, text, message):
    folder = tmp_path / "lcdb"
    folder.mkdir()
    (folder / "datasets.csv").write_text(text)
    assert message in refused(store, capsys, "lcdb", folder)


def test_arff_byte_order_mark_gives_the_clean_rows(openml_data, tmp_path):
    clean = arff_slice(openml_data / D_PIMP, tmp_path / "random_forest.arff")
    (tmp_path / "bom").mkdir()
    bom = tmp_path / "bom" / "random_forest.arff"
    bom.write_bytes(b"\xef\xbb\xbf" + clean.read_bytes())
    counts = []
    for path in (clean, bom):
        store = path.parent / "s.duckdb"
        assert main(["--store", str(store), "import", "openml-pimp", str(path)]) == 0
        with open_reader(store) as con:
            counts.append(con.execute("SELECT count(*), sum(value) FROM evaluations").fetchone())
    assert counts[0] == counts[1] and counts[0][0] == 40
