"""Bad input to ``features``, ``recommend`` and ``evaluate``: exit code 1, one line on stderr that
names the file, line and column or the option, nothing on stdout, and the store's digest unchanged.
Also: one decision of "is this target classification?", and the CLI never writes to the store.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli.main import main
from metabase.errors import InputError

REPO = Path(__file__).resolve().parent.parent
CREDIT = Path("datasets/credit-g")


def digest(store: Path) -> dict[str, tuple[int, int]]:
    from metabase.store import open_reader
    from metabase.store.digest import table_digests

    with open_reader(store) as con:
        return table_digests(con)


@pytest.fixture
def store(tmp_path) -> Path:
    """A store that knows dataset 31 (credit-g) and holds one of its OpenML qualities."""
    from metabase.store import open_writer

    path = tmp_path / "store.duckdb"
    with open_writer(path) as writer:
        writer.upsert(
            "datasets", pd.DataFrame([{"dataset_id": 31, "name": "credit-g", "source": "openml"}])
        )
        writer.upsert(
            "dataset_qualities",
            pd.DataFrame(
                [
                    {
                        "dataset_id": 31,
                        "quality": "NumberOfInstances",
                        "value": 1000.0,
                        "source": "openml",
                    }
                ]
            ),
        )
    return path


def _fails(capsys, store: Path, *args: str) -> str:
    """Run the command; check exit 1, exactly one stderr line, no stdout, the store unchanged."""
    capsys.readouterr()
    before = digest(store)
    rc = main(["--store", str(store), *args])
    captured = capsys.readouterr()
    assert rc == 1, captured.err
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, repr(captured.err)
    assert captured.out == ""
    assert digest(store) == before
    return captured.err.strip()


def _small_csv(tmp_path) -> Path:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "label": list("pnpn")}).to_csv(path, index=False)
    return path


# -- features: bad files --------------------------------------------------------------------------
def _credit_variant(openml_data, tmp_path, name: str, change) -> tuple[Path, int]:
    lines = (openml_data / CREDIT / name).read_bytes().split(b"\n")
    start = next((i for i, line in enumerate(lines) if line.strip().lower() == b"@data"), 0) + 1
    index = start + 100
    lines[index] = change(lines[index])
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines))
    return path, index + 1


def _replace_field(position: int, value: bytes):
    def change(line: bytes) -> bytes:
        parts = line.split(b",")
        parts[position] = value
        return b",".join(parts)

    return change


@pytest.mark.realdata
@pytest.mark.parametrize(
    "name, change, column",
    [
        ("credit-g.arff", _replace_field(1, b"twelve"), "duration"),  # text in a numeric column
        ("credit-g.arff", lambda line: line.rsplit(b",", 1)[0], "class"),  # a short row
        ("credit-g.arff", lambda line: line + b",good", "22"),  # one value too many
        ("credit-g.arff", _replace_field(20, b"excellent"), "class"),  # outside the nominal set
        ("credit-g.arff", _replace_field(20, b"g\xf6\xf6d"), None),  # latin-1
        ("credit-g.csv", lambda line: line + b",extra", "22"),  # longer than the header
        ("credit-g.csv", _replace_field(20, b"g\xf6\xf6d"), None),
    ],
)
def test_features_refuses_a_malformed_file_naming_line_and_column(
    openml_data, tmp_path, store, capsys, name, change, column
):
    path, line = _credit_variant(openml_data, tmp_path, name, change)
    message = _fails(
        capsys,
        store,
        "features",
        str(path),
        "--target",
        "class",
        "--groups",
        "general",
        "--store-result",
        "--dataset-id",
        "31",
    )
    assert str(path) in message and f"line {line}" in message
    if column is not None:
        assert f"column {column if column.isdigit() else repr(column)}" in message


def test_features_refuses_a_file_without_line_breaks_at_once(tmp_path, store, capsys):
    from metabase.formats.text import MAX_LINE_BYTES

    path = tmp_path / "one-line.csv"
    path.write_bytes(b"a,label\n" + b"1,p," * (MAX_LINE_BYTES // 4 + 10))
    message = _fails(capsys, store, "features", str(path), "--target", "label")
    assert "line 2" in message and "longer than" in message


# -- features: the shared bad-input contract (metabase.testing.bad_input) -------------------------
# Not for a data file: a repeated row (data may repeat rows), "NaN" in a number (a missing value,
# as Weka reads an ARFF and pandas a CSV) and, in CSV, text in a numeric column (a CSV declares no
# types: the column holds text).
NOT_FOR_DATA = ("repeated-row", "non-finite-NaN")
NOT_FOR_CSV = ("text-in-numeric",)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["credit-g.arff", "credit-g.csv"])
def test_features_keeps_the_bad_input_contract(openml_data, tmp_path, store, capsys, name):
    from metabase.testing.bad_input import (
        Outcome,
        arff_layout,
        check_variant,
        csv_layout,
        text_variants,
    )

    lines = (openml_data / CREDIT / name).read_text().splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip().lower() == "@data"), 0) + 1
    text = "\n".join(lines[: first + 40]) + "\n"  # the header and 40 real rows
    layout = (arff_layout if name.endswith(".arff") else csv_layout)(
        text, numeric=["duration", "credit_amount"]
    )
    path = tmp_path / name
    args = [
        "--store",
        str(store),
        "features",
        str(path),
        "--target",
        "class",
        "--groups",
        "general,class,missing,statistical",
        "--store-result",
        "--dataset-id",
        "31",
        "-f",
        "json",
    ]
    path.write_text(text)
    assert main(args) == 0, capsys.readouterr().err
    clean = digest(store)
    broken = []
    for variant in text_variants(layout):
        if variant.name.startswith(NOT_FOR_DATA) or (
            name.endswith(".csv") and variant.name.startswith(NOT_FOR_CSV)
        ):
            continue
        path.write_bytes(variant.data)
        before = digest(store)
        capsys.readouterr()
        code = main(args)
        problem = check_variant(
            variant, Outcome(code, capsys.readouterr().err, before, digest(store), clean)
        )
        if problem:
            broken.append(problem)
    assert broken == []


# -- features: options ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, says",
    [
        (["--budget", "-1"], "--budget"),
        (["--budget", "nan"], "--budget"),
        (["--store-result", "--dataset-id", "-5"], "--dataset-id"),
        (["--store-result", "--dataset-id", "0"], "--dataset-id"),
        (["--store-result", "--dataset-id", "4242"], "dataset 4242 is not in the store"),
        (["--dataset", "-31"], "--dataset"),
        (["--task", "0"], "--task"),
    ],
)
def test_features_refuses_bad_options(tmp_path, store, capsys, args, says):
    message = _fails(
        capsys, store, "features", str(_small_csv(tmp_path)), "--target", "label", *args
    )
    assert says in message


def test_an_unknown_dataset_id_is_refused_before_anything_is_computed(
    tmp_path, store, monkeypatch, capsys
):
    import metabase.metafeatures as metafeatures

    monkeypatch.setattr(
        metafeatures, "compute", lambda *a, **k: pytest.fail("computed before refusing")
    )
    _fails(
        capsys,
        store,
        "features",
        str(_small_csv(tmp_path)),
        "--target",
        "label",
        "--store-result",
        "--dataset-id",
        "32",
    )


def test_stored_values_go_through_the_library_under_a_known_id(tmp_path, store):
    from metabase.services.features import features
    from metabase.settings import Settings
    from metabase.store import open_reader
    from metabase.workspace import Workspace

    out = features(
        Workspace(Settings.resolve(store=store, offline=True)),
        path=_small_csv(tmp_path),
        target="label",
        dataset_id=31,
        groups=["general"],
        store_result=True,
    )
    with open_reader(store) as con:
        rows = con.df("SELECT quality, value FROM dataset_qualities WHERE source = 'computed'")
    assert out.stored == len(rows) > 0 and out.dataset_id == 31
    assert rows.set_index("quality")["value"]["NumberOfInstances"] == 4


@pytest.mark.realdata
def test_features_of_a_dataset_refuses_an_unknown_target(replay_server, store, capsys):
    message = _fails(
        capsys,
        store,
        "--openml-server",
        replay_server.url,
        "features",
        "--dataset",
        "31",
        "--target",
        "nope",
        "--groups",
        "general",
    )
    # credit-g's columns (openml-data/datasets/credit-g/features.json) are named in the message
    assert "'nope' is not a column of dataset 31" in message and "checking_status" in message


@pytest.mark.realdata
def test_features_of_a_dataset_uses_the_target_given(replay_server, store, capsys):
    rc = main(
        [
            "--store",
            str(store),
            "--openml-server",
            replay_server.url,
            "features",
            "--dataset",
            "31",
            "--target",
            "housing",
            "--groups",
            "class",
            "-f",
            "json",
        ]
    )
    out = capsys.readouterr()
    assert rc == 0, out.err
    values = {row["quality"]: row["value"] for row in json.loads(out.out)}
    assert values["NumberOfClasses"] == 3  # housing: own, for free, rent (not class's good/bad)


@pytest.mark.realdata
def test_features_of_a_task_refuses_another_target(replay_server, store, capsys):
    message = _fails(
        capsys,
        store,
        "--openml-server",
        replay_server.url,
        "features",
        "--task",
        "14951",
        "--target",
        "V1",
    )
    assert "task 14951 predicts 'Class'" in message


def test_compute_refuses_a_negative_budget():
    from metabase.metafeatures import compute

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    for budget in (-1.0, -1e-9, float("nan")):
        with pytest.raises(InputError, match="number of seconds"):
            compute(X, None, groups=["general"], budget_s=budget)
    assert (
        compute(X, None, groups=["general"], budget_s=float("inf")).values["NumberOfInstances"]
        == 3
    )


# -- recommend and evaluate -----------------------------------------------------------------------
def test_recommend_export_into_a_directory_is_one_line(tmp_path, store, capsys):
    message = _fails(
        capsys,
        store,
        "--offline",
        "recommend",
        "--task",
        "9983",
        "--export",
        "optuna",
        str(tmp_path),
    )
    assert "--export" in message and "directory" in message


def test_write_export_refuses_a_directory(tmp_path):
    from metabase.recommend.warmstart import write_export

    with pytest.raises(InputError, match="is a directory"):
        write_export(None, "optuna", tmp_path)


@pytest.fixture
def meta_dir(tmp_path) -> Path:
    """A small meta-dataset: 4 tasks of 6 runs, with an all-missing meta-feature column."""
    from metabase.metadataset import MetaDataset, write

    rng = np.random.default_rng(0)
    runs = pd.DataFrame(
        {
            "task_id": np.repeat([1, 2, 3, 4], 6),
            "pipeline": "p",
            "config": [json.dumps({"x": float(x)}) for x in np.tile(np.linspace(0, 1, 6), 4)],
            "score": rng.random(24),
        }
    )
    tasks = pd.DataFrame(
        {"task_id": [1, 2, 3, 4], "q": [1.0, 2.0, 3.0, 4.0], "never_known": np.nan}
    )
    return write(MetaDataset(runs=runs, tasks=tasks), tmp_path / "md")


@pytest.mark.parametrize(
    "args, says",
    [
        (["--max-tasks", "0"], "--max-tasks"),
        (["--max-tasks", "-2"], "--max-tasks"),
        (["--plot", "regret.txt"], ".txt is not an image format"),
        (["--plot", "regret"], "no extension is not an image format"),
    ],
)
def test_evaluate_refuses_bad_options_before_the_run(
    meta_dir, tmp_path, store, monkeypatch, capsys, args, says
):
    import metabase.evaluate

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        metabase.evaluate, "backtest", lambda *a, **k: pytest.fail("the backtest ran")
    )
    assert says in _fails(capsys, store, "evaluate", str(meta_dir), *args)
    assert not (tmp_path / "regret.txt").exists()


def test_evaluate_library_refuses_max_tasks_zero(meta_dir):
    from metabase.services.evaluate import evaluate

    with pytest.raises(InputError, match="--max-tasks must be a positive integer"):
        evaluate(meta_dir, strategies=["knn"], ks=[1], max_tasks=0)


def test_evaluate_errors_have_no_blank_line_and_no_numpy_warning(meta_dir, tmp_path):
    """Through a real process, stderr a pipe: exactly the error line; and a run on a meta-dataset
    with an all-missing meta-feature prints no RuntimeWarning.
    """
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    base = [sys.executable, "-m", "cli.main", "--store", str(tmp_path / "s.duckdb"), "evaluate"]
    bad = subprocess.run(
        base + [str(tmp_path / "nowhere")], capture_output=True, text=True, env=env, timeout=300
    )
    assert (
        bad.returncode == 1 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    ), bad.stderr
    good = subprocess.run(
        base + [str(meta_dir), "--strategies", "knn", "--k", "1,3", "-f", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["tasks"] == 4
    assert good.stderr == "", good.stderr


def test_the_meta_feature_scaler_is_silent_on_an_all_missing_column():
    from metabase.recommend.encoding import MetaFeatureScaler

    frame = pd.DataFrame({"q": [1.0, 2.0, 4.0], "never_known": np.nan, "r": [0.0, np.nan, 1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler = MetaFeatureScaler().fit(frame)
    assert scaler.columns_ == ["q", "r"]  # an all-missing quality is dropped
    assert scaler.center_[0] == pytest.approx(np.log1p(2.0)) and scaler.center_[
        1
    ] == pytest.approx(np.log1p(1.0) / 2)  # the median of the logs


# -- one decision: is this target classification? -------------------------------------------------
@pytest.mark.parametrize(
    "values, default, with_codes",
    [
        (["a", "b", "a"], "classification", "classification"),
        (pd.Categorical(["x", "y"]), "classification", "classification"),
        ([True, False, True], "classification", "classification"),
        ([1, 2] * 20, "regression", "classification"),  # eeg-eye-state's Class 1/2
        ([0.0, 1.0] * 20, "regression", "classification"),
        ([0.5, 1.5] * 20, "regression", "regression"),  # not whole numbers
        (list(range(40)), "regression", "regression"),  # 40 distinct values in 40 rows
    ],
)
def test_infer_task_is_the_one_decision(values, default, with_codes):
    from metabase.metafeatures import infer_task

    y = pd.Series(values)
    assert infer_task(y) == default and infer_task(y, class_codes=True) == with_codes
    assert infer_task(None) == "none"


def test_recommend_takes_integer_class_codes_as_classes():
    from metabase.services.recommend import file_meta_features

    X = pd.DataFrame({"a": np.arange(40, dtype=float)})
    values = file_meta_features(X, pd.Series([1, 2] * 20, name="Class"))
    assert values["NumberOfClasses"] == 2 and values["MajorityClassSize"] == 20


def test_the_cli_never_opens_a_store_writer():
    """Writes go through the library (services), never from a command module."""
    offenders = []
    for path in sorted((REPO / "cli").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "writer"
                and not node.args
            ):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("metabase.store")
                and any(alias.name == "open_writer" for alias in node.names)
            ):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []
