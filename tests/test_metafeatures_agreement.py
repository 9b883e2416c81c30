"""Agreement of computed qualities with OpenML's stored values and auto-sklearn's, on real data.

The reference values are OpenML's own (the 2,872-dataset qualities export, dataset 2's recorded
qualities.xml) and auto-sklearn's feature_values.arff; the tolerances are in
``metabase.metafeatures.agreement``. The floors below are the agreement reached when this was
written, so a regression fails; README.md in metabase/metafeatures explains each disagreement.
"""

from __future__ import annotations

import gzip

import pytest

from metabase.metafeatures.agreement import (
    agreement_by_quality,
    agreement_report,
    anneal_cases,
    autosklearn_cases,
    export_table,
    pmlb_cases,
    raw_dataset_cases,
)

pytestmark = pytest.mark.realdata

NON_LANDMARK = ["general", "class", "missing", "statistical", "infotheory"]

# Datasets compared, and datasets agreeing, per (source, kind), without landmarkers.
FLOORS = {
    ("openml-export", "count"): (1870, 1722),
    ("openml-export", "statistic"): (3179, 2901),
    ("openml-xml", "count"): (27, 15),
    ("openml-xml", "statistic"): (9, 4),
}


@pytest.fixture(scope="module")
def export(openml_data):
    return export_table(openml_data)


@pytest.fixture(scope="module")
def report(openml_data, export):
    cases = (
        raw_dataset_cases(openml_data, export)
        + anneal_cases(openml_data, export)
        + pmlb_cases(openml_data, export)
    )
    return agreement_report(cases, groups=NON_LANDMARK)


def test_every_dataset_with_raw_data_and_qualities_is_compared(openml_data, export, report):
    pmlb_dirs = [
        p
        for p in (openml_data / "pmlb" / "datasets").iterdir()
        if p.name.split("_")[0].isdigit()
        and (p / f"{p.name}.tsv.gz").exists()
        and int(p.name.split("_")[0]) in export.index
    ]
    compared = set(report.loc[report["source"] == "openml-export", "dataset_id"])
    assert {int(p.name.split("_")[0]) for p in pmlb_dirs} <= compared
    assert {1471, 31, 151, 1461, 1220, 4135, 1046, 2} <= compared
    assert len(pmlb_dirs) >= 110


def test_pmlb_rows_are_read_completely(openml_data, export):
    case = next(c for c in pmlb_cases(openml_data, export) if c.dataset_id == 1027)
    with gzip.open(case.path, "rt") as fh:
        lines = sum(1 for line in fh if line.strip()) - 1  # minus the header
    X, y = case.load()
    assert len(X) == lines == case.reference["NumberOfInstances"]


@pytest.mark.parametrize(
    "quality",
    [
        "NumberOfInstances",
        "NumberOfMissingValues",
        "NumberOfInstancesWithMissingValues",
        "PercentageOfMissingValues",
        "ClassEntropy",
        "MajorityClassSize",
    ],
)
def test_basic_counts_agree_on_every_dataset(report, quality):
    rows = report[(report["source"] == "openml-export") & (report["quality"] == quality)]
    assert len(rows) > 0
    assert rows["agree"].all(), rows[~rows["agree"]][["dataset", "computed", "reference"]]


def test_raw_datasets_agree_on_all_but_the_documented_exceptions(report):
    raw = report[
        (report["source"] == "openml-export")
        & report["dataset"].isin(
            [
                "eeg-eye-state",
                "credit-g",
                "electricity",
                "bank-marketing",
                "Amazon_employee_access",
                "mozilla4",
            ]
        )
    ]
    assert len(raw) >= 320
    assert raw["agree"].all(), raw[~raw["agree"]][["dataset", "quality", "computed", "reference"]]


def test_pmlb_agrees_fully_wherever_its_columns_match_openmls(report):
    """PMLB stores nominal attributes as numbers and dropped a few columns; on every PMLB dataset
    whose feature counts still match OpenML's, every quality agrees.
    """
    raw = {
        "eeg-eye-state",
        "credit-g",
        "electricity",
        "bank-marketing",
        "Amazon_employee_access",
        "mozilla4",
        "Click_prediction_small",
        "anneal",
    }
    pmlb = report[(report["source"] == "openml-export") & ~report["dataset"].isin(raw)]
    shape = pmlb[
        pmlb["quality"].isin(
            ["NumberOfFeatures", "NumberOfNumericFeatures", "NumberOfSymbolicFeatures"]
        )
    ]
    matching = shape.groupby("dataset")["agree"].all()
    assert matching.sum() >= 97  # of 115 PMLB datasets in the export
    same = pmlb[pmlb["dataset"].isin(matching[matching].index)]
    assert len(same) >= 3800
    assert same["agree"].all(), same[~same["agree"]][
        ["dataset", "quality", "computed", "reference"]
    ]


def test_anneal_counts_and_moments_agree_with_the_production_export(report):
    anneal = report[(report["dataset"] == "anneal") & (report["source"] == "openml-export")]
    settled = anneal[~anneal["group"].eq("infotheory") | anneal["quality"].eq("ClassEntropy")]
    assert len(settled) >= 48 and settled["agree"].all(), settled[~settled["agree"]]


