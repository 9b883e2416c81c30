"""A strict reader of delimited text tables (CSV, TSV; optionally gzipped) with a header line.

pandas' ``read_csv`` is lenient where it matters here: a row longer than the header silently turns
its first values into an index (every column shifts), a short row is padded with NaN, a repeated
header name becomes ``name.1``, and a file without line breaks is parsed whole. This reader takes
the lines from :mod:`metabase.formats.text` (UTF-8, bounded line length) and Python's ``csv``
module in strict mode (RFC 4180 double quotes), and refuses, naming the file, line and column:
an empty file or one without data rows, an empty or repeated header name, a row with more or fewer
values than the header, a malformed quote, and (when typed) a non-finite number (``inf``) in a
numeric column.

:func:`read_rows` gives the checked text (the importers type and check each column themselves, see
:mod:`metabase.formats.numbers`); :func:`read_delimited` gives a typed frame (the data loaders).

Types are inferred as pandas does: a column whose present values all parse as numbers is numeric
(int64, or float64 with NaN for missing values), any other column holds text (object, NaN for
missing). Missing values are the empty field, ``?`` and pandas' usual markers (:data:`NA_VALUES`,
matched exactly, as pandas does).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from metabase.errors import DataFormatError
from metabase.formats.numbers import floats, integers, parse_numbers
from metabase.formats.text import MAX_LINE_BYTES, lines_of

NA_VALUES = frozenset(
    {
        "",
        "?",
        "NA",
        "N/A",
        "n/a",
        "NaN",
        "nan",
        "-NaN",
        "-nan",
        "null",
        "NULL",
        "None",
        "#N/A",
        "<NA>",
    }
)


@dataclass(frozen=True)
class CsvRows:
    """A table's header and data rows, all text; ``lines[i]`` is the file line row ``i`` ends
    on.
    """

    path: Path
    header: tuple[str, ...]
    rows: list[list[str]]
    lines: list[int]

    @cached_property
    def _columns(self) -> list[tuple[str, ...]]:
        return list(zip(*self.rows))

    def column(self, name: str) -> list[str]:
        return list(self._columns[self.header.index(name)])

    def at(self, i: int) -> str:
        """Where data row ``i`` is, for messages."""
        return f"line {self.lines[i]}"


def read_rows(path: Path, sep: str = ",", *, max_line_bytes: int = MAX_LINE_BYTES) -> CsvRows:
    """The header and the text of every data row of the table in ``path`` (its first non-blank
    line is the header); refused: everything the module docstring names, and a table without
    data rows (an import of it would replace stored rows with nothing).
    """
    path = Path(path)
    reader = _reader(path, sep, max_line_bytes)
    try:
        records = list(reader)  # a blank line is an empty record
    except csv.Error as exc:
        raise DataFormatError(path, f"malformed CSV ({exc})", line=reader.line_num) from None
    if reader.line_num == len(records):  # one record per line (no quoted line breaks)
        ends = range(1, len(records) + 1)
    else:  # the line each record ends on, from a second pass
        ends = [done.line_num for done in _counting(_reader(path, sep, max_line_bytes))]
    kept = [i for i, fields in enumerate(records) if fields]
    if not kept:
        raise DataFormatError(path, "the file is empty; expected a header line and data rows")
    header = check_header(path, records[kept[0]], ends[kept[0]])
    data = kept[1:]
    if not data:
        raise DataFormatError(path, "no data rows (only the header)", line=ends[kept[0]])
    widths = np.fromiter((len(records[i]) for i in data), dtype=np.int64, count=len(data))
    wrong = np.flatnonzero(widths != len(header))
    if wrong.size:
        i = data[int(wrong[0])]
        found = len(records[i])
        column = header[found] if found < len(header) else len(header) + 1
        raise DataFormatError(
            path,
            f"expected {len(header)} values as in the header, found {found}",
            line=ends[i],
            column=column,
        )
    return CsvRows(path, tuple(header), [records[i] for i in data], [ends[i] for i in data])


def read_delimited(
    path: Path, sep: str = ",", *, max_line_bytes: int = MAX_LINE_BYTES
) -> pd.DataFrame:
    """The table in ``path``, typed (see the module docstring)."""
    table = read_rows(path, sep, max_line_bytes=max_line_bytes)
    return _typed(table.path, list(table.header), table.rows, table.lines)


def _reader(path: Path, sep: str, max_line_bytes: int):
    return csv.reader(
        lines_of(path, max_line_bytes), delimiter=sep, quotechar='"', doublequote=True, strict=True
    )


def _counting(reader):
    """The reader itself after each record (its ``line_num`` is where that record ended)."""
    for _ in reader:
        yield reader


def check_header(path: Path, names, line: int = 1) -> list[str]:
    """Refuse an empty or a repeated column name (pandas would rename a repeat to ``X.1``)."""
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise DataFormatError(
                path, "the header has an empty column name", line=line, column=position
            )
    seen = set()
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise DataFormatError(
                path, f"the header names {name!r} twice", line=line, column=position
            )
        seen.add(name)
    return names


def _typed(path: Path, header: list[str], rows: list[list[str]], lines: list[int]) -> pd.DataFrame:
    table = np.array(rows, dtype=object).reshape(len(rows), len(header))
    return pd.DataFrame(
        {name: _column(path, name, table[:, j].tolist(), lines) for j, name in enumerate(header)},
        index=pd.RangeIndex(len(rows)),
    )


def _column(path: Path, name: str, values: list[str], lines: list[int]):
    numbers = floats(values)  # the common case: a number everywhere (a "nan" counts as missing)
    if numbers is None:
        if NA_VALUES.isdisjoint(values):  # not all numbers, and none missing: text
            return pd.Series(values, dtype=object)
        missing = np.fromiter(map(NA_VALUES.__contains__, values), dtype=bool, count=len(values))
        if missing.all():  # nothing but missing values: a numeric column, as pandas has it
            return np.full(len(values), np.nan)
        numbers, bad = parse_numbers(values, missing)
        if bad is not None:  # some text: a text column
            return pd.Series(
                np.where(missing, np.nan, np.array(values, dtype=object)), dtype=object
            )
    infinite = np.isinf(numbers)
    if infinite.any():
        i = int(infinite.argmax())
        raise DataFormatError(
            path, f"{values[i]!r} is not a finite number", line=lines[i], column=name
        )
    if not np.isnan(numbers).any():
        exact = integers(values, numbers)
        if exact is not None:
            return exact
    return numbers
