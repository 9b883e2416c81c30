"""Read a table from disk into ``(X, y)``: ARFF (dense and sparse), CSV, TSV (optionally gzipped), Parquet.

Nominal ARFF attributes become pandas ``Categorical`` columns with their *declared* categories, so
that a declared class without instances still counts (OpenML's ``NumberOfClasses`` and
``MinorityClassSize`` count declared values). Every failure is an :class:`InputError` with one line.
"""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from metabase.errors import InputError

_ATTR = re.compile(r"^@attribute\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)\s+(.+)$", re.IGNORECASE)


def load_table(path, target: str | None) -> tuple[pd.DataFrame, pd.Series | None]:
    """Read ``path`` and split off the ``target`` column (``None``: no target, ``y`` is None)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a data file")
    try:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty")
        frame = _read(path)
    except InputError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, EOFError) as exc:
        raise InputError(f"{path}: cannot read it as a data table ({type(exc).__name__}: {exc})".splitlines()[0])
    except Exception as exc:  # pyarrow and gzip raise their own types for corrupt files
        raise InputError(f"{path}: cannot read it as a data table ({type(exc).__name__})")
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise InputError(f"{path}: the file has no data rows")
    if target is None:
        return frame, None
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:8]))
        raise InputError(f"{path}: no column named {target!r} (columns: {shown}{', ...' if frame.shape[1] > 8 else ''})")
    return frame.drop(columns=[target]), frame[target]


def _read(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return pd.read_parquet(path)
    if name.endswith(".arff") or name.endswith(".arff.gz"):
        return read_arff(path)
    sep = "\t" if ".tsv" in name or ".tab" in name else ","
    try:
        return pd.read_csv(path, sep=sep, na_values=["?"], compression="infer")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty")


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1].replace("\\'", "'").replace('\\"', '"')
    return token


def _split_nominal(spec: str) -> list[str]:
    """Split ``{a, 'b c', "d,e"}`` into its values, honouring quotes."""
    inner = spec.strip()[1:-1]
    reader = pd.read_csv(io.StringIO(inner), header=None, quotechar="'", skipinitialspace=True,
                         dtype=str, keep_default_na=False, escapechar="\\")
    if reader.shape[0] == 0:
        return []
    return [_unquote(str(v)) for v in reader.iloc[0].tolist()]


def read_arff(path) -> pd.DataFrame:
    """A fast ARFF reader: header by hand, dense data through pandas' C parser, sparse by hand."""
    path = Path(path)
    names: list[str] = []
    kinds: list[object] = []  # "numeric", "string", "date" or a list of nominal values
    with _open_text(path) as fh:
        for line in fh:
            stripped = line.strip()
            if not stripped or stripped.startswith("%"):
                continue
            low = stripped.lower()
            if low.startswith("@relation"):
                continue
            if low.startswith("@attribute"):
                match = _ATTR.match(stripped)
                if not match:
                    raise InputError(f"{path}: malformed ARFF attribute line: {stripped[:80]}")
                names.append(_unquote(match.group(1)))
                spec = match.group(2).strip()
                if spec.startswith("{"):
                    kinds.append(_split_nominal(spec))
                else:
                    kind = spec.split()[0].lower()
                    kinds.append("numeric" if kind in ("numeric", "real", "integer") else kind)
                continue
            if low.startswith("@data"):
                break
            raise InputError(f"{path}: not an ARFF file (unexpected line {stripped[:60]!r})")
        else:
            raise InputError(f"{path}: not an ARFF file (no @data section)")
        body = fh.read()
    if not names:
        raise InputError(f"{path}: the ARFF header declares no attributes")
    lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("%")]
    if lines and lines[0].lstrip().startswith("{"):
        return _sparse_body(lines, names, kinds)
    numeric = {n: "float64" for n, k in zip(names, kinds) if k == "numeric"}
    options = dict(header=None, names=names, quotechar="'", escapechar="\\", skipinitialspace=True,
                   na_values=["?"], keep_default_na=False, skip_blank_lines=True)
    text = "\n".join(lines)
    try:  # numeric columns parsed as floats by the C parser: fast for wide files
        frame = pd.read_csv(io.StringIO(text), dtype={n: (numeric.get(n) or str) for n in names}, **options)
    except ValueError:  # a stray token in a numeric column: parse as text and coerce below
        frame = pd.read_csv(io.StringIO(text), dtype=str, **options)
    return _typed(frame, names, kinds)


def _sparse_body(lines: list[str], names: list[str], kinds: list[object]) -> pd.DataFrame:
    """Sparse rows ``{index value, ...}``; an absent entry is 0 (numeric) or the first declared
    value (nominal)."""
    is_numeric = np.array([k == "numeric" for k in kinds])
    matrix = np.zeros((len(lines), len(names)))
    other: dict[int, list] = {j: [k[0] if isinstance(k, list) and k else None] * len(lines)
                              for j, k in enumerate(kinds) if not is_numeric[j]}
    for i, line in enumerate(lines):
        inner = line.strip().strip("{}").strip()
        if not inner:
            continue
        for item in inner.split(","):
            index, _, value = item.strip().partition(" ")
            j, value = int(index), value.strip()
            if is_numeric[j]:
                matrix[i, j] = np.nan if value == "?" else float(value)
            else:
                other[j][i] = None if value == "?" else _unquote(value)
    frame = pd.DataFrame(matrix[:, is_numeric], columns=[n for n, num in zip(names, is_numeric) if num])
    extra = pd.DataFrame({names[j]: values for j, values in other.items()})
    frame = pd.concat([frame, extra], axis=1)[names] if len(extra.columns) else frame
    return _typed(frame, names, kinds)


def _typed(frame: pd.DataFrame, names: list[str], kinds: list[object]) -> pd.DataFrame:
    """Declared types: nominal -> Categorical with the declared categories, numeric -> float."""
    frame = frame.reset_index(drop=True)
    converted = {}
    for name, kind in zip(names, kinds):
        col = frame[name]
        if isinstance(kind, list):
            values = col.map(lambda v: v if isinstance(v, float) or v is None else _unquote(str(v)))
            values = values.where(values != "?", np.nan)
            converted[name] = pd.Categorical(values, categories=list(dict.fromkeys(kind)))
        elif kind == "numeric":
            if col.dtype != np.float64:  # already parsed as floats in the common case
                converted[name] = pd.to_numeric(col, errors="coerce").astype(float)
        else:
            converted[name] = col.astype(object).where(col.notna(), None)
    return frame.assign(**converted)[names] if converted else frame
