"""A strict ARFF reader (dense and sparse rows), shared by the importers and the data loaders.

The header is parsed line by line; the data rows are split by a small tokenizer that knows ARFF's
quoting (``'...'`` or ``"..."`` with backslash escapes) and typed column by column. Each value is
checked against its declaration, so nothing malformed turns into a NaN or a shifted column.

Refused, with the file, line and column: text that is not UTF-8, over-long lines (see
:mod:`metabase.formats.text`), a header without ``@RELATION``/``@ATTRIBUTE``/``@DATA``, a
duplicate ``@ATTRIBUTE`` name or nominal value, an unknown attribute type, a row with too few or
too many values, an empty value (``?`` is the missing value), an unterminated quote, a
non-number (or, unless allowed, a non-finite number) in a NUMERIC column, a value outside a nominal
attribute's declared set, and sparse rows whose indices are out of range or not increasing (or,
with ``sparse=False``, sparse rows at all).

Typed frames: NUMERIC -> float64 (NaN for missing; ``null`` and ``nan`` are taken as missing, as
some exporters write them), everything else -> the pandas ``string`` dtype (``<NA>`` for missing).
"""

from __future__ import annotations

import json
import operator
import re
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from metabase.errors import DataFormatError
from metabase.formats.numbers import floats, parse_numbers
from metabase.formats.text import MAX_LINE_BYTES, numbered_lines

_NUMERIC = {"numeric", "real", "integer"}
_MISSING_NUMBERS = ("null", "nan")
_ATTRIBUTE = re.compile(
    r"^@attribute\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)\s+(.+?)\s*$", re.I
)
_QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_FIELD = re.compile(rf"""\s*({_QUOTED}|[^,]*?)\s*(,|$)""", re.S)
_SPARSE_ITEM = re.compile(rf"""\s*(\S+)\s+({_QUOTED}|[^,]*?)\s*(,|$)""", re.S)
_FULLY_QUOTED = re.compile(_QUOTED, re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True)
class Attribute:
    name: str
    kind: str  # numeric, string, nominal, date
    values: tuple[str, ...] = ()  # the declared values of a nominal attribute


@dataclass(frozen=True)
class ArffHeader:
    relation: str
    attributes: tuple[Attribute, ...]
    comments: tuple[str, ...]  # the text of the ``%`` lines before ``@DATA``, without the ``%``
    data_line: int  # 1-based number of the first line after ``@DATA``

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attributes]

    def attribute(self, name: str) -> Attribute:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        raise KeyError(name)

    def comment_json(self) -> dict:
        """The first comment line that holds a JSON object (openml-pimp puts its
        metadata there).
        """
        for line in self.comments:
            text = line.strip()
            if text.startswith("{"):
                try:
                    value = json.loads(text)
                except ValueError:
                    continue
                if isinstance(value, dict):
                    return value
        return {}


# -- values ---------------------------------------------------------------------------------------
def unquote(token: str) -> str:
    """The text of a quoted ARFF value (escapes resolved); an unquoted token as it is."""
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return re.sub(
            r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1], flags=re.S
        )
    return token


def _value(token: str, fail) -> str | None:
    """A token's value: None for the missing value ``?``, the text of a quoted one."""
    if not token:
        fail("empty value (write ? for a missing value)")
    if token[0] in "'\"":
        if not _FULLY_QUOTED.fullmatch(token):
            fail(f"unterminated quote or text after a closing quote: {token[:40]!r}")
        return unquote(token)
    return None if token == "?" else token


def split_values(text: str, fail) -> list[str | None]:
    """The comma-separated values of one dense row (``None`` for ``?``)."""
    if "'" not in text and '"' not in text:  # the common case, and much faster
        tokens = [token.strip() for token in text.split(",")]
        if "" in tokens:
            _value("", fail)
        return [None if token == "?" else token for token in tokens]
    values, pos = [], 0
    while True:
        match = _FIELD.match(text, pos)
        values.append(_value(match.group(1), fail))
        if match.group(2) != ",":
            return values
        pos = match.end()


def _sparse_values(text: str, kinds: list[Attribute], fail) -> list[str | None]:
    """A sparse row ``{index value, ...}``: an absent numeric value is 0, an absent nominal one is
    its first declared value (Weka's stored value 0), an absent string is missing.
    """
    row = [
        ("0" if a.kind == "numeric" else a.values[0] if a.kind == "nominal" and a.values else None)
        for a in kinds
    ]
    inner = text[1:-1].strip()
    last, pos = -1, 0
    while inner:
        match = _SPARSE_ITEM.match(inner, pos)
        if not match:
            fail(f"malformed sparse entry {inner[pos : pos + 40]!r} (expected 'index value')")
        index_text = match.group(1)
        if not (index_text.isascii() and index_text.isdigit()) or int(index_text) >= len(kinds):
            fail(f"sparse index {index_text!r} is not an attribute index 0..{len(kinds) - 1}")
        index = int(index_text)
        if index <= last:
            fail(f"sparse index {index} does not increase")
        row[index] = _value(match.group(2), fail)
        last = index
        if match.group(3) != ",":
            break
        pos = match.end()
    return row


