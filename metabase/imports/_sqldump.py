"""A streaming reader of MySQL dumps (``mysqldump`` / phpMyAdmin ``INSERT INTO ... VALUES``).

The OpenML nightly database snapshot is tens of GB, so nothing here holds a file: the text is read
in chunks into a small buffer and consumed token by token with anchored regular expressions.
A token that is cut by the end of the buffer simply fails to match; the reader then appends the
next chunk and tries again, so only that one token is ever rescanned. Memory is bounded by the
chunk size plus the longest single value (and the rows of one batch).

What it understands:

- ``INSERT [IGNORE] INTO `t` (`a`, `b`) VALUES (...), (...);`` and ``REPLACE INTO``; without a
  column list the columns come from the file's ``CREATE TABLE `t` (...)`` (as mysqldump writes);
- values: ``NULL``, numbers, 'strings' with MySQL's backslash escapes and doubled quotes,
  "double-quoted" strings, ``0x`` hex and ``_binary '...'`` literals; values may span lines;
- ``-- ``, ``#`` and ``/* */`` comments and any other statement (skipped, quote-aware).

Rows of unwanted tables are skipped without building values. Malformed or truncated input
raises :class:`DumpError` with the line number.
"""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from pathlib import Path
from typing import Iterable, Iterator

CHUNK_SIZE = 1 << 20
MAX_TOKEN = 64 << 20  # a longer value is taken for a malformed one (an unclosed quote)

_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_ESCAPE_RE = re.compile(r"\\(.)|''|\"\"", re.S)

_SQ = r"'((?:[^'\\]++|\\.|'')*+)'"
_DQ = r'"((?:[^"\\]++|\\.|"")*+)"'
# One value followed by its separator. Every alternative needs the separator, so a value cut by
# the end of the buffer never matches early. A function call (``MD5('x')``, ``NOW()``) is kept
# as its text, as is a bare word (``TRUE``, ``CURRENT_TIMESTAMP``): the dump does not say what
# they evaluate to.
_VALUE = re.compile(
    r"\s*+(?:"
    + _SQ.replace("(", "(?P<s>", 1)
    + r"|(?P<null>NULL)\b|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|0[xX](?P<hex>[0-9A-Fa-f]*)|_binary\s*+"
    + _SQ.replace("(", "(?P<bin>", 1)
    + "|"
    + _DQ.replace("(", "(?P<dq>", 1)
    + r"|(?P<call>[A-Za-z_]\w*+\s*+\((?:[^()']++|'(?:[^'\\]++|\\.|'')*+')*+\))"
    r"|(?P<word>[A-Za-z_]\w*+))\s*+[,)]",
    re.S | re.I,
)
_ROW_START = re.compile(r"\s*+\(")
_AFTER_ROW = re.compile(r"\s*+([,;])")
_SPACE = re.compile(r"\s++")
_LINE_COMMENT = re.compile(r"(?:--(?=\s)|#)[^\n]*+(?:\n|\Z)")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
# Pieces of any statement, for skipping: runs of plain text, quoted strings, identifiers.
_SKIP_PIECES = re.compile(
    r"(?:[^;'\"`]++|'(?:[^'\\]++|\\.|'')*+'|\"(?:[^\"\\]++|\\.|\"\")*+\"|`[^`]*+`)*+"
)
_INSERT = re.compile(
    r"(?:INSERT|REPLACE)\s++(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s++)*+(?:INTO\s++)?"
    r"(?:`[^`]*+`\.)?`?([A-Za-z0-9_$]+)`?\s*+(?:\(([^)]*+)\)\s*+)?VALUES?\s*+",
    re.I,
)
_CREATE = re.compile(
    r"CREATE\s++TABLE\s++(?:IF\s++NOT\s++EXISTS\s++)?(?:`[^`]*+`\.)?`?([A-Za-z0-9_$]+)`?", re.I
)
_COLUMN_DEF = re.compile(r"^\s*`([^`]+)`\s", re.M)


class DumpError(ValueError):
    """The dump is malformed or truncated; the message says where."""


def unescape(text: str) -> str:
    if "\\" not in text and "''" not in text and '""' not in text:
        return text

    def repl(m: re.Match) -> str:
        if m.group(1) is None:
            return m.group(0)[0]
        c = m.group(1)
        if c in "%_":  # MySQL keeps the backslash of \% and \_
            return "\\" + c
        return _ESCAPES.get(c, c)

    return _ESCAPE_RE.sub(repl, text)


def _number(text: str) -> int | float:
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def _convert(m: re.Match):
    """The value of a ``_VALUE`` match; ``lastindex`` names the alternative that matched."""
    kind = m.lastindex
    if kind == 1 or kind == 5 or kind == 6:  # 'string', _binary 'string', "string"
        return unescape(m.group(kind))
    if kind == 3:
        return _number(m.group(3))
    if kind == 2:
        return None
    if kind == 4:
        return bytes.fromhex(m.group(4)).decode("utf-8")  # not text: UnicodeDecodeError, see _rows
    return m.group(kind)  # a function call or a bare word, as text


