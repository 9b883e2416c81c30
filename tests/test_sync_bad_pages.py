"""The bad-input contract (metabase.testing.bad_pages) for the sync's list pages.

The clean page is a real answer of the live server (recorded by openml-python: ten evaluations of
study 157). Each damaged variant, and each page Hypothesis damages leaf by leaf, is either refused
with one line (retried by the HTTP client; never taken for the end of the list) or gives the clean
page's rows, less the rows the sync counts as skipped.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metabase.openml.fastparse import FastPageParser
from metabase.openml.listparse import SPECS, PageParser
from metabase.testing.bad_pages import (
    STORED_LEAVES,
    check_page,
    damage,
    join_page,
    page_variants,
    read_evaluation_page,
    split_page,
    valid_text,
)

pytestmark = pytest.mark.realdata

RECORDED = (
    "openml-python/_history/tests/files/mock_responses/studies/publish_study/"
    "get_evaluation_list_function_predictive_accuracy_limit_10000_offset_0_study_157.xml"
)


@pytest.fixture(scope="module")
def clean_page(openml_data) -> bytes:
    return (openml_data / RECORDED).read_bytes()


def _outcome(body: bytes):
    try:
        return read_evaluation_page(body)
    except Exception as exc:  # noqa: BLE001 - the contract judges what was raised
        return exc


def test_the_clean_page_gives_its_ten_evaluations(clean_page):
    runs, evaluations, skipped = read_evaluation_page(clean_page)
    text = clean_page.decode()
    assert len(runs) == len(evaluations) == text.count("<oml:evaluation>") == 10
    assert not skipped and all(0 <= value <= 1 for _, _, value in evaluations)


def test_every_damaged_variant_is_refused_or_gives_the_clean_rows(clean_page):
    clean = read_evaluation_page(clean_page)
    broken = [
        problem
        for variant in page_variants(clean_page)
        if (problem := check_page(variant.name, clean, _outcome(variant.data)))
    ]
    assert broken == []


@pytest.mark.parametrize(
    "name,refused,skipped",
    [  # fmt: skip
        ("truncated-mid-row", True, 0),
        ("binary-garbage", True, 0),
        ("html-page", True, 0),
        ("another-list", True, 0),
        ("byte-order-mark", False, 0),
        ("value-abc0.96", False, 1),
        ("value-NaN", False, 1),
        ("run_id--5", False, 1),
        ("run_id-99999999999999999999", False, 1),
        ("task_id-0x8000000000000000", False, 1),
        ("repeated-row", False, 1),
        ("another-measure", False, 1),
    ],
)
def test_what_each_kind_of_damage_comes_to(clean_page, name, refused, skipped):
    """The contract allows either outcome; these pin down which one the sync takes."""
    variant = next(v for v in page_variants(clean_page) if v.name == name)
    outcome = _outcome(variant.data)
    assert isinstance(outcome, Exception) == refused, outcome
    if not refused:
        assert sum(outcome[2].values()) == skipped


# Texts that readers have taken for numbers or ids, besides what Hypothesis makes up.
TRICKY = [  # fmt: skip
    "inf",
    "-inf",
    "NaN",
    "nan(1)",
    "1e999",
    "-1e999",
    "abc0.96",
    "0x10",
    "0x8000000000000000",
    "1_000",
    "-5",
    "0",
    "-0",
    "3.5",
    "1e3",
    "99999999999999999999",
    "9223372036854775808",
    "+7",
    " 7 ",
    "\u20037",
    "\u0663",
    "",
    " ",
    "2017-13-45 99:99:99",
    "yesterday",
    "predictive_accuracy ",
    "&amp;",
    "<x/>",
]


def _texts(controls: bool):
    """Any text (XML's forbidden control characters only with ``controls``), the tricky ones,
    and numbers as Python writes them.
    """
    characters = st.characters(exclude_categories=("Cs",) if controls else ("Cs", "Cc"))
    if not controls:
        characters = characters | st.sampled_from("\t\n\r")
    return st.one_of(
        st.sampled_from(TRICKY),
        st.text(characters, max_size=24),
        st.integers().map(str),
        st.floats().map(repr),
    )


@st.composite
def damaged_pages(draw, clean: bytes, controls: bool = True):
    """The clean page with up to three leaves replaced by a text that is not a plausible other
    value, or left out, and then up to two rows repeated.
    """
    head, rows, tail = split_page(clean, "evaluation")
    damaged: set[tuple[int, str]] = set()
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(rows) - 1))
        leaf = draw(
            st.sampled_from(STORED_LEAVES + ("flow_name", "data_name", "evaluation_engine_id"))
        )
        original = leaf_text(rows[i], leaf)
        if (i, leaf) in damaged or original is None:
            continue
        damaged.add((i, leaf))
        text = draw(st.none() | _texts(controls))
        if text is not None and valid_text(leaf, text, original):
            continue  # a plausible other value: no reader can tell it from the truth
        rows[i] = damage(rows[i], leaf, text)
    for _ in range(draw(st.integers(0, 2))):
        rows.insert(draw(st.integers(0, len(rows))), rows[draw(st.integers(0, len(rows) - 1))])
    return join_page(head, rows, tail)


def leaf_text(row: str, leaf: str) -> str | None:
    start = row.find(f"<oml:{leaf}>")
    if start < 0:
        return None
    start += len(leaf) + 6
    return row[start : row.index("</oml:", start)]


def test_pages_damaged_leaf_by_leaf_keep_the_contract(clean_page):
    clean = read_evaluation_page(clean_page)

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(damaged_pages(clean_page))
    def keeps_the_contract(body):
        problem = check_page("damaged page", clean, _outcome(body))
        assert problem is None, problem

    keeps_the_contract()


def test_both_list_parsers_read_a_damaged_page_alike(clean_page):
    """The columnar parser gives the element parser's batch for any damage it does not defer."""

    @settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        damaged_pages(clean_page, controls=False)
    )  # the columnar path does not police XML's characters
    def alike(body):
        results = []
        for parser_class in (FastPageParser, PageParser):
            parser = parser_class(SPECS["evaluation"])
            parser.feed(body)
            try:
                results.append(repr(parser.close().to_pylist()))
            except Exception as exc:  # noqa: BLE001 - both must refuse alike
                results.append(type(exc).__name__)
        assert results[0] == results[1]

    alike()
