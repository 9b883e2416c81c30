"""A fast, validating reader of dense ARFF files, shared by the ARFF importers.

The header is parsed line by line (it is small); the data section is handed to pandas' C CSV
parser, read as text first so that a short row (a truncated file) can be told apart from a
missing value (``?``). ``iter_data`` reads the data in chunks for files that do not fit in memory.

What it refuses, as :class:`ImportFormatError`: no ``@RELATION``/``@ATTRIBUTE``/``@DATA``, an
attribute declared twice, sparse rows (``{...}``), a row with too few or too many values, a non-number in a NUMERIC column, and a
value outside a nominal attribute's declared set.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from metabase.errors import ImportFormatError

_NUMERIC = {"numeric", "real", "integer"}
_ATTRIBUTE = re.compile(r"^@attribute\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)\s+(.+?)\s*$", re.I)


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
        """The first comment line that holds a JSON object (openml-pimp puts its metadata there)."""
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


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace("\\" + text[0], text[0])
    return text


def _parse_type(spec: str) -> tuple[str, tuple[str, ...]]:
    if spec.startswith("{"):
        if not spec.endswith("}"):
            raise ValueError(f"unterminated nominal values {spec!r}")
        inner = spec[1:-1]
        values = next(csv.reader([inner], skipinitialspace=True, quotechar="'")) if inner.strip() else []
        return "nominal", tuple(_unquote(v.strip()) for v in values)
    kind = spec.split()[0].lower()
    if kind in _NUMERIC:
        return "numeric", ()
    if kind in ("string", "date"):
        return kind, ()
    raise ValueError(f"unknown attribute type {spec!r}")


def read_header(path: Path) -> ArffHeader:
    """Parse everything up to ``@DATA``."""
    relation, attributes, comments = None, [], []
    try:
        with open(path, encoding="utf-8-sig") as handle:  # a byte-order mark is not part of the text
            for number, raw in enumerate(handle, start=1):
                line = raw.strip()
                if not line:
                    continue
                if line.startswith("%"):
                    comments.append(line[1:])
                    continue
                lower = line.lower()
                if lower.startswith("@relation"):
                    relation = _unquote(line[len("@relation"):].strip())
                elif lower.startswith("@attribute"):
                    match = _ATTRIBUTE.match(line)
                    if not match:
                        raise ImportFormatError(path, f"line {number}: malformed @ATTRIBUTE")
                    try:
                        kind, values = _parse_type(match.group(2).strip())
                    except ValueError as exc:
                        raise ImportFormatError(path, f"line {number}: {exc}") from None
                    name = _unquote(match.group(1))
                    if any(a.name == name for a in attributes):
                        raise ImportFormatError(path, f"line {number}: @ATTRIBUTE {name!r} is declared twice")
                    attributes.append(Attribute(name, kind, values))
                elif lower.startswith("@data"):
                    if relation is None or not attributes:
                        raise ImportFormatError(path, "not an ARFF file: @DATA before @RELATION/@ATTRIBUTE")
                    return ArffHeader(relation, tuple(attributes), tuple(comments), number + 1)
                else:
                    raise ImportFormatError(path, f"line {number}: not an ARFF header line: {line[:60]!r}")
    except UnicodeDecodeError:
        raise ImportFormatError(path, "not a text file (ARFF expected)") from None
    if relation is None:
        raise ImportFormatError(path, "not an ARFF file: no @RELATION")
    raise ImportFormatError(path, "truncated ARFF: no @DATA section")


def _csv_reader(path: Path, header: ArffHeader, chunksize: int | None):
    return pd.read_csv(
        path, header=None, names=header.names, skiprows=header.data_line - 1, dtype=str,
        keep_default_na=False, na_filter=True, na_values=[""], quotechar="'", skipinitialspace=True,
        comment="%", skip_blank_lines=True, engine="c", chunksize=chunksize, escapechar="\\",
    )


def _validate(path: Path, header: ArffHeader, text: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """Type the text frame. The parser pads short rows with empty values, which it reads as NaN
    (a ``?`` stays the string ``?``): so an empty value means a short row. (An empty unquoted value
    is not valid ARFF either; the one thing refused by mistake is a quoted empty string.)"""
    if text.iloc[:, 0].str.startswith("{").any():
        raise ImportFormatError(path, "sparse ARFF rows are not supported")
    short = text.isna().any(axis=1)
    if short.any():
        row = int(short.to_numpy().argmax())
        column = text.columns[int(text.iloc[row].isna().to_numpy().argmax())]
        raise ImportFormatError(path, f"data row {first_row + row + 1}: expected {len(header.names)} values, "
                                      f"{column!r} is empty or missing (truncated ARFF?)")
    typed = {}
    for attribute in header.attributes:
        column = text[attribute.name].str.strip()
        missing = column == "?"
        if attribute.kind == "numeric":
            values = pd.to_numeric(column.where(~missing), errors="coerce")
            bad = values.isna() & ~missing
            # ARFF exporters write NaN for missing numbers as ``null`` or ``nan`` too
            bad &= ~column.str.lower().isin(("null", "nan"))
            if bad.any():
                i = int(bad.to_numpy().argmax())
                raise ImportFormatError(path, f"data row {first_row + i + 1}: {attribute.name} "
                                              f"is not a number: {column.iloc[i]!r}")
            typed[attribute.name] = values.astype("float64")
        else:
            values = column.map(_unquote) if column.str.contains("[\"']", regex=True).any() else column
            values = values.where(~missing)
            if attribute.kind == "nominal":
                bad = ~values.isin(attribute.values) & ~missing
                if bad.any():
                    i = int(bad.to_numpy().argmax())
                    raise ImportFormatError(path, f"data row {first_row + i + 1}: {attribute.name} "
                                                  f"value {values.iloc[i]!r} is not declared")
            typed[attribute.name] = values.astype("string")
    return pd.DataFrame(typed, index=text.index)


def iter_data(path: Path, header: ArffHeader, chunksize: int = 200_000) -> Iterator[pd.DataFrame]:
    """The data section as typed frames of at most ``chunksize`` rows (NUMERIC -> float64,
    everything else -> string; ``?`` -> missing)."""
    offset = 0
    try:
        for text in _csv_reader(path, header, chunksize):
            yield _validate(path, header, text, offset)
            offset += len(text)
    except pd.errors.EmptyDataError:
        return
    except (pd.errors.ParserError, csv.Error, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFormatError(path, f"malformed ARFF data: {reason}") from None


def read_data(path: Path, header: ArffHeader) -> pd.DataFrame:
    frames = list(iter_data(path, header))
    if not frames:
        return pd.DataFrame({a.name: pd.Series(dtype="float64" if a.kind == "numeric" else "string")
                             for a in header.attributes})
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


def read_arff(path: Path) -> tuple[ArffHeader, pd.DataFrame]:
    """Header and typed data of a dense ARFF file."""
    path = Path(path)
    header = read_header(path)
    return header, read_data(path, header)


__all__ = ["ArffHeader", "Attribute", "iter_data", "read_arff", "read_data", "read_header"]