# MySQL character sets a dump may declare (``SET NAMES x``) -> Python codecs. MySQL's "latin1" is
# Windows-1252. Without a declaration a dump is UTF-8, as mysqldump writes by default.
_CHARSETS = {
    "utf8": "utf-8-sig",
    "utf8mb3": "utf-8-sig",
    "utf8mb4": "utf-8-sig",
    "latin1": "cp1252",
    "ascii": "ascii",
    "binary": "utf-8-sig",
}
_SET_NAMES = re.compile(rb"SET\s+NAMES\s+'?([A-Za-z0-9_]+)", re.I)
_SNIFF_BYTES = 1 << 16
_GZIP_ERRORS = (OSError, EOFError, zlib.error)


def _open_binary(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def declared_encoding(path: Path) -> str:
    """The codec of the character set the dump declares near its start (UTF-8 when none).

    Text is never decoded "with replacement": a Latin-1 dump read as UTF-8 would overwrite stored
    names with U+FFFD, so undeclared bytes that are not UTF-8 are refused instead.
    """
    try:
        with _open_binary(path) as handle:
            head = handle.read(_SNIFF_BYTES)
    except _GZIP_ERRORS as exc:
        raise DumpError(f"unreadable compressed dump: {exc}") from None
    match = _SET_NAMES.search(head)
    if match is None:
        return "utf-8-sig"
    name = match.group(1).decode("ascii").lower()
    if name not in _CHARSETS:
        raise DumpError(
            f"the dump declares character set {name!r}, which this reader does not know "
            f"(known: {', '.join(sorted(_CHARSETS))})"
        )
    return _CHARSETS[name]


class DumpReader:
    """Iterate over the rows of a MySQL dump, table by table, in batches."""

    def __init__(self, path: str | Path, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.columns: dict[str, list[str]] = {}  # from CREATE TABLE, for column-less INSERTs
        self.seen: dict[str, int] = {}  # INSERT statements per table met so far, kept or skipped

    # -- buffer ------------------------------------------------------------------------------
    def _fill(self) -> bool:
        """Append a chunk to the buffer (dropping what is consumed). False at end of file."""
        if self._eof:
            return False
        if self._pos > 0:
            self._line += self._buf.count("\n", 0, self._pos)
            self._buf = self._buf[self._pos :]
            self._pos = 0
        try:
            raw = self._file.read(self.chunk_size)
            chunk = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            line = self._line + self._buf.count("\n") + raw[: exc.start].count(b"\n") + 1
            raise DumpError(
                f"line {line}: not {self._encoding.removesuffix('-sig')} text "
                f"(byte 0x{exc.object[exc.start]:02x}); convert the dump to UTF-8 or "
                "declare its character set with SET NAMES"
            ) from None
        except _GZIP_ERRORS as exc:
            raise DumpError(f"unreadable compressed dump: {exc}") from None
        if not raw:  # (a strict decoder has nothing left to give at the end)
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _match(self, pattern: re.Pattern) -> re.Match | None:
        """Match ``pattern`` at the cursor, reading more while the buffer may cut the token."""
        while True:
            m = pattern.match(self._buf, self._pos)
            if m is not None and (m.end() < len(self._buf) or self._eof):
                return m
            if m is None and self._eof:
                return None
            if len(self._buf) - self._pos > MAX_TOKEN:
                raise self._fail(f"a token longer than {MAX_TOKEN >> 20} MB (an unclosed quote?)")
            if not self._fill():
                if m is not None:
                    return m
                return pattern.match(self._buf, self._pos)

    def _where(self) -> str:
        return f"line {self._line + self._buf.count(chr(10), 0, self._pos) + 1}"

    def _fail(self, what: str) -> DumpError:
        rest = self._buf[self._pos :]
        if self._eof and ";" not in rest:  # the file stops inside a statement: truncated
            return DumpError(f"{self._where()}: unexpected end of file {what} (truncated?)")
        snippet = self._buf[self._pos : self._pos + 40].replace("\n", " ")
        return DumpError(f"{self._where()}: {what}, found {snippet!r}")

    # -- statements --------------------------------------------------------------------------
    def _skip_statement(self, *, insert: bool = False) -> str:
        """Consume up to and including the next ``;`` outside quotes; return the text (capped).

        One possessive regex eats every complete piece (plain runs, quoted strings, identifiers)
        in the buffer at once; it stops at the ``;`` or before a quote the buffer cuts.
        """
        head: list[str] = []
        size = 0
        tail = ""
        while True:
            m = _SKIP_PIECES.match(self._buf, self._pos)
            tail = (tail + m.group(0)[-64:])[-64:]
            if size < 1 << 20:  # keep the start: CREATE TABLE needs it, nothing needs more
                head.append(m.group(0))
                size += len(m.group(0))
            self._pos = m.end()
            if self._pos < len(self._buf) and self._buf[self._pos] == ";":
                self._pos += 1
                return "".join(head)
            if len(self._buf) - self._pos > MAX_TOKEN:
                raise self._fail(f"a token longer than {MAX_TOKEN >> 20} MB (an unclosed quote?)")
            if not self._fill():
                if self._pos < len(self._buf):
                    raise self._fail("in an unterminated quoted string")
                if insert and tail.rstrip().endswith(")"):
                    return "".join(head)  # a last INSERT without ';', as in _rows
                raise self._fail("inside a statement (no closing ';')")

    def _skip_blank(self) -> bool:
        """Skip whitespace and comments. False at end of file."""
        while True:
            if self._pos >= len(self._buf) and not self._fill():
                return False
            m = _SPACE.match(self._buf, self._pos)
            if m:
                self._pos = m.end()
                continue
            rest = self._buf[self._pos : self._pos + 2]
            if len(rest) < 2 and not self._eof:
                self._fill()
                continue
            if rest.startswith("#") or rest == "--":
                m = self._match(_LINE_COMMENT)
                if m is not None:
                    self._pos = m.end()
                    continue
            if rest == "/*":
                m = self._match(_BLOCK_COMMENT)
                if m is None:
                    raise self._fail("in an unterminated /* comment")
                self._pos = m.end()
                continue
            return True

    def _insert_header(self) -> re.Match | None:
        while len(self._buf) - self._pos < 8192 and self._fill():
            pass
        return _INSERT.match(self._buf, self._pos)

    def _rows(self, table: str, columns: list[str], batch_rows: int):
        """Parse the tuples of one INSERT; yield lists of rows."""
        rows: list[tuple] = []
        width = len(columns)
        while True:
            m = self._match(_ROW_START)
            if m is None:
                raise self._fail(f"in INSERT INTO `{table}`: expected '('")
            self._pos = m.end()
            values = []
            while True:
                m = _VALUE.match(self._buf, self._pos)  # fast path: the value is in the buffer
                if m is None or m.end() >= len(self._buf):
                    m = self._match(_VALUE)
                    if m is None:
                        raise self._fail(f"in INSERT INTO `{table}`: expected a value")
                try:
                    value = _convert(m)
                except UnicodeDecodeError:
                    raise self._fail(
                        f"in INSERT INTO `{table}`: a hex value that is not UTF-8 text"
                    ) from None
                self._pos = end = m.end()
                values.append(value)
                if self._buf[end - 1] == ")":
                    break
            if len(values) != width:
                raise DumpError(
                    f"{self._where()}: INSERT INTO `{table}` has a row of {len(values)} values "
                    f"for {width} columns"
                )
            rows.append(tuple(values))
            if len(rows) >= batch_rows:
                yield rows
                rows = []
            m = self._match(_AFTER_ROW)
            if m is None and self._eof and not self._buf[self._pos :].strip():
                break  # the last statement of a file may lack its ';' (the mysql client runs it)
            if m is None:
                raise self._fail(f"in INSERT INTO `{table}`: expected ',' or ';' after a row")
            self._pos = m.end()
            if m.group(1) == ";":
                break
        if rows:
            yield rows

    def batches(
        self, tables: Iterable[str] | None = None, batch_rows: int = 10_000
    ) -> Iterator[tuple[str, list[str], list[tuple]]]:
        """Yield ``(table, columns, rows)`` for the wanted tables (all when ``tables`` is None)."""
        wanted = None if tables is None else set(tables)
        self._encoding = declared_encoding(self.path)
        self._decoder = codecs.getincrementaldecoder(self._encoding)("strict")
        with _open_binary(self.path) as self._file:
            self._buf, self._pos, self._line, self._eof = "", 0, 0, False
            while self._skip_blank():
                header = self._insert_header()
                if header is None:
                    text = self._skip_statement()
                    create = _CREATE.match(text)
                    if create:
                        self.columns[create.group(1)] = _COLUMN_DEF.findall(text)
                    continue
                table = header.group(1)
                if header.group(2) is not None:
                    columns = [c.strip().strip("`").strip() for c in header.group(2).split(",")]
                elif table in self.columns:
                    columns = self.columns[table]
                else:
                    raise self._fail(
                        f"INSERT INTO `{table}` without a column list or CREATE TABLE"
                    )
                self._pos = header.end()
                self.seen[table] = self.seen.get(table, 0) + 1
                if wanted is not None and table not in wanted:
                    self._skip_statement(
                        insert=True
                    )  # not parsed into values: fast over huge tables
                    continue
                for rows in self._rows(table, columns, batch_rows):
                    yield table, columns, rows


def read_tables(
    path: str | Path, tables: Iterable[str], **kw
) -> dict[str, tuple[list[str], list[tuple]]]:
    """All rows of the wanted (small) tables of one dump: ``table -> (columns, rows)``."""
    found: dict[str, tuple[list[str], list[tuple]]] = {}
    for table, columns, rows in DumpReader(path, **kw).batches(tables):
        if table in found and found[table][0] != columns:
            raise DumpError(f"table `{table}` is inserted with different column lists")
        found.setdefault(table, (columns, []))[1].extend(rows)
    return found
