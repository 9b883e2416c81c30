"""The columnar list parser gives exactly the element-per-row parser's batches, or defers to it."""

from __future__ import annotations

import json

import pytest

from metabase.openml.fastparse import FastPageParser, extract
from metabase.openml.http import NoResults, RetryableError
from metabase.openml.listparse import SPECS, PageParser
from metabase.sync.records import _general, setups_rows, setups_table

NS = 'xmlns:oml="http://openml.org/openml"'


def _reference(entity: str, body: bytes):
    parser = PageParser(SPECS[entity])
    parser.feed(body)
    return parser.close()


def _fast(entity: str, body: bytes, chunk: int = 7):
    parser = FastPageParser(SPECS[entity])
    for i in range(0, len(body), chunk):  # fed in small pieces, as the download streams
        parser.feed(body[i : i + chunk])
    return parser.close()


def _same(a, b) -> bool:
    """Equal batches (NaN equal to NaN: Arrow's equals says otherwise)."""
    return a.schema.equals(b.schema) and repr(a.to_pylist()) == repr(b.to_pylist())


def _eval(run, flow_name="weka.J48", value="0.5", extra="", time="2017-11-01T00:00:00"):
    return (
        f"<oml:evaluation>\n  <oml:run_id>{run}</oml:run_id><oml:task_id>3</oml:task_id>"
        f"<oml:setup_id>{run + 7}</oml:setup_id><oml:flow_id>60</oml:flow_id>"
        f"<oml:flow_name>{flow_name}</oml:flow_name><oml:data_id>1</oml:data_id>"
        f"<oml:data_name>anneal</oml:data_name><oml:function>predictive_accuracy</oml:function>"
        f"<oml:upload_time>{time}</oml:upload_time><oml:uploader>1</oml:uploader>"
        f"<oml:value>{value}</oml:value>{extra}\n</oml:evaluation>\n"
    )


def _page(root: str, rows: list[str]) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<oml:{root} {NS}>\n'
        f"{''.join(rows)}</oml:{root}>\n"
    ).encode()