def test_click_prediction_file_is_another_version_of_the_data(report):
    # The documented exception: the same counts, but numeric columns differ from OpenML's d/1220.
    click = report[
        (report["dataset"] == "Click_prediction_small") & (report["source"] == "openml-export")
    ]
    counts = click[click["group"].isin(["general", "missing", "class"])]
    assert counts["agree"].all()
    assert not click[click["quality"] == "MaxMeansOfNumericAtts"]["agree"].any()


def test_agreement_rates_do_not_regress(report):
    summary = report.groupby(["source", "kind"])["agree"].agg(["size", "sum"])
    for key, floor in FLOORS.items():
        if floor is None:
            continue
        compared, agreed = floor
        assert summary.loc[key, "size"] >= compared, key
        assert summary.loc[key, "sum"] >= agreed, key
    per_quality = agreement_by_quality(report)
    assert {"source", "quality", "kind", "compared", "agreed", "rate"} <= set(per_quality.columns)


def test_landmarkers_on_credit_g_within_documented_tolerance(openml_data, export):
    case = next(c for c in raw_dataset_cases(openml_data, export) if c.name == "credit-g")
    rep = agreement_report([case], groups=["landmarking"])
    assert len(rep) == 36  # 12 learners x 3 measures that the export has for credit-g
    agreed = set(rep.loc[rep["agree"], "quality"])
    # Weka's NaiveBayes re-implemented, kNN and DecisionStump approximated: these agree
    for quality in (
        "NaiveBayesErrRate",
        "NaiveBayesAUC",
        "NaiveBayesKappa",
        "DecisionStumpErrRate",
        "DecisionStumpAUC",
        "DecisionStumpKappa",
        "kNN1NErrRate",
        "kNN1NAUC",
        "kNN1NKappa",
    ):
        assert quality in agreed, rep[rep["quality"] == quality]


def test_autosklearn_row_independent_features_agree(openml_data):
    cases = autosklearn_cases(openml_data)
    assert {c.name for c in cases} >= {"eeg-eye-state", "electricity", "mozilla4", "anneal"}
    rep = agreement_report(cases, groups=["autosklearn"])
    # auto-sklearn computed its values on a 67% training split: only these do not depend on rows
    fixed = rep[
        rep["quality"].isin(
            [
                "NumberOfFeatures",
                "LogNumberOfFeatures",
                "NumberOfNumericFeatures",
                "NumberOfCategoricalFeatures",
                "NumberOfClasses",
                "RatioNominalToNumerical",
                "RatioNumericalToNominal",
                "NumberOfFeaturesWithMissingValues",
                "PercentageOfFeaturesWithMissingValues",
                "SymbolsMax",
                "SymbolsMin",
                "ClassProbabilityMean",
            ]
        )
    ]
    assert len(fixed) == 12 * len(cases)
    assert fixed["agree"].all(), fixed[~fixed["agree"]]


@pytest.mark.slow
def test_landmarkers_on_all_export_datasets_that_have_them(openml_data, export):
    """The full landmarker sweep: every raw dataset whose OpenML qualities include landmarkers."""
    cases = [
        c
        for c in raw_dataset_cases(openml_data, export)
        if c.name in ("credit-g", "mozilla4", "Amazon_employee_access")
    ]
    rep = agreement_report(cases, groups=["landmarking"])
    assert len(rep) == 3 * 36
    per_dataset = rep.groupby("dataset")["agree"].sum()
    assert per_dataset["mozilla4"] >= 36
    assert per_dataset["credit-g"] >= 24
    assert per_dataset["Amazon_employee_access"] >= 18


def test_sparse_arff_dexter_matches_its_recorded_qualities(openml_data):
    """Dataset -1 (dexter) is a sparse ARFF of 20,000 numeric attributes; the recorded file is
    truncated to 2 instances, so only the row-independent qualities can be compared.
    """
    import re

    from metabase.metafeatures import compute, load_table

    folder = (
        openml_data
        / "openml-python"
        / "tests"
        / "files"
        / "org"
        / "openml"
        / "test"
        / "datasets"
        / "-1"
    )
    text = (folder / "qualities.xml").read_text()
    reference = {
        n: float(v)
        for n, v in re.findall(r"<oml:name>(.*?)</oml:name>\s*<oml:value>(.*?)</oml:value>", text)
    }
    X, y = load_table(folder / "dataset.arff", "class")
    assert X.shape[1] == 20000 and (X.dtypes == "float64").all()
    values = compute(X, y, groups=["general", "missing"]).values
    for quality in (
        "NumberOfFeatures",
        "NumberOfNumericFeatures",
        "NumberOfSymbolicFeatures",
        "NumberOfBinaryFeatures",
        "PercentageOfNumericFeatures",
        "PercentageOfSymbolicFeatures",
        "PercentageOfBinaryFeatures",
        "NumberOfMissingValues",
    ):
        assert values[quality] == pytest.approx(reference[quality], rel=1e-9), quality
