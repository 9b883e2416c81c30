"""The strict data-file readers (metabase.formats): every malformed input is refused with one line
that names the file, line and column; a clean input reads exactly as an independent reader has it.
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metabase.errors import DataFormatError
from metabase.formats import arff
from metabase.formats.delimited import read_delimited
from metabase.formats.text import MAX_LINE_BYTES

CREDIT_ARFF = Path("datasets/credit-g/credit-g.arff")
CREDIT_CSV = Path("datasets/credit-g/credit-g.csv")

HEADER = """@relation t
@attribute n numeric
@attribute c {red, 'dark blue', green}
@attribute s string
@data
"""


def _arff(tmp_path, rows: str, header: str = HEADER, name: str = "t.arff") -> Path:
    path = tmp_path / name
    path.write_text(header + rows, encoding="utf-8")
    return path


def _refused(read, path, *, line=None, column=None, says=""):
    with pytest.raises(DataFormatError) as caught:
        read(path)
    error = caught.value
    message = str(error)
    assert len(message.splitlines()) == 1 and message.startswith(f"{path}: "), message
    assert error.line == line, message
    if column is not None:
        assert error.column == column, message
    assert says in message, message
    return message


def test_a_clean_arff_is_typed_by_its_declarations(tmp_path):
    path = _arff(tmp_path, "1.5,red,'a, b'\n% a comment\n\n?,'dark blue',x\n-2e3 , green , ?\n")
    header, data = arff.read_arff(path)
    assert header.names == ["n", "c", "s"] and header.attribute("c").values == (
        "red",
        "dark blue",
        "green",
    )
    assert data["n"].dtype == np.float64 and data["n"].isna().tolist() == [False, True, False]
    assert data["n"].iloc[2] == -2000.0
    assert data["c"].tolist() == ["red", "dark blue", "green"]
    assert data["s"].iloc[0] == "a, b" and pd.isna(data["s"].iloc[2])


@pytest.mark.parametrize(
    "rows, line, column, says",
    [
        ("1.5,red,x\nabc,red,x\n", 7, "n", "not a number"),  # text in a numeric column
        ("1.5,red\n", 6, "s", "expected 3 values, found 2"),  # a short row
        ("1.5,red,x,extra\n", 6, 4, "expected 3 values, found 4"),  # a row with too many values
        ("1.5,purple,x\n", 6, "c", "not declared"),  # outside the nominal set
        ("1.5,,x\n", 6, None, "empty value"),  # an empty value is not '?'
        ("1.5,'red,x\n", 6, None, "unterminated quote"),
        ("1e999,red,x\n", 6, "n", "not a finite number"),
        ("inf,red,x\n", 6, "n", "not a finite number"),
        ("1_000,red,x\n", 6, "n", "not a number"),  # float() would take it
    ],
)
def test_malformed_arff_rows_are_refused_where_they_are(tmp_path, rows, line, column, says):
    _refused(arff.read_arff, _arff(tmp_path, rows), line=line, column=column, says=says)


@pytest.mark.parametrize(
    "header, line, says",
    [
        ("@relation t\n@attribute a numeric\n@attribute a numeric\n@data\n", 3, "declared twice"),
        ("@relation t\n@attribute a {x, y, x}\n@data\n", 2, "'x' is declared twice"),
        ("@relation t\n@attribute a relational\n@data\n", 2, "relational"),
        ("@relation t\n@attribute a {x, y\n@data\n", 2, "unterminated nominal"),
        ("@relation t\nhello\n@data\n", 2, "not an ARFF header line"),
        ("@relation t\n@attribute a numeric\n", None, "no @DATA"),
    ],
)
def test_malformed_arff_headers_are_refused(tmp_path, header, line, says):
    _refused(arff.read_arff, _arff(tmp_path, "", header=header), line=line, says=says)


def test_latin1_text_is_refused_not_merged(tmp_path):
    # 'café' and 'cafè' in latin-1: decoding "with replacement" made them one category
    path = tmp_path / "t.arff"
    path.write_bytes(b"@relation t\n@attribute c {caf\xe9, caf\xe8}\n@data\ncaf\xe9\ncaf\xe8\n")
    _refused(
        arff.read_arff, path, line=2, column=18, says="not valid UTF-8 (byte 0xe9)"
    )  # the é of café


def test_utf8_with_a_byte_order_mark_and_crlf_reads_as_plain(tmp_path):
    plain = _arff(tmp_path, "1,red,x\n2,green,y\n")
    marked = tmp_path / "bom.arff"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes().replace(b"\n", b"\r\n"))
    pd.testing.assert_frame_equal(arff.read_arff(plain)[1], arff.read_arff(marked)[1])


def test_nul_bytes_are_binary_data(tmp_path):
    path = tmp_path / "t.arff"
    path.write_bytes(HEADER.encode() + b"1,red,a\x00b\n")
    _refused(arff.read_arff, path, line=6, column=8, says="NUL")


def test_sparse_rows(tmp_path):
    header = "@relation s\n@attribute a numeric\n@attribute b numeric\n@attribute c {x,y}\n@data\n"
    _, data = arff.read_arff(_arff(tmp_path, "{0 1.5, 2 y}\n{}\n{1 ?}\n", header=header))
    assert data["a"].tolist() == [1.5, 0.0, 0.0] and data["c"].tolist() == ["y", "x", "x"]
    assert np.isnan(data["b"].iloc[2])
    for rows, says in [
        ("{3 1}\n", "not an attribute index"),
        ("{1 1, 0 2}\n", "does not increase"),
        ("{0 1, 0 2}\n", "does not increase"),
        ("{0 1\n", "must end with '}'"),
        ("{2 z}\n", "not declared"),
        ("{\u00b2 1}\n", "not an attribute index"),
    ]:
        _refused(arff.read_arff, _arff(tmp_path, rows, header=header), line=6, says=says)
    with pytest.raises(DataFormatError, match="sparse ARFF rows are not supported"):
        arff.read_arff(_arff(tmp_path, "{0 1}\n", header=header), sparse=False)


def test_non_finite_numbers_can_be_let_through(tmp_path):
    _, data = arff.read_arff(_arff(tmp_path, "inf,red,x\n-Infinity,red,x\n"), finite=False)
    assert data["n"].tolist() == [np.inf, -np.inf]


def test_a_file_without_line_breaks_is_refused_at_once(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(
        b"a,b\n" + b"1," * (MAX_LINE_BYTES // 2 + 1000)
    )  # one line just over the limit
    start = time.perf_counter()
    _refused(read_delimited, path, line=2, says=f"longer than {MAX_LINE_BYTES:,} bytes")
    assert time.perf_counter() - start < 5
    small = tmp_path / "small.arff"
    small.write_text(HEADER + "1,red," + "x" * 200 + "\n")
    with pytest.raises(DataFormatError, match="longer than 100 bytes") as caught:
        arff.read_arff(small, max_line_bytes=100)
    assert caught.value.line == 6


def test_a_clean_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b,c\n1,x,2.5\n\n2,"y, z",\n3,"multi\nline",?\n')
    frame = read_delimited(path)
    assert frame["a"].dtype == np.int64 and frame["a"].tolist() == [1, 2, 3]
    assert frame["b"].tolist() == ["x", "y, z", "multi\nline"]
    assert (
        frame["c"].dtype == np.float64
        and frame["c"].iloc[0] == 2.5
        and frame["c"].iloc[1:].isna().all()
    )


@pytest.mark.parametrize(
    "text, line, column, says",
    [
        (
            "a,b,c\n1,2,3,4\n5,6,7\n",
            2,
            4,
            "expected 3 values as in the header, found 4",
        ),  # the first row longer
        ("a,b,c\n1,2,3\n5,6\n", 3, "c", "found 2"),
        ("a,b,a\n1,2,3\n", 1, 3, "names 'a' twice"),
        ("a,,c\n1,2,3\n", 1, 2, "empty column name"),
        ('a,b\n1,"x"y\n', 2, None, "malformed CSV"),
        ("a,b\n1,inf\n2,3\n", 2, "b", "not a finite number"),
        ("", None, None, "empty"),
    ],
)
def test_malformed_csv_is_refused(tmp_path, text, line, column, says):
    path = tmp_path / "t.csv"
    path.write_text(text)
    _refused(read_delimited, path, line=line, column=column, says=says)


def test_csv_latin1_and_corrupt_gzip_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("a,b\n1,café\n".encode("latin-1"))
    _refused(read_delimited, path, line=2, column=6, says="not valid UTF-8")
    packed = gzip.compress(b"a,b\n" + b"1,2\n" * 5000)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataFormatError, match="cannot decompress"):
        read_delimited(cut)
    junk = tmp_path / "junk.csv.gz"
    junk.write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    with pytest.raises(DataFormatError, match="cannot decompress"):
        read_delimited(junk)


def test_types_follow_pandas(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("i,f,t,m,e\n1,1.5,x,NA,\n2,2,3,?,\n")
    frame = read_delimited(path)
    expected = pd.read_csv(path, na_values=["?"])
    assert (
        [frame[c].dtype.kind for c in frame]
        == [expected[c].dtype.kind for c in expected]
        == list("ifOff")
    )
    assert (
        frame["t"].tolist() == ["x", "3"] and frame["m"].isna().all() and frame["e"].isna().all()
    )


# -- real data: clean files read as an independent reader has them, bad variants are refused --
@pytest.mark.realdata
def test_credit_g_arff_reads_as_liac_arff_has_it(openml_data):
    import arff as liac

    with open(openml_data / CREDIT_ARFF) as handle:
        reference = liac.load(handle)
    header, data = arff.read_arff(openml_data / CREDIT_ARFF)
    assert header.names == [a[0] for a in reference["attributes"]]
    assert len(data) == len(reference["data"]) == 1000
    for j, name in enumerate(header.names):
        theirs = [row[j] for row in reference["data"]]
        mine = data[name].tolist()
        if header.attribute(name).kind == "numeric":
            np.testing.assert_array_equal(np.array(mine, float), np.array(theirs, float))
        else:
            assert [None if pd.isna(v) else v for v in mine] == theirs, name


@pytest.mark.realdata
def test_credit_g_csv_reads_as_pandas_has_it(openml_data):
    mine = read_delimited(openml_data / CREDIT_CSV)
    theirs = pd.read_csv(openml_data / CREDIT_CSV)
    assert list(mine.columns) == list(theirs.columns)
    for name in theirs.columns:
        assert mine[name].tolist() == theirs[name].tolist(), name


def _variant(openml_data, tmp_path, source: Path, change) -> tuple[Path, int]:
    """A copy of a real file with one data line changed; (path, the changed line's number)."""
    lines = (openml_data / source).read_bytes().split(b"\n")
    first = (
        next(i for i, line in enumerate(lines) if line.strip().lower() == b"@data") + 1
        if source.suffix == ".arff"
        else 1
    )
    index = first + 500  # a line in the middle of the data
    lines[index] = change(lines[index])
    path = tmp_path / source.name
    path.write_bytes(b"\n".join(lines))
    return path, index + 1


def _field(index: int, value: bytes):
    """Replace one comma-separated field (credit-g's values hold no commas)."""

    def change(line: bytes) -> bytes:
        parts = line.split(b",")
        assert len(parts) == 21, line
        parts[index] = value
        return b",".join(parts)

    return change


@pytest.mark.realdata
@pytest.mark.parametrize(
    "source, change, column, says",
    [
        (CREDIT_ARFF, _field(0, b"'<1000'"), "checking_status", "not declared"),
        (CREDIT_ARFF, _field(1, b"twelve"), "duration", "not a number"),
        (CREDIT_ARFF, lambda line: line + b",good", 22, "expected 21 values, found 22"),
        (
            CREDIT_ARFF,
            lambda line: line.rsplit(b",", 1)[0],
            "class",
            "expected 21 values, found 20",
        ),
        (CREDIT_ARFF, _field(20, b"g\xf6\xf6d"), None, "not valid UTF-8"),  # latin-1
        (CREDIT_CSV, lambda line: line + b",extra", 22, "found 22"),
        (CREDIT_CSV, lambda line: line.rsplit(b",", 1)[0], "class", "found 20"),
        (CREDIT_CSV, _field(20, b"g\xf6\xf6d"), None, "not valid UTF-8"),
        (CREDIT_CSV, _field(1, b"1e999"), "duration", "not a finite number"),
    ],
)
def test_bad_variants_of_real_files_are_refused_at_the_changed_line(
    openml_data, tmp_path, source, change, column, says
):
    path, line = _variant(openml_data, tmp_path, source, change)
    read = (lambda p: arff.read_arff(p)) if source.suffix == ".arff" else read_delimited
    _refused(read, path, line=line, column=column, says=says)
