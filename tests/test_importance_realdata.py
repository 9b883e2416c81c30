"""``metabase importance`` on the real openml-pimp random-forest runs (flow 6969, KDD 2018)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from cli.main import main

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

ARFF = Path("openml-pimp/KDD2018/data/arff/random_forest.arff")


def _read_arff(path: Path) -> tuple[list[str], dict[str, set], dict[int, list[float]]]:
    """(parameter columns, distinct values per column, accuracies per task), by plain text
    splitting.
    """
    lines = path.read_text().splitlines()
    meta = json.loads(lines[0].lstrip("% "))
    names = [line.split()[1] for line in lines if line.upper().startswith("@ATTRIBUTE")]
    start = next(i for i, line in enumerate(lines) if line.strip().upper() == "@DATA") + 1
    values, scores = defaultdict(set), defaultdict(list)
    for line in lines[start:]:
        if not line.strip() or line.startswith("%"):
            continue
        row = dict(zip(names, line.split(",")))
        for column in meta["col_parameters"]:
            values[column].add(row[column])
        scores[int(float(row["task_id"]))].append(float(row["predictive_accuracy"]))
    return meta["col_parameters"], values, scores


def test_pimp_importance_is_a_fraction_per_task_and_constants_are_reported(
    openml_data, tmp_path, capsys
):
    columns, values, scores = _read_arff(openml_data / ARFF)
    store = ["--store", str(tmp_path / "s.duckdb")]
    assert main([*store, "import", "openml-pimp", str(openml_data / ARFF)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                *store,
                "importance",
                "--pipeline",
                "sklearn.random_forest",
                "--pairs",
                "--format",
                "json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)

    # every task of the file with at least 100 runs is analysed; those whose accuracy never varies
    # get a note instead of numbers
    assert set(map(int, data["tasks"])) == {t for t, s in scores.items() if len(s) >= 100}
    flat = {t for t, s in scores.items() if len(set(s)) == 1}
    assert {int(t) for t in data["notes"]} == flat
    # parameters with one value in the whole file are constant, not of zero importance
    constant = {c.split("__")[-1] for c in columns if len(values[c]) == 1}
    assert constant and constant <= set(data["constant"])
    assert not constant & set(data["summary"])
    varying = len([c for c in columns if len(values[c]) > 1])
    for task, singles in data["tasks"].items():
        if int(task) in flat:
            assert singles == {}
            continue
        assert len(singles) == varying
        pairs = data["pairs"][task]
        assert all(v >= 0 for v in [*singles.values(), *pairs.values()])
        assert sum(singles.values()) + sum(pairs.values()) <= 1 + 1e-9
    # the paper's finding on these runs: min_samples_leaf and max_features matter most
    assert set(data["ranking"][:2]) == {"min_samples_leaf", "max_features"}
