"""Property tests of the strict readers on corruptions of real files (credit-g as ARFF, with
quotes, and as CSV; electricity as ARFF without quotes, which takes the chunk-wide path, and as
sparse ARFF): a corrupted file is either refused with one DataFormatError line, or read as exactly
the clean rows. Never another exception, never a shifted column, never a NaN that the clean file
does not have.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metabase.errors import DataFormatError
from metabase.formats import arff
from metabase.formats.delimited import read_delimited

pytestmark = pytest.mark.realdata

ROWS = 40  # data rows kept from each real file: small enough for hundreds of examples in seconds
LIMIT = 4096  # the line limit the readers get here, so that an over-long line is cheap to make
INVALID_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\xc3",
    b"\x80",
    b"\xe9",
    b"\xed\xa0\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xc0\xaf",
]
SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


class Base:
    """A clean file cut from a real one: its lines, where the data starts, and how it reads."""

    def __init__(self, folder: Path, name: str, lines: list[bytes], first_data: int, read) -> None:
        self.path, self.lines, self.first_data, self.read = folder / name, lines, first_data, read
        self.clean = read(self.write(b"\n".join(lines) + b"\n"))
        self.nominal, self.numeric = [], []  # positions of the ARFF attributes of each kind
        if self.arff:
            kinds = [a.kind for a in arff.read_header(self.path).attributes]
            self.nominal = [j for j, kind in enumerate(kinds) if kind == "nominal"]
            self.numeric = [j for j, kind in enumerate(kinds) if kind == "numeric"]

    def write(self, content: bytes) -> Path:
        self.path.write_bytes(content)
        return self.path

    @property
    def arff(self) -> bool:
        return self.path.suffix == ".arff"


def _read_arff(path):
    return arff.read_arff(path, max_line_bytes=LIMIT)[1]


def _read_csv(path):
    return read_delimited(path, max_line_bytes=LIMIT)


def _arff_base(folder: Path, source: Path) -> Base:
    lines = source.read_bytes().split(b"\n")
    data = next(i for i, line in enumerate(lines) if line.strip().lower() == b"@data") + 1
    return Base(folder, source.name, lines[: data + ROWS], data, _read_arff)


def _sparse_base(folder: Path, dense: Base) -> Base:
    """The dense base's rows written as sparse ARFF rows (zeros and first nominal values left
    out).
    """
    header = arff.read_header(dense.path)
    defaults = [b"0" if a.kind == "numeric" else a.values[0].encode() for a in header.attributes]
    rows = []
    for line in dense.lines[dense.first_data :]:
        kept = [
            b"%d %s" % (j, value)
            for j, value in enumerate(line.split(b","))
            if value != defaults[j] and not (defaults[j] == b"0" and float(value) == 0)
        ]
        rows.append(b"{" + b", ".join(kept) + b"}")
    return Base(
        folder, "sparse.arff", dense.lines[: dense.first_data] + rows, dense.first_data, _read_arff
    )


@pytest.fixture(scope="module")
def bases(openml_data) -> list[Base]:
    source = openml_data / "datasets"
    csv_lines = (source / "credit-g" / "credit-g.csv").read_bytes().split(b"\n")
    with tempfile.TemporaryDirectory(prefix="formats-") as folder:
        plain = _arff_base(Path(folder), source / "electricity" / "electricity.arff")
        sparse = _sparse_base(Path(folder), plain)
        pd.testing.assert_frame_equal(sparse.clean, plain.clean)  # the same rows, written sparsely
        yield [
            _arff_base(Path(folder), source / "credit-g" / "credit-g.arff"),
            Base(Path(folder), "credit-g.csv", csv_lines[: 1 + ROWS], 1, _read_csv),
            plain,
            sparse,
        ]


def _outcome(base: Base, content: bytes):
    """The frame read from ``content``, or the refusal (checked to be one line naming the file)."""
    path = base.write(content)
    try:
        return base.read(path)
    except DataFormatError as error:
        assert len(str(error).splitlines()) == 1 and str(error).startswith(f"{path}: "), str(error)
        return error


# -- corruptions: each makes the file invalid, or leaves its rows as they were -----------------
def _fields(line: bytes) -> list[bytes]:
    return line.split(b",")  # the values of these files hold no commas


@st.composite
def corruption(draw, base: Base) -> bytes:
    lines = list(base.lines)
    row = draw(st.integers(base.first_data, len(lines) - 1))
    fields = _fields(lines[row])
    kinds = [
        "extra_field",
        "drop_field",
        "split_line",
        "bad_bytes",
        "nul",
        "long_line",
        "blank_lines",
        "crlf",
        "bom",
        "no_final_newline",
    ]
    if base.arff:
        kinds += ["undeclared", "text_in_numeric", "comment_lines", "spaces"]
    kind = draw(st.sampled_from(kinds))
    if kind == "extra_field":
        at = draw(st.integers(0, len(fields)))
        fields.insert(at, draw(st.sampled_from([b"1", b"?", b"good", b"'x'", b""])))
        lines[row] = b",".join(fields)
    elif kind == "drop_field":
        del fields[draw(st.integers(0, len(fields) - 1))]
        lines[row] = b",".join(fields)
    elif kind == "split_line":
        at = draw(st.integers(0, len(lines[row])))
        lines[row] = lines[row][:at] + b"\n" + lines[row][at:]
    elif kind in ("bad_bytes", "nul"):
        text = b"\n".join(lines)
        at = draw(st.integers(0, len(text)))
        bad = draw(st.sampled_from(INVALID_UTF8)) if kind == "bad_bytes" else b"\x00"
        return text[:at] + bad + text[at:] + b"\n"
    elif kind == "long_line":
        lines[row] = lines[row] + b" " * LIMIT
    elif kind == "blank_lines":
        for at in sorted(
            draw(st.lists(st.integers(base.first_data, len(lines)), max_size=4)), reverse=True
        ):
            lines.insert(at, draw(st.sampled_from([b"", b"   ", b"\t"])) if base.arff else b"")
    elif kind == "crlf":
        return b"\r\n".join(lines) + b"\r\n"
    elif kind == "bom":
        return b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n"
    elif kind == "no_final_newline":
        return b"\n".join(lines)
    elif kind == "undeclared":
        fields[draw(st.sampled_from(base.nominal))] = draw(
            st.sampled_from([b"'<1000'", b"maybe", b"'new car '", b"Good", b"8", b"up"])
        )
        lines[row] = b",".join(fields)
    elif kind == "text_in_numeric":
        word = draw(st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)).encode()
        assume(word not in (b"nan", b"inf", b"null", b"infinity"))
        fields[draw(st.sampled_from(base.numeric))] = word
        lines[row] = b",".join(fields)
    elif kind == "comment_lines":
        lines.insert(
            draw(st.integers(base.first_data, len(lines))),
            b"% " + draw(st.binary(max_size=20)).hex().encode(),
        )
    elif kind == "spaces":
        lines[row] = b" , ".join(fields) + b"  "
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("which", [0, 1, 2], ids=["arff-quoted", "csv", "arff-plain"])
@SETTINGS
@given(data=st.data())
def test_a_corrupted_file_is_refused_or_reads_as_the_clean_one(bases, which, data):
    base = bases[which]
    outcome = _outcome(base, data.draw(corruption(base)))
    if not isinstance(outcome, DataFormatError):
        pd.testing.assert_frame_equal(outcome, base.clean)


def _same_value(a, b) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return a == b


@pytest.mark.parametrize(
    "which", [0, 1, 2, 3], ids=["arff-quoted", "csv", "arff-plain", "arff-sparse"]
)
@SETTINGS
@given(data=st.data())
def test_a_truncated_file_is_refused_or_reads_as_a_prefix_of_the_rows(bases, which, data):
    """A cut inside the last value can leave a different valid value there (``1169`` -> ``11``);
    every row before it must be exactly the clean one.
    """
    base = bases[which]
    text = b"\n".join(base.lines) + b"\n"
    outcome = _outcome(base, text[: data.draw(st.integers(0, len(text)))])
    if isinstance(outcome, DataFormatError) or len(outcome) == 0:  # a cut in a CSV header: no rows
        return  # (and the data loaders refuse a table without rows)
    assert list(outcome.columns) == list(base.clean.columns) and len(outcome) <= len(base.clean)
    for i in range(len(outcome) - 1):
        assert all(_same_value(a, b) for a, b in zip(outcome.iloc[i], base.clean.iloc[i])), i


@pytest.mark.parametrize(
    "which", [0, 1, 2, 3], ids=["arff-quoted", "csv", "arff-plain", "arff-sparse"]
)
@SETTINGS
@given(data=st.data())
def test_random_byte_edits_never_raise_anything_but_a_format_error(bases, which, data):
    base = bases[which]
    text = bytearray(b"\n".join(base.lines) + b"\n")
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text) - 1))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = data.draw(st.binary(min_size=1, max_size=4))
        if action == "insert":
            text[at:at] = piece
        elif action == "delete":
            del text[at : at + len(piece)]
        else:
            text[at : at + len(piece)] = piece
    outcome = _outcome(base, bytes(text))
    assert isinstance(outcome, (DataFormatError, pd.DataFrame))
    if isinstance(
        outcome, pd.DataFrame
    ):  # whatever was read has no infinities and no shifted width
        numeric = outcome.select_dtypes("number").to_numpy(dtype=float)
        assert not np.isinf(numeric).any()