# -- header ---------------------------------------------------------------------------------------
def _parse_type(spec: str, fail) -> tuple[str, tuple[str, ...]]:
    if spec.startswith("{"):
        if not spec.endswith("}"):
            fail(f"unterminated nominal values {spec[:60]!r}")
        inner = spec[1:-1].strip()
        values = tuple(split_values(inner, fail)) if inner else ()
        if any(v is None for v in values):
            fail("'?' cannot be a declared nominal value")
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            fail(f"nominal value {repeated[0]!r} is declared twice")
        return "nominal", values
    kind = spec.split()[0].lower()
    if kind in _NUMERIC:
        return "numeric", ()
    if kind in ("string", "date"):
        return kind, ()
    fail(
        f"unknown attribute type {spec[:60]!r}"
        + (" (relational attributes are not supported)" if kind == "relational" else "")
    )


def read_header(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> ArffHeader:
    """Parse everything up to ``@DATA``."""
    path = Path(path)
    builder = _HeaderBuilder(path)
    with closing(numbered_lines(path, max_line_bytes)) as lines:
        for number, raw in lines:
            header = builder.take(number, raw.strip())
            if header is not None:
                return header
    if builder.relation is None:
        raise DataFormatError(path, "not an ARFF file: no @RELATION")
    raise DataFormatError(
        path, "truncated ARFF: no @DATA section (no @data line after the header)"
    )


class _HeaderBuilder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.relation: str | None = None
        self.attributes: list[Attribute] = []
        self.comments: list[str] = []
        self._names: set[str] = set()

    def take(self, number: int, line: str) -> ArffHeader | None:
        """Take in one stripped header line; the header once ``@DATA`` is reached."""

        def fail(reason):
            raise DataFormatError(self.path, reason, line=number)

        lower = line.lower()
        if not line:
            return None
        if line.startswith("%"):
            self.comments.append(line[1:])
        elif lower.startswith("@relation"):
            self.relation = unquote(line[len("@relation") :].strip())
        elif lower.startswith("@attribute"):
            self.attributes.append(self._attribute(line, fail))
        elif lower.startswith("@data"):
            if self.relation is None or not self.attributes:
                fail("not an ARFF file: @DATA before @RELATION/@ATTRIBUTE")
            return ArffHeader(
                self.relation, tuple(self.attributes), tuple(self.comments), number + 1
            )
        else:
            fail(f"not an ARFF header line: {line[:60]!r}")
        return None

    def _attribute(self, line: str, fail) -> Attribute:
        match = _ATTRIBUTE.match(line)
        if not match:
            fail("malformed @ATTRIBUTE")
        name = unquote(match.group(1))
        if name in self._names:
            fail(f"@ATTRIBUTE {name!r} is declared twice")
        self._names.add(name)
        kind, values = _parse_type(match.group(2).strip(), fail)
        return Attribute(name, kind, values)


# -- data -----------------------------------------------------------------------------------------
def _chunks(path: Path, header: ArffHeader, chunksize: int, max_line_bytes: int):
    """``(texts, line numbers)`` of the data rows (stripped; blank and ``%`` lines left out), at
    most ``chunksize`` at a time.
    """
    texts, numbers = [], []
    for number, raw in numbered_lines(path, max_line_bytes):
        if number < header.data_line:
            continue
        text = raw.strip()
        if text and text[0] != "%":
            texts.append(text)
            numbers.append(number)
            if len(texts) == chunksize:
                yield texts, numbers
                texts, numbers = [], []
    if texts:
        yield texts, numbers


def _columns(
    path: Path, header: ArffHeader, texts: list[str], numbers: list[int], sparse: bool
) -> list[list]:
    """The values of each attribute over the rows (``None`` for missing), every row checked to have
    one value per attribute. Rows without quotes are split a whole chunk at a time.
    """
    width = len(header.attributes)
    joined = "\n".join(texts)
    if "'" in joined or '"' in joined or ("\n" + joined).find("\n{") >= 0:
        rows = [_row(path, header, text, number, sparse) for text, number in zip(texts, numbers)]
        table = np.array(rows, dtype=object).reshape(len(rows), width)
        return [table[:, j].tolist() for j in range(width)]
    counts = np.fromiter(map(_COMMAS, texts), dtype=np.int64, count=len(texts))
    wrong = np.flatnonzero(counts != width - 1)
    if wrong.size:
        i = int(wrong[0])
        _row(path, header, texts[i], numbers[i], sparse)  # raises, naming the column
    table = np.array(joined.replace("\n", ",").split(","), dtype=object).reshape(len(texts), width)
    spaced = (
        _SPACE.search(joined) is not None
    )  # values to strip (any whitespace but the row breaks)
    columns = []
    for j in range(width):
        column = list(map(str.strip, table[:, j].tolist())) if spaced else table[:, j].tolist()
        if "" in column:
            i = column.index("")
            raise DataFormatError(
                path,
                "empty value (write ? for a missing value)",
                line=numbers[i],
                column=header.names[j],
            )
        columns.append([None if v == "?" else v for v in column] if "?" in column else column)
    return columns


_COMMAS = operator.methodcaller("count", ",")
_SPACE = re.compile(r"[^\S\n]")


def _row(path: Path, header: ArffHeader, text: str, number: int, sparse: bool) -> list:
    """One data row's values, checked (dense or sparse)."""

    def fail(reason, column=None):
        raise DataFormatError(path, reason, line=number, column=column)

    if text.startswith("{"):
        if not sparse:
            fail("sparse ARFF rows are not supported here")
        if not text.endswith("}"):
            fail("a sparse row must end with '}'")
        return _sparse_values(text, list(header.attributes), fail)
    values = split_values(text, fail)
    width = len(header.attributes)
    if len(values) != width:
        fail(
            f"expected {width} values, found {len(values)}",
            header.names[len(values)] if len(values) < width else width + 1,
        )
    return values


def _typed(
    path: Path, header: ArffHeader, columns: list[list], lines: list[int], finite: bool
) -> pd.DataFrame:
    typed = {}
    for attribute, values in zip(header.attributes, columns):
        if attribute.kind == "numeric":
            typed[attribute.name] = _numeric(path, attribute, values, lines, finite)
            continue
        if attribute.kind == "nominal":
            undeclared = set(values) - set(attribute.values) - {None}
            if undeclared:
                i = next(i for i, v in enumerate(values) if v in undeclared)
                _fail(path, attribute, lines[i], values[i], "is not declared")
        typed[attribute.name] = pd.array(values, dtype="string")
    return pd.DataFrame(typed, index=pd.RangeIndex(len(lines)))


def _numeric(
    path: Path, attribute: Attribute, values: list, lines: list[int], finite: bool
) -> np.ndarray:
    numbers = floats(
        values
    )  # the common case: no missing values ("nan" is one, and parses as NaN)
    if numbers is None:
        missing = np.fromiter(
            (v is None or v.lower() in _MISSING_NUMBERS for v in values),
            dtype=bool,
            count=len(values),
        )
        numbers, bad = parse_numbers(values, missing)
        if bad is not None:
            _fail(path, attribute, lines[bad], values[bad], "is not a number")
    if finite and np.isinf(numbers).any():
        i = int(np.isinf(numbers).argmax())
        _fail(path, attribute, lines[i], values[i], "is not a finite number")
    return numbers


def _fail(path: Path, attribute: Attribute, line: int, value, reason: str) -> None:
    declared = (
        f" (declared: {', '.join(attribute.values[:10])})" if attribute.kind == "nominal" else ""
    )
    raise DataFormatError(path, f"{value!r} {reason}{declared}", line=line, column=attribute.name)


def iter_data(
    path: Path,
    header: ArffHeader,
    chunksize: int = 200_000,
    *,
    sparse: bool = True,
    finite: bool = True,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[pd.DataFrame]:
    """The data section as typed frames of at most ``chunksize`` rows (at least one frame).
    ``finite=False`` lets ``inf`` through in NUMERIC columns.
    """
    path = Path(path)
    yielded = False
    for texts, numbers in _chunks(path, header, chunksize, max_line_bytes):
        yield _typed(path, header, _columns(path, header, texts, numbers, sparse), numbers, finite)
        yielded = True
    if not yielded:
        yield _typed(path, header, [[] for _ in header.attributes], [], finite)


def read_data(path: Path, header: ArffHeader, **options) -> pd.DataFrame:
    frames = list(iter_data(path, header, **options))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_arff(path: Path, **options) -> tuple[ArffHeader, pd.DataFrame]:
    """Header and typed data of an ARFF file (options as :func:`iter_data`'s)."""
    path = Path(path)
    header = read_header(path, options.get("max_line_bytes", MAX_LINE_BYTES))
    return header, read_data(path, header, **options)


__all__ = [
    "ArffHeader",
    "Attribute",
    "iter_data",
    "read_arff",
    "read_data",
    "read_header",
    "split_values",
    "unquote",
]
