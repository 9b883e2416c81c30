"""openml-sql: the streaming MySQL dump reader and the mapping of the server's seed database."""

from __future__ import annotations

import gzip
import shutil

import pytest

from cli.main import main
from metabase.imports._sqldump import DumpError, DumpReader, read_tables
from metabase.store import open_reader

SQL = "openml-server/data/sql"
# Documented in openml-data/README.md.
DOCUMENTED = {
    "datasets": 131,
    "tasks": 1305,
    "task_inputs": 3917,
    "quality_definitions": 171,
    "estimation_procedures": 35,
    "evaluation_measures": 74,
    "flows": 15,
}


def snapshot(store) -> dict:
    with open_reader(store) as con:
        return {
            t: con.execute(
                f"SELECT count(*), coalesce(sum(hash(x::VARCHAR)), 0) FROM {t} x"
            ).fetchone()
            for t in con.tables()
        }


def run(store, path) -> int:
    return main(["--store", str(store), "import", "openml-sql", str(path)])


TRICKY = """-- MySQL dump 10.13
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
# a hash comment with a quote ' in it
SET NAMES utf8mb4;
CREATE TABLE `t` (
  `a` int(10) NOT NULL COMMENT 'it; has ( a paren',
  `b` text,
  PRIMARY KEY (`a`)
) ENGINE=InnoDB;
LOCK TABLES `t` WRITE;
INSERT INTO `t` VALUES (1,'it''s \\'ok\\' \\\\ \\n; (x), y'),(2,NULL),(-3.5e2, "dq""x"),(4, NOW()),(5,TRUE);
INSERT INTO `skipped` (`x`) VALUES ('a;b'), ('c)d');
INSERT INTO t (a, b) VALUES
(6, 'multi
line'),
( 7 , 0x414243 ),(8,_binary 'bin');
UNLOCK TABLES;
"""  # noqa: E501
TRICKY_ROWS = [
    (1, "it's 'ok' \\ \n; (x), y"),
    (2, None),
    (-350.0, 'dq"x'),
    (4, "NOW()"),
    (5, "TRUE"),
    (6, "multi\nline"),
    (7, "ABC"),
    (8, "bin"),
]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 1 << 20])
def test_reader_handles_the_dump_format_at_any_chunk_boundary(tmp_path, chunk_size):
    path = tmp_path / "t.sql"
    path.write_text(TRICKY)
    reader = DumpReader(path, chunk_size=chunk_size)
    got = [r for table, cols, rows in reader.batches(["t"]) for r in rows]
    assert got == TRICKY_ROWS
    assert reader.columns["t"] == ["a", "b"]
    assert reader.seen == {"t": 2, "skipped": 1}  # INSERT statements


def test_reader_batches_and_gzip(tmp_path):
    path = tmp_path / "t.sql.gz"
    with gzip.open(path, "wt") as f:
        f.write("INSERT INTO `n` (`i`) VALUES " + ",".join(f"({i})" for i in range(2500)) + ";\n")
    sizes = [len(rows) for _, _, rows in DumpReader(path, chunk_size=100).batches(batch_rows=1000)]
    assert sizes == [1000, 1000, 500]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "INSERT INTO `t` (`a`, `b`) VALUES (1, 'x'), (2, 'unterminated",
            "unexpected end of file",
        ),
        ("INSERT INTO `t` (`a`, `b`) VALUES (1, 'x'), (2);", "1 values for 2 columns"),
        ("INSERT INTO `t` VALUES (1);", "without a column list"),
        ("INSERT INTO `t` (`a`) VALUES (1) garbage;", "expected ',' or ';'"),
        ("hello world", "no closing ';'"),
    ],
)
def test_reader_rejects_malformed_dumps(tmp_path, text, message):
    path = tmp_path / "bad.sql"
    path.write_text(text)
    with pytest.raises(DumpError, match=message):
        list(DumpReader(path, chunk_size=8).batches())


@pytest.mark.realdata
def test_reader_counts_match_a_separate_count(openml_data):
    # task_inputs.sql writes one tuple per line: count the lines that open a tuple
    path = openml_data / SQL / "task_inputs.sql"
    lines = sum(1 for line in path.read_text().splitlines() if line.startswith("("))
    columns, rows = read_tables(path, ["task_inputs"])["task_inputs"]
    assert columns == ["task_id", "input", "value"] and len(rows) == lines == 3917


