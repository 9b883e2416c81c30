"""The sync's column-wise fast paths write exactly what the general, one-value-at-a-time paths
write.

Setup pages are typed per page with Arrow kernels (``setup_json.lean_rows``); here random pages
mixing plain numbers, numbers that are not their own JSON text, strings, JSON, nulls, components
and repeated or missing names are compared, setup by setup, with ``json.dumps`` of
``records._general``'s typed config and ``pipelines.hash_text`` (the reference the store held
before the fast paths).
"""

from __future__ import annotations

import html
import json
import random

import pytest

from metabase.openml.listparse import SPECS, PageParser
from metabase.sync.records import _general, setups_table

NS = 'xmlns:oml="http://openml.org/openml"'

TRICKY = [
    "0",
    "-0",
    "7",
    "-12",
    "007",
    "1.0",
    "1.50",
    "0.1",
    "-0.25",
    "0.0001",
    "0.00001",
    "1e5",
    "1E+3",
    "123456789012345678",
    "1234567890123456789012",
    "0.123456789012345",
    "0.1234567890123456",
    "12345678901234.5",
    "9007199254740993",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "false",
    "null",
    "None",
    "True",
    "FALSE",
    '"rbf"',
    "rbf",
    "[1, 2]",
    '{"a": 1}',
    "[]",
    "",
    " ",
    "héllo",
    "a\\u00e9",
    "x&y",
    "<tag>",
    "1.",
    ".5",
    "+1",
    "1_000",
    "0x10",
    "5e-324",
    "-0.0",
    "3.14159",
    "2.5e-3",
    "100.25",
]


def _value(rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.3:
        return (
            f"{rng.uniform(-1000, 1000):.{rng.randint(1, 9)}f}".rstrip("0")
            if rng.random() < 0.5
            else repr(rng.uniform(-1, 1) * 10 ** rng.randint(-8, 20))
        )
    if r < 0.55:
        return str(rng.randint(-(10 ** rng.randint(1, 20)), 10 ** rng.randint(1, 20)))
    if r < 0.95:
        return rng.choice(TRICKY)
    return None


def _param(i, name, value, flow, flow_name):
    text = "" if value is None else html.escape(value, quote=False)
    name_text = "" if name is None else f"<oml:parameter_name>{name}</oml:parameter_name>"
    return (
        f"<oml:parameter><oml:id>{i}</oml:id><oml:flow_id>{flow}</oml:flow_id><oml:flow_name>{flow_name}"
        f"</oml:flow_name><oml:full_name>{flow_name}(1)_{name or i}</oml:full_name>{name_text}"
        f"<oml:data_type>option</oml:data_type><oml:default_value></oml:default_value>"
        f"<oml:value>{text}</oml:value></oml:parameter>"
    )


def _random_page(seed: int, setups: int = 300) -> bytes:
    rng = random.Random(seed)
    flows = {60 + f: [f"p{j}" for j in rng.sample(range(12), rng.randint(0, 5))] for f in range(6)}
    out = []
    for sid in range(1, setups + 1):
        flow = rng.choice(list(flows))
        names = list(flows[flow])
        if rng.random() < 0.05 and names:
            names.append(rng.choice(names))  # a name twice
        if rng.random() < 0.05:
            names.append(None)  # no parameter_name: keyed by its full name
        params = []
        for i, name in enumerate(names):
            component = rng.random() < 0.03
            params.append(
                _param(
                    i + 1,
                    name,
                    _value(rng),
                    99 if component else flow,
                    "weka.SMO" if component else f"weka.Flow{flow}",
                )
            )
        out.append(
            f"<oml:setup><oml:setup_id>{sid}</oml:setup_id><oml:flow_id>{flow}</oml:flow_id>"
            f"{''.join(params)}</oml:setup>\n"
        )
    return f"<oml:setups {NS}>\n{''.join(out)}</oml:setups>\n".encode()


def _reference_rows(batch, flow_names):
    """Per setup: (config, config_hash, parameters) as the general path writes them."""
    out = []
    for flow_id, params in zip(
        batch.column("flow_id").to_pylist(), batch.column("parameter").to_pylist()
    ):
        params = params or []
        _, config, digest = _general(flow_id, flow_names.get(flow_id), params, False)
        raw = [
            {
                "name": p["parameter_name"],
                "value": p["value"],
                **({"flow_id": p["flow_id"]} if p["flow_id"] not in (None, flow_id) else {}),
            }
            for p in params
        ]
        out.append((json.dumps(config, sort_keys=True, default=str), digest, json.dumps(raw)))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_lean_setup_pages_equal_the_general_path(seed):
    parser = PageParser(SPECS["setup"])
    parser.feed(_random_page(seed))
    batch = parser.close()
    flow_names = {60 + f: f"weka.Flow{60 + f}" for f in range(6)}
    expected = _reference_rows(batch, flow_names)
    for page in (batch, batch.slice(37, 150)):  # a sliced page starts inside its values
        table, mapped = setups_table(page, flow_names)
        assert mapped == {}
        got = list(
            zip(
                table["config"].to_pylist(),
                table["config_hash"].to_pylist(),
                table["parameters"].to_pylist(),
            )
        )
        offset = 0 if page is batch else 37
        assert (
            table["setup_id"].to_pylist()
            == batch.column("setup_id").to_pylist()[offset : offset + page.num_rows]
        )
        for i, row in enumerate(got):
            assert row == expected[offset + i], (seed, offset + i)
        assert table["pipeline"].null_count == page.num_rows


def test_an_empty_setup_page_gives_no_rows():
    parser = PageParser(SPECS["setup"])
    parser.feed(_random_page(0, setups=3))
    batch = parser.close().slice(0, 0)
    table, mapped = setups_table(batch, {})
    assert table.num_rows == 0 and mapped == {}
    assert table.schema.field("config").type == "string"


# -- list pages: the columnar parser against the element-per-row parser ---------------------
EVAL_VALUES = {
    "int": ["1", "42", " 7 ", "", "  ", "-3", "x", "1.5", "007"],
    "float": ["0.5", " 0.25", "", " ", "NaN", "1e-3", "-0", "abc", "3"],
    "str": ["weka.J48", "", " ", "  padded  ", "wow!", "naïve", "a b", "tab\there"],
    "time": ["2017-11-01 00:00:00", " 2019-01-02T03:04:05 ", "", "never", "2020-02-29 23:59:59"],
}


def _random_evaluations(seed: int, rows: int = 60) -> bytes:
    rng = random.Random(seed)
    kinds = {
        "run_id": None,
        "task_id": "int",
        "setup_id": "int",
        "flow_id": "int",
        "flow_name": "str",
        "data_id": "int",
        "data_name": "str",
        "function": "str",
        "upload_time": "time",
        "uploader": "int",
        "value": "float",
    }
    out = []
    for r in range(rows):
        leaves = "".join(
            f"<oml:{c}>"
            f"{r + 1 if k is None else html.escape(rng.choice(EVAL_VALUES[k]), quote=False)}"
            f"</oml:{c}>\n    "
            for c, k in kinds.items()
        )
        out.append(f"  <oml:evaluation>\n    {leaves}</oml:evaluation>\n")
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<oml:evaluations {NS}>\n'
        f"{''.join(out)}</oml:evaluations>\n"
    ).encode()


