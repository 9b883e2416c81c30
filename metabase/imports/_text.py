"""The one strict way the importers read text: UTF-8, bounded lines, rectangular CSV.

Every importer that reads CSV or other text from outside goes through here, so the rules hold for
all of them alike (the ARFF reader, :mod:`metabase.imports._arff`, applies the same ones to ARFF):

- text is UTF-8 (a byte-order mark is skipped), never decoded "with replacement": a Latin-1 file
  would otherwise overwrite stored names with U+FFFD;
- a line longer than :data:`MAX_LINE_CHARS` is refused (a binary file, a missing newline), instead
  of being read into memory whole;
- a CSV has a header of distinct, non-empty names, every row has exactly as many fields as the
  header, and at least one data row: an empty input must never replace stored rows with nothing.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TextIO

from metabase.errors import ImportFormatError

MAX_LINE_CHARS = 1 << 20  # 1 Mi characters: far above any real export's longest line


def open_text(path: Path) -> TextIO:
    """``path`` (optionally ``.gz``) as strict UTF-8 text; a leading byte-order mark is skipped."""
    path = Path(path)
    if path.is_dir():
        raise ImportFormatError(path, "is a directory; expected a file")
    try:
        if path.name.endswith(".gz"):
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="strict", newline="")
        return open(path, encoding="utf-8-sig", errors="strict", newline="")
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read: {exc.strerror or exc}") from None


def decode_error(path: Path, exc: Exception, line: int | None = None) -> ImportFormatError:
    """The one-line error for text that is not UTF-8 (or a gzip stream that is broken)."""
    where = f"line {line}: " if line else ""
    if isinstance(exc, UnicodeDecodeError):
        return ImportFormatError(path, f"{where}not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                                       "convert the file to UTF-8")
    return ImportFormatError(path, f"{where}unreadable compressed file: {str(exc).strip() or type(exc).__name__}")


_READ_ERRORS = (UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile)


def bounded_lines(path: Path, handle: TextIO, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of ``handle``, each read with a bound so that one huge line is refused early."""
    number = 0
    while True:
        try:
            line = handle.readline(max_chars + 1)
        except _READ_ERRORS as exc:
            raise decode_error(path, exc, number + 1) from None
        if not line:
            return
        number += 1
        if len(line) > max_chars:
            raise ImportFormatError(path, f"line {number}: longer than {max_chars:,} characters "
                                          "(not a text file, or a line without its end)")
        yield line


@dataclass(frozen=True)
class CsvRows:
    """A CSV's header and data rows, all text; ``lines[i]`` is the file line row ``i`` ends on."""

    path: Path
    header: tuple[str, ...]
    rows: list[list[str]]
    lines: list[int]

    def column(self, name: str) -> list[str]:
        i = self.header.index(name)
        return [row[i] for row in self.rows]

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
    with open_text(path) as handle:
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
