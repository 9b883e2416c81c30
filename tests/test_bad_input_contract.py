"""The shared bad-input contract (metabase.testing.bad_input), run for every text importer.

Each importer first imports a small clean slice of a real export; then every damaged variant of
that slice is imported into the same store. The variant is either refused with one line (exit 1,
the store's digest unchanged) or gives exactly the clean slice's rows.
"""

from __future__ import annotations

import gzip
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from cli.main import main
from metabase.store import open_reader
from metabase.store.digest import table_digests
from metabase.testing.bad_input import (
    Layout,
    Outcome,
    Variant,
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
    return (
        "".join(lines),
        "database-accuracy.csv",
        {"numeric": ["score_test"], "ids": ["openmlid"]},
    )


def _tabrepo(data: Path) -> tuple[str, str, dict]:
    text = sample_text(
        (data / "tabrepo/_history/c027dbd43d/data/metadata/task_metadata.csv").read_text(), 30
    )
    return text, "task_metadata.csv", {"numeric": ["NumberOfInstances"], "ids": ["tid", "did"]}


def _task_list(data: Path) -> tuple[str, str, dict]:
    # OpenML's task-list layout; TabRepo's copy of it is the real export with many rows
    text, _, columns = _tabrepo(data)
    return text, "tasks.csv", columns


def _study(data: Path) -> tuple[str, str, dict]:
    text = (
        data
        / "openml-aslib/openmlmetadata/output/study_14_run_evaluations_predictive_accuracy.arff"
    ).read_text()
    head, _, body = text.partition("@DATA\n")
    rows = [line for line in body.splitlines() if line.strip()]
    text = head + "@DATA\n" + "\n".join(rows[:60]) + "\n"
    return (
        text,
        "study_14_run_evaluations_predictive_accuracy.arff",
        {"numeric": ["predictive_accuracy"], "ids": ["openml_data_id"]},
    )


AUTOSKLEARN = (
    "auto-sklearn/_history/830822b23/autosklearn/metalearning/files/"
    "accuracy_binary.classification_dense"
)


def _autosklearn(name: str, columns: dict):
    def make(data: Path) -> tuple[str, str, dict]:
        return (data / AUTOSKLEARN / name).read_text(), name, columns

    return make


def _sql(data: Path) -> tuple[str, str, dict]:
    lines = (data / "openml-server/data/sql/dataset.sql").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("INSERT INTO"))
    rows = lines[at + 1 : at + 31]
    rows[-1] = rows[-1].rstrip(",") + ";"
    return "\n".join(lines[: at + 1] + rows) + "\n", "dataset.sql", {}


def _sql_layout(text: str, **_) -> Layout:
    lines = text.splitlines()
    return Layout(header=lines[:1], rows=lines[1:])


def _sql_ids(layout: Layout) -> list[Variant]:
    """A dump's rows are ``(did, ...),``: the id variants damage the middle row's did."""
    middle = len(layout.rows) // 2
    out = []
    for text in ("-5", "0", "3.5", "99999999999999999999", "1e999"):
        rows = list(layout.rows)
        rows[middle] = re.sub(r"^\(\d+,", f"({text},", rows[middle])
        out.append(
            Variant(f"bad-id-{text}-in-did", ("\n".join(layout.header + rows) + "\n").encode())
        )
    return out


@dataclass(frozen=True)
class Reader:
    """How to run one importer on one file: the source name, the slice maker, the layout of the
    file, and the folder to place it in (with the real files it needs beside it), if any.
    """

    source: str
    make: Callable
    layout: Callable = csv_layout
    folder: str | None = None
    companions: tuple[str, ...] = ()
    extra: Callable = lambda layout: []


READERS = {
    "qualities-csv": Reader("qualities-csv", _qualities),
    "openml-pimp": Reader("openml-pimp", _pimp, arff_layout),
    "lcdb": Reader("lcdb", _lcdb, folder="lcdb"),
    "tabrepo-metadata": Reader("tabrepo-metadata", _tabrepo),
    "openml-task-list": Reader("openml-task-list", _task_list),
    "openml-study-arff": Reader("openml-study-arff", _study, arff_layout),
    "autosklearn/algorithm_runs.arff": Reader(
        "autosklearn",
        _autosklearn("algorithm_runs.arff", {"numeric": ["accuracy"], "ids": ["instance_id"]}),
        arff_layout,
        folder=AUTOSKLEARN.rsplit("/", 1)[1],
        companions=("configurations.csv", "feature_values.arff"),
    ),
    "autosklearn/configurations.csv": Reader(
        "autosklearn",
        _autosklearn("configurations.csv", {}),
        folder=AUTOSKLEARN.rsplit("/", 1)[1],
        companions=("algorithm_runs.arff", "feature_values.arff"),
    ),
    "autosklearn/feature_values.arff": Reader(
        "autosklearn",
        _autosklearn("feature_values.arff", {"numeric": ["ClassEntropy"], "ids": ["instance_id"]}),
        arff_layout,
        folder=AUTOSKLEARN.rsplit("/", 1)[1],
        companions=("algorithm_runs.arff", "configurations.csv"),
    ),
    "openml-sql": Reader("openml-sql", _sql, _sql_layout, extra=_sql_ids),
}


