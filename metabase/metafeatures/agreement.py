"""Agreement of computed qualities with OpenML's own values (and auto-sklearn's), per quality.

The reference values come from files only (no network): the qualities export of 2,872 datasets,
the recorded ``qualities.xml`` of dataset 2 (anneal), and auto-sklearn's ``feature_values.arff``.
Tolerances (never loosened to make a quality pass):

* ``count``: anything defined by counts (sizes, numbers of attributes, percentages of them, class
  sizes, distinct values, auto-correlation): equal up to float rounding (relative 1e-9);
* ``statistic``: moments, quartiles, entropies, mutual information, auto-correlation (a mean of
  differences of real values for a numeric target): within 1% relative or 1e-6 absolute;
* ``landmarker``: ErrRate within 0.02, AUC within 0.03, Kappa within 0.05 absolute. A 10-fold CV
  estimate on 1,000 instances has a standard error of about 0.014 in error rate from the fold
  assignment alone, and OpenML's folds (Weka's seeded stratification) cannot be reproduced.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from metabase.metafeatures.api import GROUPS, compute
from metabase.metafeatures.autosklearn import AUTOSKLEARN_NAMES
from metabase.metafeatures.engine import metafeatures
from metabase.metafeatures.loading import load_table, read_arff

#: OpenML dataset ids of the raw datasets in ``openml-data/datasets``
#: (from their README/features.json).
RAW_DATASETS: dict[str, int] = {
    "eeg-eye-state": 1471,
    "credit-g": 31,
    "electricity": 151,
    "bank-marketing": 1461,
    "Click_prediction_small": 1220,
    "Amazon_employee_access": 4135,
    "mozilla4": 1046,
}
LANDMARK_TOLERANCE = {"ErrRate": 0.02, "AUC": 0.03, "Kappa": 0.05}
_COUNT_NAMES = re.compile(
    r"^(NumberOf|Num[A-Z]|PercentageOf|Dimensionality|Majority|Minority|ClassCount|InstanceCount|"
    r"IncompleteInstanceCount|DefaultAccuracy|(Min|Max|Mean|Stdv)NominalAttDistinctValues|"
    r"Log(NumberOf|Dataset|Inverse)|(Inverse)?DatasetRatio|Ratio|Symbols|ClassProbability)"
)


@dataclass(frozen=True)
class Case:
    """One dataset with raw data here and reference qualities from somewhere else."""

    source: str  # "openml-export", "openml-xml" or "auto-sklearn"
    name: str
    dataset_id: int | None
    path: Path
    target: str
    reference: Mapping[str, float]
    task: str | None = None
    nominal: tuple[str, ...] = ()  # columns stored as numbers that the source declares nominal
    note: str = ""

    def load(self) -> tuple[pd.DataFrame, pd.Series]:
        X, y = load_table(self.path, self.target)
        for col in self.nominal:
            if col in X.columns:
                X[col] = (
                    X[col]
                    .astype("Int64")
                    .astype(str)
                    .where(X[col].notna(), None)
                    .astype("category")
                )
        return X, y


def tolerance_kind(quality: str) -> str:
    if any(quality.endswith(m) for m in LANDMARK_TOLERANCE) and not quality.startswith("Class"):
        return "landmarker"
    return "count" if _COUNT_NAMES.match(quality) else "statistic"


def agrees(quality: str, computed: float, reference: float) -> bool:
    if reference is None or (isinstance(reference, float) and math.isnan(reference)):
        return bool(np.isnan(computed))
    if np.isnan(computed):
        return False
    kind = tolerance_kind(quality)
    diff = abs(computed - reference)
    if kind == "count":
        return diff <= 1e-9 * max(1.0, abs(reference))
    if kind == "statistic":
        return diff <= 1e-6 or diff <= 0.01 * abs(reference)
    measure = next(m for m in LANDMARK_TOLERANCE if quality.endswith(m))
    return diff <= LANDMARK_TOLERANCE[measure] + 1e-12


# ---------------------------------------------------------------- reference cases


def export_table(openml_data: Path) -> pd.DataFrame:
    return pd.read_csv(
        Path(openml_data) / "qualities" / "openml_dataset_qualities_2872.csv"
    ).set_index("Id")


def _row(table: pd.DataFrame, dataset_id: int) -> dict[str, float]:
    row = table.loc[dataset_id].drop(labels=["Name", "Runs"], errors="ignore")
    return {k: float(v) for k, v in row.items()}


def raw_dataset_cases(openml_data: Path, table: pd.DataFrame | None = None) -> list[Case]:
    """``datasets/*``, matched to the export by OpenML dataset id."""
    openml_data = Path(openml_data)
    table = export_table(openml_data) if table is None else table
    cases = []
    for name, did in RAW_DATASETS.items():
        folder = openml_data / "datasets" / name
        features = json.loads((folder / "features.json").read_text())
        target = next(k for k, v in features.items() if v == "target")
        if did in table.index:
            cases.append(
                Case(
                    "openml-export",
                    name,
                    did,
                    folder / f"{name}.arff",
                    target,
                    _row(table, did),
                    task="classification",
                )
            )
    return cases


def pmlb_cases(openml_data: Path, table: pd.DataFrame | None = None) -> list[Case]:
    """``pmlb/datasets/<id>_<name>`` (all regression datasets), matched by the id in the name."""
    openml_data = Path(openml_data)
    table = export_table(openml_data) if table is None else table
    cases = []
    for folder in sorted((openml_data / "pmlb" / "datasets").iterdir()):
        match = re.match(r"^(\d+)_(.+)$", folder.name)
        data = folder / f"{folder.name}.tsv.gz"
        if not match or not data.exists() or int(match.group(1)) not in table.index:
            continue
        meta = (
            (folder / "metadata.yaml").read_text() if (folder / "metadata.yaml").exists() else ""
        )
        task = (
            "classification" if re.search(r"^task:\s*classification", meta, re.M) else "regression"
        )
        # PMLB stores every attribute as a number. Its metadata.yaml guesses which are categorical,
        # but taking them all as numeric agrees better with OpenML's own types (77% vs 72%).
        cases.append(
            Case(
                "openml-export",
                match.group(2),
                int(match.group(1)),
                data,
                "target",
                _row(table, int(match.group(1))),
                task=task,
            )
        )
    return cases


def anneal_cases(openml_data: Path, table: pd.DataFrame | None = None) -> list[Case]:
    """Dataset 2 (anneal): its recorded test-server ``qualities.xml``, and the export's row."""
    openml_data = Path(openml_data)
    folder = (
        openml_data
        / "openml-python"
        / "tests"
        / "files"
        / "org"
        / "openml"
        / "test"
        / "datasets"
        / "2"
    )
    text = (folder / "qualities.xml").read_text()
    xml = {
        n: float(v)
        for n, v in re.findall(r"<oml:name>(.*?)</oml:name>\s*<oml:value>(.*?)</oml:value>", text)
    }
    cases = [
        Case(
            "openml-xml", "anneal", 2, folder / "dataset.arff", "class", xml, task="classification"
        )
    ]
    table = export_table(openml_data) if table is None else table
    if 2 in table.index:
        cases.append(
            Case(
                "openml-export",
                "anneal",
                2,
                folder / "dataset.arff",
                "class",
                _row(table, 2),
                task="classification",
                note="test-server ARFF against the production export",
            )
        )
    return cases


def openml_cases(openml_data: Path) -> list[Case]:
    table = export_table(openml_data)
    return (
        raw_dataset_cases(openml_data, table)
        + anneal_cases(openml_data, table)
        + pmlb_cases(openml_data, table)
    )


def autosklearn_cases(openml_data: Path) -> list[Case]:
    """auto-sklearn's ``feature_values.arff`` rows for datasets whose raw data is here (by
    name).
    """
    openml_data = Path(openml_data)
    files = openml_data / "auto-sklearn" / "autosklearn" / "metalearning" / "files"
    reference: dict[str, dict[str, float]] = {}
    for folder in (
        "accuracy_binary.classification_dense",
        "accuracy_multiclass.classification_dense",
    ):
        frame = read_arff(files / folder / "feature_values.arff")
        for _, row in frame.iterrows():
            values = {
                k: float(v) for k, v in row.items() if k not in ("instance_id", "repetition")
            }
            reference.setdefault(str(row["instance_id"]), values)
    cases = []
    for case in raw_dataset_cases(openml_data) + anneal_cases(openml_data)[:1]:
        if case.name in reference:
            cases.append(
                Case(
                    "auto-sklearn",
                    case.name,
                    case.dataset_id,
                    case.path,
                    case.target,
                    reference[case.name],
                    task=case.task,
                )
            )
    return cases


# ---------------------------------------------------------------- the report


def agreement_report(
    cases: Iterable[Case],
    *,
    groups: Iterable[str] | None = None,
    landmarkers_max_rows: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per case x reference quality that we compute: computed, reference, kind, agree.

    ``landmarkers_max_rows`` skips the landmarking group on larger datasets (to keep tests quick).
    """
    rows = []
    for case in cases:
        X, y = case.load()
        # Only the groups the reference has values for (landmarkers are slow and often absent).
        registry = metafeatures()
        names = AUTOSKLEARN_NAMES if case.source == "auto-sklearn" else {}
        needed = {
            registry[names.get(q, q)].group
            for q, v in case.reference.items()
            if names.get(q, q) in registry and v is not None and not math.isnan(v)
        }
        chosen = [g for g in (groups if groups is not None else GROUPS) if g in needed]
        skip = ()
        if landmarkers_max_rows is not None and len(X) > landmarkers_max_rows:
            skip = ("landmarking",)
        result = compute(X, y, groups=chosen, skip=skip, seed=seed, task=case.task)
        for name, reference in case.reference.items():
            # auto-sklearn names that clash with OpenML's are reported as "autosklearn.<name>"
            quality = AUTOSKLEARN_NAMES.get(name, name) if case.source == "auto-sklearn" else name
            if quality not in result.values or result.reasons.get(quality) == "skipped":
                continue
            if reference is None or math.isnan(reference):
                continue  # the source has no value: nothing to compare
            computed = result.values[quality]
            rows.append(
                {
                    "source": case.source,
                    "dataset": case.name,
                    "dataset_id": case.dataset_id,
                    "quality": name,
                    "group": result.groups.get(quality, ""),
                    "kind": tolerance_kind(name),
                    "computed": computed,
                    "reference": reference,
                    "agree": agrees(name, computed, reference),
                    "reason": result.reasons.get(quality),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "source",
            "dataset",
            "dataset_id",
            "quality",
            "group",
            "kind",
            "computed",
            "reference",
            "agree",
            "reason",
        ],
    )


def agreement_by_quality(report: pd.DataFrame) -> pd.DataFrame:
    """Per source and quality: datasets compared, datasets agreeing, and the agreement rate."""
    grouped = report.groupby(["source", "quality", "kind"], sort=True)["agree"]
    out = grouped.agg(compared="size", agreed="sum").reset_index()
    out["rate"] = out["agreed"] / out["compared"]
    return out


def markdown(summary: pd.DataFrame) -> str:
    """The per-quality summary as a Markdown table, one column per source ("agreed/compared")."""
    summary = summary.assign(
        cell=summary["agreed"].astype(int).astype(str) + "/" + summary["compared"].astype(str)
    )
    wide = summary.pivot_table(
        index=["quality", "kind"], columns="source", values="cell", aggfunc="first"
    )
    sources = list(wide.columns)
    lines = [
        "| quality | kind | " + " | ".join(sources) + " |",
        "|---|---|" + "---:|" * len(sources),
    ]
    for (quality, kind), row in wide.iterrows():
        cells = ["" if pd.isna(row[s]) else row[s] for s in sources]
        lines.append(f"| {quality} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m metabase.metafeatures.agreement [OPENML_DATA]
    import sys

    from metabase.settings import default_openml_data

    base = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(default_openml_data())
    full = agreement_report(openml_cases(base) + autosklearn_cases(base))
    print(markdown(agreement_by_quality(full)))
