"""Benchmark: the strict readers (metabase.formats) against the lenient readers they replace, side
by side in one run, on the real data files: pandas' C parser for CSV/TSV and ARFF data (what the
features loader and the importers' ARFF reader used before), best of ``REPEATS``.

    pytest -m benchmark tests/benchmarks/bench_formats.py -s
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd
import pytest

RESULTS = Path(__file__).parent / "results" / "formats.json"
REPEATS = 3
FILES = [
    "datasets/credit-g/credit-g.csv",
    "datasets/credit-g/credit-g.arff",
    "datasets/eeg-eye-state/eeg-eye-state.csv",
    "datasets/eeg-eye-state/eeg-eye-state.arff",
    "datasets/bank-marketing/bank-marketing.csv",
    "datasets/electricity/electricity.arff",
    "pmlb/datasets/1201_BNG_breastTumor/1201_BNG_breastTumor.tsv.gz",
    "openml-pimp/KDD2018/data/arff/random_forest.arff",
]


def _best(fn) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _pandas(path: Path):
    """The lenient baseline: pandas' C parser (for ARFF, on the data section, as before)."""
    if path.name.endswith(".arff"):
        text = path.read_text()
        body = text[text.lower().index("@data") + 5 :]
        return pd.read_csv(
            io.StringIO(body),
            header=None,
            quotechar="'",
            escapechar="\\",
            comment="%",
            skipinitialspace=True,
            na_values=["?"],
            keep_default_na=False,
        )
    return pd.read_csv(path, sep="\t" if ".tsv" in path.name else ",", na_values=["?"])


def _strict(path: Path):
    from metabase.formats import arff
    from metabase.formats.delimited import read_delimited

    if path.name.endswith(".arff"):
        return arff.read_arff(path)[1]
    return read_delimited(path, sep="\t" if ".tsv" in path.name else ",")


@pytest.mark.benchmark
def test_strict_readers_against_pandas(openml_data):
    rows = []
    for name in FILES:
        path = openml_data / name
        _strict(path), _pandas(path)  # warm up
        strict, lenient = _best(lambda: _strict(path)), _best(lambda: _pandas(path))
        rows.append(
            {
                "file": name,
                "rows": len(_strict(path)),
                "strict_s": round(strict, 3),
                "pandas_s": round(lenient, 3),
                "ratio": round(strict / lenient, 1),
            }
        )
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
