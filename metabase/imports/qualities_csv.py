"""``metabase import qualities-csv FILE``: OpenML dataset qualities exported to one wide CSV.

The file (``qualities/openml_dataset_qualities_2872.csv``) has ``Id`` (an OpenML **dataset** id),
``Name`` (OpenML's name with the version in parentheses, ``credit-g (1)``), ``Runs``, then one
column per OpenML quality. Datasets go to ``datasets``; qualities go to ``dataset_qualities`` in
long form, one row per non-empty cell.

Decisions:
- **Source ``qualities-csv``, not ``openml``.** The values are OpenML's, but a 2019 snapshot of
  them. Under ``openml`` they would share a key with the qualities that ``metabase sync`` fetches
  live, so importing the file after a sync would silently overwrite current values with old ones
  (and a sync would erase the trace of the import). Under their own source both are kept, and the
  wide views still rank them above everything but live OpenML values (``SOURCE_RANK`` in
  ``metabase.store.views``), so analysts and recommenders see them where nothing fresher exists.
- **``Runs`` is dropped.** It counts the runs OpenML had on the dataset at export time: a fact
  about OpenML's activity, not about the data, and a meta-feature built from it would leak
  popularity into recommendations. The runs themselves come from ``sync`` and the run importers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from metabase.errors import ImportFormatError
from metabase.imports.base import ImportBatch, Importer, TableLoad

SOURCE = "qualities-csv"
KEY_COLUMNS = ("Id", "Name")
NOT_QUALITIES = ("Id", "Name", "Runs")


def _read(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype={"Name": "string"}, engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFormatError(path, f"not a readable CSV: {reason}") from None
    if tuple(frame.columns[:2]) != KEY_COLUMNS:
        raise ImportFormatError(path, f"wrong header: expected the first columns to be Id,Name, "
                                      f"got {','.join(map(str, frame.columns[:3]))}")
    qualities = [c for c in frame.columns if c not in NOT_QUALITIES]
    if not qualities:
        raise ImportFormatError(path, "no quality columns after Id,Name,Runs")
    ids = pd.to_numeric(frame["Id"], errors="coerce")
    if ids.isna().any() or not (ids == ids.round()).all():
        row = int((ids.isna() | (ids != ids.round())).to_numpy().argmax())
        raise ImportFormatError(path, f"data row {row + 1}: Id is not an integer dataset id")
    if ids.duplicated().any():
        raise ImportFormatError(path, f"dataset id {int(ids[ids.duplicated()].iloc[0])} occurs twice")
    frame["Id"] = ids.astype("int64")
    for column in qualities:
        if frame[column].dtype.kind not in "fiu":
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = values.isna() & frame[column].notna()
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise ImportFormatError(path, f"data row {row + 1}: {column} is not a number: "
                                              f"{frame[column].iloc[row]!r}")
            frame[column] = values
    return frame[["Id", "Name", *qualities]]


def _datasets(frame: pd.DataFrame) -> pd.DataFrame:
    # "credit-g (1)" -> name credit-g, version 1; a name without the suffix keeps version NULL
    parts = frame["Name"].str.extract(r"^(?P<name>.*?)\s*\((?P<version>\d+)\)$")
    name = parts["name"].fillna(frame["Name"]).astype("string")
    version = pd.to_numeric(parts["version"]).astype("Int32")
    return pd.DataFrame({"dataset_id": frame["Id"], "name": name, "version": version, "source": SOURCE})


def _long_qualities(frame: pd.DataFrame) -> pd.DataFrame:
    qualities = [c for c in frame.columns if c not in KEY_COLUMNS]
    values = frame[qualities].to_numpy(dtype="float64")
    rows, cols = np.nonzero(np.isfinite(values))
    return pd.DataFrame({
        "dataset_id": frame["Id"].to_numpy()[rows],
        "quality": pd.array(np.asarray(qualities, dtype=object)[cols], dtype="string"),
        "value": values[rows, cols],
        "source": SOURCE,
    })


class QualitiesCsvImporter(Importer):
    name = SOURCE
    description = "OpenML dataset qualities in one wide CSV (Id, Name, Runs, <quality>...)"
    expects = "file"

    def read(self, path: Path) -> ImportBatch:
        frame = _read(path)
        loads = (
            TableLoad("datasets", pa.Table.from_pandas(_datasets(frame), preserve_index=False)),
            # replace, not upsert: a re-import mirrors the file exactly, also where a cell became empty
            TableLoad("dataset_qualities", pa.Table.from_pandas(_long_qualities(frame), preserve_index=False),
                      mode="replace", by=("dataset_id", "source")),
        )
        return ImportBatch(source=SOURCE, loads=loads, path=path)
