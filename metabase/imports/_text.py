"""The one strict way the importers read text: UTF-8, bounded lines, rectangular CSV.

Every importer that reads CSV or other text from outside goes through here, so the rules hold for
all of them alike (the ARFF reader, :mod:`metabase.imports._arff`, applies the same ones to ARFF):

- text is UTF-8 (a byte-order mark is skipped), never decoded "with replacement": a Latin-1 file
  would otherwise overwrite stored names with U+FFFD;
- a line longer than :data:`MAX_LINE_BYTES` is refused (a binary file, a missing newline), instead
  of being read into memory whole;
- a CSV has a header of distinct, non-empty names, every row has exactly as many fields as the
  header, and at least one data row: an empty input must never replace stored rows with nothing.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Iterator

from metabase.errors import ImportFormatError

MAX_LINE_BYTES = 1 << 20  # 1 MiB: far above any real export's longest line
_READ_ERRORS = (EOFError, zlib.error, OSError)  # a truncated or corrupt gzip stream


def open_binary(path: Path) -> BinaryIO:
    """``path`` (optionally ``.gz``) as bytes; a directory or an unreadable file is one line."""
    path = Path(path)
    if path.is_dir():
        raise ImportFormatError(path, "is a directory; expected a file")
    try:
        return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read: {exc.strerror or exc}") from None


def bounded_lines(path: Path, handle: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[str]:
    """The lines of ``handle`` as strict UTF-8 text (a leading byte-order mark skipped), each read
    with a bound so that one huge line is refused early, and decoded alone so that an error names
    its line."""
    number = 0
    while True:
        try:
            raw = handle.readline(max_bytes + 1)
        except _READ_ERRORS as exc:
            raise ImportFormatError(path, f"line {number + 1}: unreadable compressed file: "
                                          f"{str(exc).strip() or type(exc).__name__}") from None
        if not raw:
            return
        number += 1
        if len(raw) > max_bytes:
            raise ImportFormatError(path, f"line {number}: longer than {max_bytes:,} bytes "
                                          "(not a text file, or a line without its end)")
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFormatError(path, f"line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                                          "convert the file to UTF-8") from None
        if "\x00" in line:
            raise ImportFormatError(path, f"line {number}: holds a NUL byte (a binary file?)")
        yield line


@dataclass(frozen=True)
class CsvRows:
    """A CSV's header and data rows, all text; ``lines[i]`` is the file line row ``i`` ends on."""

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


def check_header(path: Path, names: list[str] | tuple[str, ...]) -> None:
    """Refuse empty and repeated column names (pandas would rename a repeat to ``X.1``)."""
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not str(name).strip():
            raise ImportFormatError(path, f"header column {position} has no name")
        if name in seen:
            raise ImportFormatError(path, f"header names column {name!r} twice")
        seen.add(name)


def read_csv(path: Path, *, what: str = "CSV") -> CsvRows:
    """Read a whole CSV strictly (see the module docstring); ``what`` names the format in errors."""
    path = Path(path)
    with open_binary(path) as handle:
        reader = csv.reader(bounded_lines(path, handle), strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise ImportFormatError(path, f"empty file; expected a {what} with a header and data rows")
            check_header(path, header)
            rows, lines = [], []
            for row in reader:
                if not row:  # a blank line
                    continue
                if len(row) != len(header):
                    raise ImportFormatError(path, f"line {reader.line_num}: {len(row)} fields, header has "
                                                  f"{len(header)} (expected {len(header)} fields per row)")
                rows.append(row)
                lines.append(reader.line_num)
        except csv.Error as exc:
            raise ImportFormatError(path, f"line {reader.line_num}: malformed {what}: {exc}") from None
    if not rows:
        raise ImportFormatError(path, "no data rows")
    return CsvRows(path, tuple(header), rows, lines)
