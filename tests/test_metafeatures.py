"""Unit tests of metabase.metafeatures on small hand-made frames; expected values worked out by
hand.
"""

from __future__ import annotations

import gzip
import math

import numpy as np
import pandas as pd
import pytest

from metabase.errors import InputError
from metabase.metafeatures import (
    GROUPS,
    compute,
    load_table,
    members,
    metafeatures,
    to_store_frame,
)


@pytest.fixture
def small():
    # num: 1..4 and one missing; cat: a a b ? b; target p p n p n
    X = pd.DataFrame({"num": [1.0, 2.0, 3.0, 4.0, np.nan], "cat": ["a", "a", "b", None, "b"]})
    y = pd.Series(["p", "p", "n", "p", "n"], name="class")
    return X, y


def test_general_counts_include_the_target_as_openml_does(small):
    v = compute(*small, groups=["general"]).values
    assert v["NumberOfInstances"] == 5
    assert v["NumberOfFeatures"] == 3  # num, cat and the class
    assert v["NumberOfNumericFeatures"] == 1
    assert v["NumberOfSymbolicFeatures"] == 2  # cat and the class
    assert v["NumberOfBinaryFeatures"] == 2  # cat {a, b} and the class {n, p}
    assert v["Dimensionality"] == pytest.approx(3 / 5)
    assert v["PercentageOfSymbolicFeatures"] == pytest.approx(200 / 3)
    assert v["MaxNominalAttDistinctValues"] == 2 and v["MinNominalAttDistinctValues"] == 2
    assert v["StdvNominalAttDistinctValues"] == 0


def test_class_distribution(small):
    v = compute(*small, groups=["class", "general"]).values
    assert v["NumberOfClasses"] == 2
    assert v["MajorityClassSize"] == 3 and v["MinorityClassSize"] == 2
    assert v["MajorityClassPercentage"] == pytest.approx(60.0)
    assert v["DefaultAccuracy"] == pytest.approx(0.6)
    # pairs (p,p) (p,n) (n,p) (p,n): one of four consecutive pairs has equal classes
    assert v["AutoCorrelation"] == pytest.approx(0.25)


def test_missing_values(small):
    v = compute(*small, groups=["missing", "general"]).values
    assert v["NumberOfMissingValues"] == 2
    assert v["NumberOfInstancesWithMissingValues"] == 2
    assert v["PercentageOfMissingValues"] == pytest.approx(100 * 2 / 15)
    assert v["PercentageOfInstancesWithMissingValues"] == pytest.approx(40.0)


def test_statistics_use_sample_std_and_bias_corrected_moments(small):
    v = compute(*small, groups=["statistical"]).values
    assert v["MeanMeansOfNumericAtts"] == pytest.approx(2.5)
    assert v["MeanStdDevOfNumericAtts"] == pytest.approx(math.sqrt(5 / 3))  # n-1 on 1,2,3,4
    assert v["MeanSkewnessOfNumericAtts"] == pytest.approx(0.0, abs=1e-12)
    assert v["MeanKurtosisOfNumericAtts"] == pytest.approx(-1.2)  # Excel's KURT(1,2,3,4)


def test_quartiles_follow_commons_math_positions():
    # p(n+1) positions: Q1 of 1..7 is the 2nd value, Q3 the 6th; Q1 of 1..4 is 1.25
    X = pd.DataFrame({f"c{i}": [float(i), float(i)] for i in range(1, 8)})
    v = compute(X, None, groups=["statistical"]).values
    assert v["Quartile1MeansOfNumericAtts"] == 2 and v["Quartile2MeansOfNumericAtts"] == 4
    assert v["Quartile3MeansOfNumericAtts"] == 6
    X4 = pd.DataFrame({f"c{i}": [float(i), float(i)] for i in range(1, 5)})
    assert compute(X4, None, groups=["statistical"]).values[
        "Quartile1MeansOfNumericAtts"
    ] == pytest.approx(1.25)


def test_information_theory(small):
    v = compute(*small, groups=["infotheory"]).values
    h_class = -(0.6 * math.log2(0.6) + 0.4 * math.log2(0.4))
    assert v["ClassEntropy"] == pytest.approx(h_class)
    # without the missing row, cat (a a b b) determines the class (p p n n): H = MI = 1 bit
    assert v["MeanAttributeEntropy"] == pytest.approx(1.0)
    assert v["MeanMutualInformation"] == pytest.approx(1.0)
    assert v["EquivalentNumberOfAtts"] == pytest.approx(h_class)
    assert v["MeanNoiseToSignalRatio"] == pytest.approx(0.0)


def _separable(n=40, seed=0):
    rng = np.random.default_rng(seed)
    half = n // 2
    X = pd.DataFrame(
        {
            "x": np.r_[rng.uniform(0, 1, half), rng.uniform(100, 101, half)],
            "noise": rng.normal(size=n),
            "colour": pd.Categorical(np.r_[["red"] * half, ["blue"] * half]),
        }
    )
    y = pd.Series(np.r_[["a"] * half, ["b"] * half], name="class")
    return X, y