CASES = {
    "plain": [_eval(1), _eval(2, value="0.75")],
    "entities and unicode": [
        _eval(1, flow_name="a&amp;b &lt;c&gt; &#233;t&#xE9; naïve"),
        _eval(2),
    ],
    "blank and empty texts": [
        _eval(1, flow_name="  ", value=""),
        _eval(2, flow_name="", value=" 1 "),
    ],
    "optional columns on every row": [
        _eval(1, extra="<oml:repeat>0</oml:repeat><oml:fold>1</oml:fold>"),
        _eval(2, extra="<oml:repeat>0</oml:repeat><oml:fold>2</oml:fold>"),
    ],
    "optional column on one row only": [_eval(1, extra="<oml:fold>1</oml:fold>"), _eval(2)],
    "optional column on a later row only": [_eval(1), _eval(2, extra="<oml:fold>1</oml:fold>")],
    "a leaf the list does not use, on every row": [
        _eval(1, extra="<oml:evaluation_engine_id>1</oml:evaluation_engine_id>"),
        _eval(2, extra="<oml:evaluation_engine_id>1</oml:evaluation_engine_id>"),
    ],
    "leaves in another order": [
        _eval(1).replace(
            "<oml:run_id>1</oml:run_id><oml:task_id>3</oml:task_id>",
            "<oml:task_id>3</oml:task_id><oml:run_id>1</oml:run_id>",
        ),
        _eval(2),
    ],
    "self-closing element": [
        _eval(1, value="0.1").replace("<oml:value>0.1</oml:value>", "<oml:value/>"),
        _eval(2),
    ],
    "CDATA": [_eval(1, flow_name="<![CDATA[x<y]]>"), _eval(2)],
    "comment": [_eval(1, extra="<!-- note -->"), _eval(2)],
    "non-numeric number": [_eval(1, value="NaN"), _eval(2, value="n/a")],
    "odd times": [_eval(1, time="2017-11-01 00:00:00"), _eval(2, time="never")],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_evaluation_pages_match_the_reference_parser(case):
    body = _page("evaluations", CASES[case])
    expected = _reference("evaluation", body)
    assert expected.num_rows == 2
    assert _same(_fast("evaluation", body), expected)


def test_regular_pages_take_the_columnar_path_and_irregular_ones_defer():
    assert extract(SPECS["evaluation"], _page("evaluations", CASES["plain"])) is not None
    assert (
        extract(SPECS["evaluation"], _page("evaluations", CASES["entities and unicode"]))
        is not None
    )
    assert (
        extract(
            SPECS["evaluation"],
            _page("evaluations", CASES["a leaf the list does not use, on every row"]),
        )
        is not None
    )
    for case in (
        "optional column on one row only",
        "optional column on a later row only",
        "self-closing element",
        "CDATA",
        "comment",
    ):
        assert extract(SPECS["evaluation"], _page("evaluations", CASES[case])) is None, case
    other_prefix = (
        _page("evaluations", CASES["plain"])
        .replace(b"oml:", b"o:")
        .replace(b"xmlns:oml=", b"xmlns:o=")
    )
    assert extract(SPECS["evaluation"], other_prefix) is None
    assert _same(_fast("evaluation", other_prefix), _reference("evaluation", other_prefix))


def _param(i, name, value, flow=60, flow_name="weka.J48"):
    return (
        f"<oml:parameter><oml:id>{i}</oml:id><oml:flow_id>{flow}</oml:flow_id><oml:flow_name>{flow_name}"
        f"</oml:flow_name><oml:full_name>{flow_name}(1)_{name}</oml:full_name><oml:parameter_name>{name}"
        f"</oml:parameter_name><oml:data_type>option</oml:data_type><oml:default_value></oml:default_value>"
        f"<oml:value>{value}</oml:value></oml:parameter>"
    )


def _setup(sid, *params, flow=60):
    return (
        f"<oml:setup><oml:setup_id>{sid}</oml:setup_id><oml:flow_id>{flow}</oml:flow_id>"
        f"{''.join(params)}</oml:setup>\n"
    )


SETUPS = [
    _setup(1, _param(1, "C", "0.25"), _param(2, "U", "true"), _param(3, "M", "2")),
    _setup(2, _param(1, "C", "1.0"), _param(2, "U", "null"), _param(3, "M", "&quot;rbf&quot;")),
    _setup(3),  # no parameters
    _setup(
        4, _param(1, "C", "[1, 2]"), _param(2, "U", "{&quot;a&quot;: 1}"), _param(3, "M", "None")
    ),
    _setup(5, _param(1, "C", "1e300"), _param(2, "U", " "), _param(3, "M", "héllo")),
    _setup(6, _param(1, "C", "x"), _param(2, "C", "y")),  # a name twice
    _setup(
        7,
        _param(1, "C", "3"),
        _param(9, "kernel", "&quot;rbf&quot;", flow=61, flow_name="weka.SMO"),
    ),
    _setup(8, _param(1, "C", "-0.0"), _param(2, "U", "1E+3"), _param(3, "M", "FALSE")),
    _setup(9, _param(1, "", "1"), _param(2, "U", "2")),  # no name: keyed by its full name
    _setup(
        10, _param(1, "C", "1e400"), _param(2, "U", "NaN"), _param(3, "M", "-Infinity")
    ),  # not JSON numbers
]


def test_setup_pages_match_the_reference_parser():
    body = _page("setups", SETUPS)
    expected = _reference("setup", body)
    assert expected.num_rows == len(SETUPS)
    assert extract(SPECS["setup"], body) is not None
    assert _same(_fast("setup", body), expected)


def test_lean_setup_records_equal_the_general_path():
    """Byte-identical configs and hashes to json.dumps + pipelines.hash_text, row by row."""
    batch = _reference("setup", _page("setups", SETUPS))
    table, mapped = setups_table(batch, {60: "weka.J48"})
    assert mapped == {} and table.num_rows == len(SETUPS)
    for row, params in zip(table.to_pylist(), batch.column("parameter").to_pylist()):
        pipeline, config, digest = _general(row["flow_id"], "weka.J48", params or [], False)
        assert row["config"] == json.dumps(config, sort_keys=True, default=str), row["setup_id"]
        assert row["config_hash"] == digest and row["pipeline"] is None
        raw = [
            {
                "name": p["parameter_name"],
                "value": p["value"],
                **(
                    {"flow_id": p["flow_id"]} if p["flow_id"] not in (None, row["flow_id"]) else {}
                ),
            }
            for p in params or []
        ]
        assert row["parameters"] == json.dumps(raw)
    rows, _ = setups_rows(batch, {60: "weka.J48"})
    assert [r["setup_id"] for r in rows] == list(range(1, 11)) and all(
        "_pipeline" in r for r in rows
    )


def test_truncated_and_error_bodies_behave_as_before():
    body = _page("evaluations", CASES["plain"])
    with pytest.raises(RetryableError):
        _fast("evaluation", body[: len(body) // 2])
    with pytest.raises(RetryableError):
        _fast("evaluation", b"")
    # framed as a whole list but a row lost its end: not cut column-wise, and the XML parser
    # refuses it
    broken = body.replace(b"</oml:evaluation>", b"", 1)
    assert extract(SPECS["evaluation"], broken) is None
    with pytest.raises(RetryableError):
        _fast("evaluation", broken)
    with pytest.raises(RetryableError):  # bytes that are not UTF-8
        _fast("evaluation", body.replace(b"weka.J48", b"weka.\xff48", 1))
    no_results = (
        f"<oml:error {NS}><oml:code>542</oml:code><oml:message>No results</oml:message>"
        "</oml:error>"
    ).encode()
    with pytest.raises(NoResults):
        _fast("evaluation", no_results)
    assert _fast("evaluation", _page("evaluations", [])).num_rows == 0


@pytest.mark.parametrize(
    "body",
    [
        (
            b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"/>'
            b"<title>Maintenance</title></head><body/></html>"
        ),
        _page("runs", []),
        _page("evaluation", CASES["plain"]),
        b"   \n",
    ],
)
def test_an_answer_that_is_not_the_list_asked_for_is_retried_never_an_empty_list(body):
    """An HTML maintenance page with status 200, another list, a row where the list should be."""
    for parse in (_fast, _reference):
        with pytest.raises(RetryableError, match="list asked for|empty body|malformed|truncated"):
            parse("evaluation", body)


@pytest.mark.parametrize(
    "text", ["0x10", "0x8000000000000000", "99999999999999999999", "3.5", "1_000", "abc"]
)
def test_ids_that_are_not_decimal_int64_integers_are_null_in_both_parsers(text):
    """Arrow alone reads 0x8000000000000000 as -9223372036854775808; Python alone reads 1_000."""
    body = _page(
        "evaluations", [_eval(1), _eval(2).replace("<oml:run_id>2<", f"<oml:run_id>{text}<")]
    )
    for parse in (_fast, _reference):
        assert parse("evaluation", body).column("run_id").to_pylist() == [1, None]


def test_a_raw_greater_than_in_a_text_still_takes_the_columnar_path():
    """'>' is legal in XML text: a tag ends at the first '>' after its '<', the text
    may hold more.
    """
    body = _page("evaluations", [_eval(1, flow_name="a > b >> c"), _eval(2, value="0.75")])
    fast = extract(SPECS["evaluation"], body)
    assert fast is not None
    assert fast.column("flow_name").to_pylist() == ["a > b >> c", "weka.J48"]
    assert _same(fast, _reference("evaluation", body))


@pytest.mark.parametrize(
    "case",
    [
        "first setup without parameters",
        "a parameter lacks a leaf",
        "a parameter with another leaf order",
        "text between rows",
        "an element between two setups",
    ],
)
def test_irregular_setup_pages_defer_or_match(case):
    setups = list(SETUPS)
    if case == "first setup without parameters":
        setups = [_setup(0)] + setups
    elif case == "a parameter lacks a leaf":
        setups[1] = setups[1].replace("<oml:default_value></oml:default_value>", "", 1)
    elif case == "a parameter with another leaf order":
        setups[1] = setups[1].replace(
            "<oml:data_type>option</oml:data_type><oml:default_value></oml:default_value>",
            "<oml:default_value></oml:default_value><oml:data_type>option</oml:data_type>",
            1,
        )
    elif case == "text between rows":
        setups[2] = "stray text" + setups[2]
    else:
        setups[2] = "<oml:note>x</oml:note>" + setups[2]
    body = _page("setups", setups)
    fast = extract(SPECS["setup"], body)
    # regular only when the first setup has no parameters: their layout comes from the first one
    assert (fast is not None) == (case == "first setup without parameters")
    if case in ("text between rows", "an element between two setups"):
        return  # the XML parser keeps or refuses such pages by its own rules
    expected = _reference("setup", body)
    assert _same(_fast("setup", body), expected)
    if fast is not None:
        assert _same(fast, expected)


RECORDED_LISTS = {
    "evaluation_list": "evaluation",
    "get_evaluation_list": "evaluation",
    "get_run_list": "run",
    "setup_list": "setup",
    "flow_list": "flow",
}


@pytest.mark.realdata
def test_recorded_live_server_lists_take_the_columnar_path_and_match(openml_data):
    """The live server's own list pages (recorded by openml-python's tests) carry leaves the
    lists do not use (``evaluation_engine_id``, ``run_details``): the columnar path skips them as
    the element parser does, rather than deferring every real page to it.
    """
    root = openml_data / "openml-python"
    checked = set()
    for path in sorted(root.rglob("*list*.xml")):
        entity = next(
            (e for prefix, e in RECORDED_LISTS.items() if path.name.startswith(prefix)), None
        )
        body = path.read_bytes()
        if entity is None or b"<oml:error " in body[:500]:  # an error body, not a list
            continue
        fast = extract(SPECS[entity], body)
        assert fast is not None, path.name
        assert _same(fast, _reference(entity, body)), path.name
        checked.add(entity)
    assert checked == set(RECORDED_LISTS.values())
