"""Read a table from disk into ``(X, y)``: ARFF (dense and sparse), CSV, TSV (optionally gzipped),
Parquet.

Text files go through the strict shared readers of :mod:`metabase.formats`: a malformed row, a
value that does not fit its column, text that is not UTF-8 or an over-long line is refused with the
file, line and column, never turned into NaN or a shifted column. Nominal ARFF attributes become
pandas ``Categorical`` columns with their *declared* categories, so that a declared class without
instances still counts (OpenML's ``NumberOfClasses`` and ``MinorityClassSize`` count declared
values). Every failure is an :class:`InputError` with one line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from metabase.errors import InputError
from metabase.formats import arff
from metabase.formats.delimited import read_delimited


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
        raise InputError(
            f"{path}: cannot read it as a data table ({type(exc).__name__}: {exc})".splitlines()[0]
        )
    except Exception as exc:  # pyarrow and gzip raise their own types for corrupt files
        raise InputError(f"{path}: cannot read it as a data table ({type(exc).__name__})")
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise InputError(f"{path}: the file has no data rows")
    if target is None:
        return frame, None
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:8]))
        raise InputError(
            f"{path}: no column named {target!r} "
            f"(columns: {shown}{', ...' if frame.shape[1] > 8 else ''})"
        )
    return frame.drop(columns=[target]), frame[target]


def _read(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return pd.read_parquet(path)
    if name.endswith(".arff") or name.endswith(".arff.gz"):
        return read_arff(path)
    return read_delimited(path, sep="\t" if ".tsv" in name or ".tab" in name else ",")


def read_arff(path) -> pd.DataFrame:
    """An ARFF file (dense or sparse) read by the strict shared reader, nominal attributes as
    ``Categorical`` with their declared categories, strings and dates as text (None if missing).
    """
    header, data = arff.read_arff(Path(path))
    columns = {}
    for attribute in header.attributes:
        column = data[attribute.name]
        if attribute.kind == "numeric":
            continue
        values = column.astype(object).where(column.notna(), None)
        if attribute.kind == "nominal":
            values = pd.Categorical(values, categories=list(attribute.values))
        columns[attribute.name] = values
    return data.assign(**columns) if columns else data