def test_landmarkers_are_perfect_on_separable_classes():
    v = compute(*_separable(), groups=["landmarking"]).values
    for learner in (
        "DecisionStump",
        "NaiveBayes",
        "kNN1N",
        "REPTreeDepth1",
        "J48.001.",
        "CfsSubsetEval_NaiveBayes",
    ):
        assert v[f"{learner}ErrRate"] == 0, learner
        assert v[f"{learner}AUC"] == 1, learner
        assert v[f"{learner}Kappa"] == 1, learner


def test_landmarkers_are_seeded_and_deterministic():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(120, 4)), columns=list("abcd"))
    y = pd.Series(np.where(X["a"] + rng.normal(size=120) > 0, "yes", "no"))
    first = compute(X, y, groups=["landmarking"], seed=3).values
    again = compute(X, y, groups=["landmarking"], seed=3).values
    assert first == again
    other = compute(X, y, groups=["landmarking"], seed=4).values
    assert any(first[k] != other[k] for k in first)  # the seed does drive the folds


def test_regression_target_makes_classification_qualities_nan_with_reason():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    y = pd.Series([2.0, 4.0, 6.0, 8.0, 11.0])
    r = compute(X, y)
    assert r.values["NumberOfClasses"] == 0
    assert (
        math.isnan(r.values["MajorityClassSize"])
        and r.reasons["MajorityClassSize"] == "classification only"
    )
    assert (
        math.isnan(r.values["kNN1NErrRate"]) and r.reasons["kNN1NErrRate"] == "classification only"
    )
    # a numeric target is one of OpenML's numeric attributes: means are 3 (x) and 6.2 (target)
    assert r.values["NumberOfNumericFeatures"] == 2
    assert r.values["MaxMeansOfNumericAtts"] == pytest.approx(6.2)
    # 1 - mean |consecutive difference| = 1 - (2 + 2 + 2 + 3) / 4
    assert r.values["AutoCorrelation"] == pytest.approx(1 - 9 / 4)


def test_awkward_columns_constant_all_missing_high_cardinality():
    n = 300
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "const": 1.0,
            "allnan": np.nan,
            "ids": [f"id{i}" for i in range(n)],
            "x": rng.normal(size=n),
        }
    )
    y = pd.Series(rng.choice(["u", "v", "w"], size=n))
    r = compute(X, y)
    assert r.values["NumberOfMissingValues"] == n
    assert r.values["MaxNominalAttDistinctValues"] == n  # the id column
    # the constant column has no skewness; the summary uses the others and stays finite
    assert np.isfinite(r.values["MaxSkewnessOfNumericAtts"])
    assert np.isfinite(r.values["kNN1NErrRate"]) and np.isfinite(r.values["J48.001.AUC"])


def test_single_class_target_gives_nan_landmarkers_with_reason():
    X = pd.DataFrame({"x": np.arange(30.0)})
    y = pd.Series(["only"] * 30)
    r = compute(X, y)
    assert r.values["ClassEntropy"] == 0
    assert math.isnan(r.values["NaiveBayesErrRate"])
    assert r.reasons["NaiveBayesErrRate"] == "needs at least two classes"


def test_all_values_missing_gives_nan_with_reason_not_a_crash():
    X = pd.DataFrame({"a": [np.nan] * 6, "b": [np.nan] * 6})
    r = compute(X, pd.Series(list("xyxyxy")))
    assert r.values["NumberOfMissingValues"] == 12
    assert math.isnan(r.values["MeanMeansOfNumericAtts"])
    assert r.reasons["MeanMeansOfNumericAtts"]


def test_no_target():
    r = compute(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), None)
    assert r.values["NumberOfFeatures"] == 1
    assert r.reasons["ClassEntropy"] == "needs a target"


def test_shared_intermediates_are_computed_once(monkeypatch, small):
    from metabase.metafeatures import statistical

    calls = []
    original = statistical.NumericMoments.compute
    monkeypatch.setattr(
        statistical.NumericMoments,
        "compute",
        lambda self, ctx, num: calls.append(1) or original(self, ctx, num),
    )
    compute(*small, groups=["statistical"])
    assert len(calls) == 1  # 24 qualities, one pass over the data


def test_budget_exceeded_is_a_reason_per_quality():
    X, y = _separable()
    r = compute(X, y, groups=["landmarking"], budget_s=0.0)
    assert all(r.reasons[q] == "budget exceeded" for q in members("landmarking"))
    assert "landmarking" in r.timings


def test_skip_and_groups_and_to_frame(small):
    r = compute(*small, groups=["general", "landmarking"], skip=("landmarking", "Dimensionality"))
    frame = r.to_frame()
    assert list(frame.columns) == ["quality", "value", "group", "reason"]
    assert set(frame["group"]) == {"general", "landmarking"}
    assert r.reasons["Dimensionality"] == "skipped"
    stored = to_store_frame(r, 7)
    assert (
        "Dimensionality" not in set(stored["quality"]) and (stored["source"] == "computed").all()
    )


