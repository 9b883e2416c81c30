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
from metabase.formats.delimited import read_rows
from metabase.formats.numbers import finite_numbers, positive_ids
from metabase.imports.base import ImportBatch, Importer, TableLoad

SOURCE = "qualities-csv"
KEY_COLUMNS = ("Id", "Name")
NOT_QUALITIES = ("Id", "Name", "Runs")


def _read(path: Path) -> pd.DataFrame:
    table = read_rows(
        path
    )  # strict: UTF-8, distinct header names, every row as long as the header
    if table.header[:2] != KEY_COLUMNS:
        raise ImportFormatError(
            path,
            f"wrong header: expected the first columns to be Id,Name, "
            f"got {','.join(table.header[:3])}",
        )
    qualities = [c for c in table.header if c not in NOT_QUALITIES]
    if not qualities:
        raise ImportFormatError(path, "no quality columns after Id,Name,Runs")
    ids = positive_ids(path, "Id", table.column("Id"), table.at)
    duplicated = pd.Series(ids).duplicated()
    if duplicated.any():
        i = int(duplicated.to_numpy().argmax())
        raise ImportFormatError(path, f"{table.at(i)}: dataset id {ids[i]} occurs twice")
    columns = {
        "Id": ids,
        "Name": pd.array([n or None for n in table.column("Name")], dtype="string"),
    }
    for quality in qualities:
        columns[quality] = finite_numbers(path, quality, table.column(quality), table.at)
    return pd.DataFrame(columns)


def _datasets(frame: pd.DataFrame) -> pd.DataFrame:
    # "credit-g (1)" -> name credit-g, version 1; a name without the suffix keeps version NULL
    parts = frame["Name"].str.extract(r"^(?P<name>.*?)\s*\((?P<version>\d+)\)$")
    name = parts["name"].fillna(frame["Name"]).astype("string")
    version = pd.to_numeric(parts["version"]).astype("Int32")
    return pd.DataFrame(
        {"dataset_id": frame["Id"], "name": name, "version": version, "source": SOURCE}
    )


def _long_qualities(frame: pd.DataFrame) -> pd.DataFrame:
    qualities = [c for c in frame.columns if c not in KEY_COLUMNS]
    values = frame[qualities].to_numpy(dtype="float64")
    rows, cols = np.nonzero(np.isfinite(values))
    return pd.DataFrame(
        {
            "dataset_id": frame["Id"].to_numpy()[rows],
            "quality": pd.array(np.asarray(qualities, dtype=object)[cols], dtype="string"),
            "value": values[rows, cols],
            "source": SOURCE,
        }
    )


class QualitiesCsvImporter(Importer):
    name = SOURCE
    description = "OpenML dataset qualities in one wide CSV (Id, Name, Runs, <quality>...)"
    expects = "file"

    def read(self, path: Path) -> ImportBatch:
        frame = _read(path)
        loads = (
            TableLoad("datasets", pa.Table.from_pandas(_datasets(frame), preserve_index=False)),
            # replace, not upsert: a re-import mirrors the file exactly, also where a cell became
            # empty
            TableLoad(
                "dataset_qualities",
                pa.Table.from_pandas(_long_qualities(frame), preserve_index=False),
                mode="replace",
                by=("dataset_id", "source"),
            ),
        )
        return ImportBatch(source=SOURCE, loads=loads, path=path)
