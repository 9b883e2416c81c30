"""Lines of a text data file, read strictly.

Every text reader of outside data goes through :func:`numbered_lines`, so the same rules hold for
all of them:

- the text must be UTF-8 (ARFF and CSV declare no encoding); a leading byte-order mark is dropped.
  Text is never decoded "with replacement": two distinct latin-1 categories would merge into one;
- a NUL byte means binary data (or UTF-16), not text;
- a line holds at most :data:`MAX_LINE_BYTES` bytes. A longer line is refused as soon as that many
  bytes are read, so a file without line breaks fails at once instead of being parsed whole;
- a ``.gz`` file is decompressed on the fly; a corrupt or truncated stream is an error.

Errors are :class:`~metabase.errors.DataFormatError`: one line naming the file, line and column.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

from metabase.errors import DataFormatError

#: The longest line a data file may hold, in bytes (without the line break): 8 MiB. The widest
#: real OpenML data here has lines of a few kilobytes; a longer line is a sign of a broken file.
MAX_LINE_BYTES = 8 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_BLOCK_BYTES = 1 << 20


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes; a ``.gz`` file decompressed. A directory or an unreadable file is one
    line.
    """
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(path, "is a directory; expected a file")
    try:
        if path.name.lower().endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")
    except OSError as exc:
        raise DataFormatError(path, f"cannot read: {exc.strerror or exc}") from None


def lines_of(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[str]:
    """The text of every line, as :func:`numbered_lines` (faster, for a consumer that counts)."""
    path = Path(path)
    number = 0
    for block in _blocks(path, max_line_bytes):
        parts = _check(block, path, number + 1, max_line_bytes).split("\n")
        number += len(parts) - 1
        last = parts.pop()
        yield from [text + "\n" for text in parts]
        if last:
            yield last


def numbered_lines(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    r"""``(line number, text)`` of every line, 1-based, each ending with its line break (``\n``)
    except perhaps the last. The file is read and checked a block of lines at a time.
    """
    path = Path(path)
    number = 0
    for block in _blocks(path, max_line_bytes):
        parts = _check(block, path, number + 1, max_line_bytes).split("\n")
        last = parts.pop()  # "" when the block ends with a line break
        for text in parts:
            number += 1
            yield number, text + "\n"
        if last:
            number += 1
            yield number, last


def _blocks(path: Path, max_line_bytes: int) -> Iterator[bytes]:
    """The file's bytes in blocks that end at a line break (or the end of the file)."""
    pending = b""
    number = 1  # of the first line in ``pending``
    with open_binary(path) as handle:
        while True:
            chunk = _read(handle, path, number)
            if not chunk:
                break
            if number == 1 and not pending and chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            if cut == 0:
                if len(pending) > max_line_bytes:
                    raise _too_long(path, number, max_line_bytes)
                continue
            block, pending = pending[:cut], pending[cut:]
            if len(pending) > max_line_bytes:
                raise _too_long(path, number + block.count(b"\n"), max_line_bytes)
            yield block
            number += block.count(b"\n")
    if pending:
        yield pending


def _read(handle: BinaryIO, path: Path, number: int) -> bytes:
    try:
        return handle.read(_BLOCK_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFormatError(
            path, f"cannot decompress the file ({detail})", line=number
        ) from None


def _check(block: bytes, path: Path, first: int, max_line_bytes: int) -> str:
    """The block as text, or the error that names its first bad line."""
    lines = block.split(b"\n")
    if max(map(len, lines)) > max_line_bytes:
        longest = next(i for i, line in enumerate(lines) if len(line) > max_line_bytes)
        if len(lines[longest].rstrip(b"\r")) > max_line_bytes:
            raise _too_long(path, first + longest, max_line_bytes)
    nul = block.find(b"\x00")
    if nul >= 0:
        line, column = _position(block, nul)
        raise DataFormatError(
            path,
            "binary data (a NUL byte): not a UTF-8 text file",
            line=first + line,
            column=column,
        )
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(block, exc.start)
        raise DataFormatError(
            path,
            f"not valid UTF-8 (byte 0x{block[exc.start]:02x}); save the file as UTF-8",
            line=first + line,
            column=column,
        ) from None


def _too_long(path: Path, number: int, max_line_bytes: int) -> DataFormatError:
    return DataFormatError(
        path,
        f"the line is longer than {max_line_bytes:,} bytes (a data file with no line breaks?)",
        line=number,
    )


def _position(block: bytes, offset: int) -> tuple[int, int]:
    """(0-based line within ``block``, 1-based character column) of byte ``offset``."""
    start = block.rfind(b"\n", 0, offset) + 1
    column = len(block[start:offset].decode("utf-8", errors="replace")) + 1
    return block.count(b"\n", 0, offset), column