@pytest.mark.parametrize("seed", range(4))
def test_random_evaluation_pages_parse_as_the_element_parser_does(seed):
    from metabase.openml.fastparse import extract

    body = _random_evaluations(seed)
    reference = PageParser(SPECS["evaluation"])
    reference.feed(body)
    expected = reference.close()
    fast = extract(SPECS["evaluation"], body)
    assert fast is not None  # a '!' in a text does not send the page to the XML parser
    assert fast.schema.equals(expected.schema)
    assert repr(fast.to_pylist()) == repr(expected.to_pylist())  # NaN equal to NaN


def test_row_tag_text_inside_a_value_does_not_miscount_rows():
    """Flat pages count row opens and closes in one pass of "evaluation>": a text holding it
    (a raw '>' is legal XML) must not let a page through miscounted.
    """
    from metabase.openml.fastparse import extract

    body = _random_evaluations(7, rows=5).replace(
        b"<oml:data_name>", b"<oml:data_name>my evaluation>", 1
    )
    reference = PageParser(SPECS["evaluation"])
    reference.feed(body)
    expected = reference.close()
    assert "my evaluation>" in repr(expected.column("data_name").to_pylist())
    fast = extract(SPECS["evaluation"], body)
    assert fast is None or repr(fast.to_pylist()) == repr(expected.to_pylist())
    broken = _random_evaluations(7, rows=5).replace(b"</oml:evaluation>", b"", 1)
    assert extract(SPECS["evaluation"], broken) is None


def test_setup_pages_keep_only_the_wanted_setups():
    import numpy as np

    from metabase.sync.records import setup_page_records

    parser = PageParser(SPECS["setup"])
    parser.feed(_random_page(3, setups=40))
    batch = parser.close()
    names = {60 + f: f"weka.Flow{60 + f}" for f in range(6)}
    every, _ = setup_page_records(batch, np.arange(1, 41, dtype=np.int64), names)
    assert every["setup_id"].to_pylist() == list(range(1, 41))
    some, _ = setup_page_records(batch, np.array([2, 3, 39, 500], dtype=np.int64), names)
    assert some["setup_id"].to_pylist() == [2, 3, 39]
    assert some["config"].to_pylist() == [every["config"][i].as_py() for i in (1, 2, 38)]
    assert setup_page_records(batch, np.array([100, 200], dtype=np.int64), names) is None