def test_unknown_group_and_bad_inputs_raise_input_error(small):
    with pytest.raises(InputError, match="unknown meta-feature group"):
        compute(*small, groups=["nope"])
    with pytest.raises(InputError, match="no rows"):
        compute(pd.DataFrame({"a": []}), None)
    with pytest.raises(InputError, match="rows but the target has"):
        compute(small[0], small[1].iloc[:3])


def test_catalogue_has_openml_and_autosklearn_names_with_docstrings():
    registry = metafeatures()
    from metabase.metafeatures.autosklearn import AUTOSKLEARN_NAMES

    assert (
        len(AUTOSKLEARN_NAMES) == 37
    )  # every meta-feature column of auto-sklearn's feature_values.arff
    openml = [n for n, c in registry.items() if c.group != "autosklearn"]
    assert len(openml) >= 100
    assert all(c.__doc__ and c.__doc__.strip() for c in registry.values())
    assert set(GROUPS) == {c.group for c in registry.values()}
    assert "J48.00001.AUC" in registry and "CfsSubsetEval_kNN1NKappa" in registry


# ---------------------------------------------------------------- loading


ARFF = """% a comment
@relation t
@attribute 'num col' numeric
@attribute colour {red, 'dark blue', green}
@attribute class {yes,no}
@data
1.5,red,yes
?,'dark blue',no
3,?,yes
"""

SPARSE = """@relation s
@attribute a numeric
@attribute b numeric
@attribute c {x,y}
@attribute class {p,n}
@data
{0 1.5,3 n}
{1 2,2 y}
{}
"""


def test_load_dense_arff_keeps_declared_categories(tmp_path):
    path = tmp_path / "t.arff"
    path.write_text(ARFF)
    X, y = load_table(path, "class")
    assert list(X.columns) == ["num col", "colour"]
    assert list(X["colour"].cat.categories) == ["red", "dark blue", "green"]
    assert X["colour"].isna().sum() == 1 and X["num col"].isna().sum() == 1
    v = compute(X, y, groups=["general"]).values
    assert v["NumberOfBinaryFeatures"] == 1  # colour declares 3 values; the class 2


def test_load_sparse_arff(tmp_path):
    path = tmp_path / "s.arff"
    path.write_text(SPARSE)
    X, y = load_table(path, "class")
    assert X["a"].tolist() == [1.5, 0.0, 0.0] and X["b"].tolist() == [0.0, 2.0, 0.0]
    assert X["c"].tolist() == ["x", "y", "x"] and y.tolist() == ["n", "p", "p"]


def test_load_csv_tsv_gz_and_parquet_agree(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["u", "v", "u"], "target": ["x", "y", "x"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with gzip.open(tmp_path / "t.tsv.gz", "wt") as fh:
        frame.to_csv(fh, sep="\t", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.csv", "t.tsv.gz", "t.parquet"):
        X, y = load_table(tmp_path / name, "target")
        assert X.shape == (3, 2) and y.tolist() == ["x", "y", "x"], name


@pytest.mark.parametrize(
    "content,match",
    [
        (b"", "empty"),
        (b"\x00\x01\x02garbage\xff" * 10, "cannot read"),
    ],
)
def test_unreadable_or_empty_files(tmp_path, content, match):
    path = tmp_path / "bad.parquet"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        load_table(path, "class")


def test_missing_file_unknown_target_header_only(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_table(tmp_path / "nope.csv", "t")
    (tmp_path / "h.csv").write_text("a,b,t\n")
    with pytest.raises(InputError, match="no data rows"):
        load_table(tmp_path / "h.csv", "t")
    (tmp_path / "ok.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no column named 'target'"):
        load_table(tmp_path / "ok.csv", "target")
    (tmp_path / "bad.arff").write_text("@relation x\n@attribute a numeric\n")
    with pytest.raises(InputError, match="no @data"):
        load_table(tmp_path / "bad.arff", "a")


def test_degenerate_tables_give_reasons_not_crashes():
    # no attributes at all, only a target
    r = compute(pd.DataFrame(index=range(20)), pd.Series(["a", "b"] * 10))
    assert r.values["NumberOfFeatures"] == 1 and r.values["ClassEntropy"] == pytest.approx(1.0)
    assert math.isnan(r.values["MeanMeansOfNumericAtts"]) and r.reasons["MeanMeansOfNumericAtts"]
    assert all(r.reasons.get(q) or np.isfinite(r.values[q]) for q in r.values)
    # a target that is missing everywhere
    r = compute(pd.DataFrame({"x": np.arange(12.0)}), pd.Series([None] * 12, dtype="category"))
    assert r.values["NumberOfMissingValues"] == 12
    assert math.isnan(r.values["kNN1NErrRate"]) and r.reasons["kNN1NErrRate"]
    with pytest.raises(InputError, match="duplicate column names: a"):
        compute(pd.DataFrame([[1, 2]], columns=["a", "a"]), None)