def _import(store: Path, source: str, target: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--store", str(store), "import", source, str(target)])
    return code, capsys.readouterr().err


def _digest(store: Path):
    with open_reader(store) as con:
        return table_digests(con)


def _place(tmp: Path, name: str, data: bytes, reader: Reader, openml_data: Path) -> Path:
    if tmp.exists():
        shutil.rmtree(tmp)
    folder = tmp / reader.folder if reader.folder else tmp
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    for companion in reader.companions:
        shutil.copyfile(openml_data / AUTOSKLEARN / companion, folder / companion)
    return folder if reader.folder else folder / name


def _refused_or_clean(
    reader: Reader, variants, name: str, store: Path, clean, tmp_path: Path, openml_data, capsys
) -> list[str]:
    broken = []
    for variant in variants:
        before = _digest(store)
        target = _place(tmp_path / "variant", name, variant.data, reader, openml_data)
        code, err = _import(store, reader.source, target, capsys)
        problem = check_variant(variant, Outcome(code, err, before, _digest(store), clean))
        if problem:
            broken.append(problem)
    return broken


@pytest.mark.parametrize("which", sorted(READERS))
def test_every_damaged_variant_is_refused_or_gives_the_clean_rows(
    which, openml_data, tmp_path, capsys
):
    reader = READERS[which]
    text, name, columns = reader.make(openml_data)
    store = tmp_path / "store.duckdb"
    code, err = _import(
        store,
        reader.source,
        _place(tmp_path / "clean", name, text.encode(), reader, openml_data),
        capsys,
    )
    assert code == 0, err
    clean = _digest(store)
    assert any(rows for rows, _ in clean.values()), "the clean slice imported nothing"
    layout = reader.layout(text, **columns)
    variants = [*text_variants(layout), *reader.extra(layout)]
    broken = _refused_or_clean(reader, variants, name, store, clean, tmp_path, openml_data, capsys)
    assert broken == [], "\n".join(broken)


# -- meta-dataset: Parquet, so the variants are the ones a Parquet file can hold ------------------
def _meta_dataset(data: Path):
    """A meta-dataset from two tasks of the openml-pimp random-forest export (its hyperparameters
    as the config, its accuracy as the score) and their qualities.
    """
    import json

    import numpy as np
    import pandas as pd

    from metabase.formats import arff

    header, frame = arff.read_arff(data / "openml-pimp/KDD2018/data/arff/random_forest.arff")
    frame = pd.concat([frame.iloc[:40], frame.iloc[-40:]])
    params = [
        name for name in header.names if name.startswith(("randomforest", "columntransformer"))
    ]

    def config(row) -> str:
        return json.dumps(
            {p: (v.item() if hasattr(v, "item") else v) for p, v in row.items() if not pd.isna(v)}
        )

    runs = pd.DataFrame(
        {
            "task_id": frame["task_id"].astype("int64").to_numpy(),
            "pipeline": "openml-pimp.random_forest",
            "config": [config(row) for _, row in frame[params].iterrows()],
            "score": frame["predictive_accuracy"].to_numpy(dtype="float64"),
        }
    )
    qualities = json.loads((data / "openml-pimp/KDD2018/data/task_qualities.json").read_text())
    ids = sorted(runs["task_id"].unique())
    tasks = pd.DataFrame(
        {
            "task_id": np.array(ids, dtype="int64"),
            "dataset_id": pd.array([None] * len(ids), "Int64"),
            "NumberOfInstances": [qualities[str(t)]["NumberOfInstances"] for t in ids],
            "NumberOfFeatures": [qualities[str(t)]["NumberOfFeatures"] for t in ids],
        }
    )
    return runs, tasks


def _counted(store: Path, folder: Path, n_runs: int, capsys, caplog) -> list[str]:
    """A run without a score is stored without an evaluation, and the warning counts it."""
    caplog.clear()
    code, err = _import(store, "meta-dataset", folder, capsys)
    err += caplog.text  # the CLI's warnings go to stderr; in-process, pytest captures the log
    counts = {table: rows for table, (rows, _) in _digest(store).items()} if code == 0 else {}
    if (
        code != 0
        or f"1 of {n_runs} runs have no score" not in err
        or counts["runs"] != n_runs
        or counts["evaluations"] != n_runs - 1
    ):
        return [
            "runs-score-nan: neither refused nor counted: "
            f"exit {code}, {counts}, {err.strip()[:200]!r}"
        ]
    return []


# A meta-dataset lists runs, and OpenML holds runs of one setup on one task that score alike (the
# export writes each): a repeated row is data, not damage.
NOT_FOR_META_DATASET = ("runs-repeated-row",)


def test_meta_dataset_keeps_the_bad_input_contract(openml_data, tmp_path, capsys, caplog):
    from metabase.testing.bad_input import parquet_variants

    runs, tasks = _meta_dataset(openml_data)
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    runs.to_parquet(clean_dir / "runs.parquet", index=False)
    tasks.to_parquet(clean_dir / "tasks.parquet", index=False)
    store = tmp_path / "store.duckdb"
    code, err = _import(store, "meta-dataset", clean_dir, capsys)
    assert code == 0, err
    clean = _digest(store)
    assert clean["runs"][0] == len(runs)
    broken = []
    for variant in parquet_variants(runs, tasks):
        if variant.name in NOT_FOR_META_DATASET:
            continue
        folder = tmp_path / "variant"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(clean_dir, folder)
        (folder / variant.file).write_bytes(variant.data)
        before = _digest(store)
        caplog.clear()
        code, err = _import(store, "meta-dataset", folder, capsys)
        if (
            variant.name == "runs-score-nan"
        ):  # the third outcome the issue allows: counted, stored as missing
            broken.extend(_counted(tmp_path / "counted.duckdb", folder, len(runs), capsys, caplog))
            continue
        problem = check_variant(variant, Outcome(code, err, before, _digest(store), clean))
        if problem:
            broken.append(problem)
    assert broken == [], "\n".join(broken)
