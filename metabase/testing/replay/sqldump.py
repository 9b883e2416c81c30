"""Read the OpenML server's seed database, which ships as MySQL ``INSERT`` dumps.

Only what the dumps use is supported: one or more ``INSERT INTO `t` (cols) VALUES (...), (...);``
statements per file, values that are quoted strings (backslash escapes), numbers or NULL.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_INSERT = re.compile(r"INSERT INTO `(\w+)` \(([^)]*)\) VALUES", re.I)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "Z": "\x1a"}


def _parse_values(text: str, pos: int) -> tuple[list[tuple], int]:
    """Parse ``(v, v), (v, v);`` starting at pos; return the rows and the position after ';'."""
    rows: list[tuple] = []
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == ";":
            return rows, pos + 1
        if ch != "(":
            pos += 1
            continue
        pos += 1
        row: list = []
        while True:
            while text[pos] in " \n\r\t":
                pos += 1
            ch = text[pos]
            if ch == "'":
                pos += 1
                buf = []
                while True:
                    c = text[pos]
                    if c == "\\":
                        nxt = text[pos + 1]
                        buf.append(_ESCAPES.get(nxt, nxt))
                        pos += 2
                    elif c == "'":
                        if pos + 1 < n and text[pos + 1] == "'":
                            buf.append("'")
                            pos += 2
                        else:
                            pos += 1
                            break
                    else:
                        buf.append(c)
                        pos += 1
                row.append("".join(buf))
            else:
                end = pos
                while text[end] not in ",)":
                    end += 1
                token = text[pos:end].strip()
                pos = end
                if token.upper() == "NULL":
                    row.append(None)
                else:
                    row.append(_number(token))
            while text[pos] in " \n\r\t":
                pos += 1
            if text[pos] == ",":
                pos += 1
                continue
            if text[pos] == ")":
                pos += 1
                break
        rows.append(tuple(row))
    return rows, pos


def _number(token: str):
    try:
        return int(token)
    except ValueError:
        try:
            return float(token)
        except ValueError:
            return token  # an SQL expression (users.sql has MD5(...)); not needed by the server


@lru_cache(maxsize=64)
def read_table(path: Path) -> tuple[dict, ...]:
    """All rows of the INSERT statements in one dump file, as dicts keyed by column name."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    out: list[dict] = []
    pos = 0
    while True:
        m = _INSERT.search(text, pos)
        if not m:
            break
        cols = [c.strip().strip("`") for c in m.group(2).split(",")]
        rows, pos = _parse_values(text, m.end())
        out.extend(dict(zip(cols, r)) for r in rows)
    return tuple(out)