@pytest.mark.realdata
def test_import_seed_database(openml_data, store_path):
    assert run(store_path, openml_data / SQL) == 0
    with open_reader(store_path) as con:
        counts = {
            t: con.scalar(f"SELECT count(*) FROM {t} WHERE source='openml-sql'")
            for t in DOCUMENTED
        }
        task1 = con.execute(
            "SELECT dataset_id, task_type, target, estimation_procedure_id, estimation_procedure "
            "FROM tasks WHERE task_id=1"
        ).fetchone()
        anneal = con.execute(
            "SELECT name, version, format, default_target, status FROM datasets WHERE dataset_id=1"
        ).fetchone()
        described = con.scalar("SELECT count(*) FROM datasets WHERE description IS NOT NULL")
        acc = con.scalar(
            "SELECT higher_is_better FROM evaluation_measures WHERE measure='predictive_accuracy'"
        )
        no_dataset = con.scalar("SELECT count(*) FROM tasks WHERE dataset_id IS NULL")
    assert counts == DOCUMENTED
    # task_inputs.sql: (1, 'estimation_procedure', '1'), (1, 'source_data', '1'),
    # (1, 'target_feature', 'class')
    assert task1 == (1, "Supervised Classification", "class", 1, "10-fold Crossvalidation")
    assert anneal == ("anneal", 1, "ARFF", "class", "active")
    assert described == 131 and acc is True and no_dataset == 0


@pytest.mark.realdata
def test_import_twice_same_counts_and_single_file(openml_data, store_path):
    assert run(store_path, openml_data / SQL / "task_inputs.sql") == 0
    with open_reader(store_path) as con:
        assert con.scalar("SELECT count(*) FROM tasks") == 1305  # tasks from their inputs alone
        assert con.scalar("SELECT count(*) FROM datasets") == 0
    assert run(store_path, openml_data / SQL) == 0
    first = snapshot(store_path)
    assert run(store_path, openml_data / SQL) == 0
    second = snapshot(store_path)
    assert {t: v for t, v in first.items() if t != "imports"} == {
        t: v for t, v in second.items() if t != "imports"
    }


@pytest.mark.realdata
def test_truncated_dump_in_folder_rolls_back(openml_data, tmp_path, store_path, capsys):
    assert run(store_path, openml_data / SQL / "quality.sql") == 0
    before = snapshot(store_path)
    folder = tmp_path / "sql"
    shutil.copytree(openml_data / SQL, folder)
    text = (folder / "dataset_description.sql").read_text()
    (folder / "dataset_description.sql").write_text(text[: len(text) // 2])
    assert run(store_path, folder) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dataset_description.sql" in err
    assert snapshot(store_path) == before


def _data_quality_dump(n_datasets: int, qualities: list[str]) -> str:
    """A mysqldump-style snapshot: CREATE TABLE, then column-less extended INSERTs."""
    head = (
        "CREATE TABLE `data_quality` (\n  `data` int(10) unsigned NOT NULL DEFAULT '0',\n"
        "  `quality` varchar(128) NOT NULL DEFAULT '',\n"
        "  `evaluation_engine_id` int(16) NOT NULL,\n"
        "  `value` varchar(128) DEFAULT NULL,\n  `description` text\n);\n"
    )
    statements = []
    for d in range(1, n_datasets + 1):
        rows = ",".join(f"({d},'{q}',1,'{d * 10 + i}',NULL)" for i, q in enumerate(qualities))
        rows += f",({d},'{qualities[0]}',2,'999',NULL)"  # another engine: not imported
        statements.append(f"INSERT INTO `data_quality` VALUES {rows};\n")
    return head + "".join(statements)


def test_data_quality_streams_and_rolls_back(tmp_path, store_path, monkeypatch, capsys):
    import metabase.imports.openml_sql as openml_sql

    monkeypatch.setattr(openml_sql, "BATCH_ROWS", 100)  # several batches before the error
    qualities = ["NumberOfInstances", "NumberOfFeatures", "NumberOfClasses"]
    good = tmp_path / "snapshot.sql.gz"
    with gzip.open(good, "wt") as f:
        f.write(_data_quality_dump(200, qualities))
    assert run(store_path, good) == 0
    with open_reader(store_path) as con:
        n, mx = con.execute(
            "SELECT count(*), max(value) FROM dataset_qualities WHERE source='openml-sql'"
        ).fetchone()
    assert (n, mx) == (200 * 3, 200 * 10 + 2)
    before = snapshot(store_path)

    bad = tmp_path / "bad.sql"
    text = _data_quality_dump(300, qualities)
    bad.write_text(text[: len(text) - 30])
    assert run(store_path, bad) == 1
    assert "bad.sql" in capsys.readouterr().err
    assert snapshot(store_path) == before


@pytest.mark.parametrize(
    "text, message",
    [
        ("INSERT INTO `dataset` (`x`, `y`) VALUES (1, 2);", "lacks columns did, name"),
        ("INSERT INTO `users` (`id`) VALUES (1);", "no OpenML tables"),
        ("not a dump", "no closing ';'"),
    ],
)
def test_bad_input_one_line_error(tmp_path, store_path, capsys, text, message):
    path = tmp_path / "x.sql"
    path.write_text(text)
    assert run(store_path, path) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_folder_without_dumps(tmp_path, store_path, capsys):
    assert run(store_path, tmp_path) == 1
    assert "no .sql" in capsys.readouterr().err
