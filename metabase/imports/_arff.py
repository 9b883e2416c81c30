"""The importers' ARFF reader: :mod:`metabase.formats.arff` with the importers' conventions.

The strict reader is shared with the data loaders of ``metabase features`` (see that module for
everything it refuses). Here, errors are :class:`ImportFormatError`, sparse rows are refused (no
importer reads them), and a non-finite number is passed through, left to each importer's policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pandas as pd

from metabase.errors import as_import_errors
from metabase.formats import arff
from metabase.formats.arff import ArffHeader, Attribute

_OPTIONS = {"sparse": False, "finite": False}


def read_header(path: Path) -> ArffHeader:
    """Parse everything up to ``@DATA``."""
    with as_import_errors():
        return arff.read_header(Path(path))


def iter_data(path: Path, header: ArffHeader, chunksize: int = 200_000) -> Iterator[pd.DataFrame]:
    """The data section as typed frames of at most ``chunksize`` rows (NUMERIC -> float64,
    everything else -> string; ``?`` -> missing).
    """
    with as_import_errors():
        yield from arff.iter_data(Path(path), header, chunksize, **_OPTIONS)


def read_data(path: Path, header: ArffHeader) -> pd.DataFrame:
    with as_import_errors():
        return arff.read_data(Path(path), header, **_OPTIONS)


def read_arff(path: Path) -> tuple[ArffHeader, pd.DataFrame]:
    """Header and typed data of a dense ARFF file."""
    with as_import_errors():
        return arff.read_arff(Path(path), **_OPTIONS)


__all__ = ["ArffHeader", "Attribute", "iter_data", "read_arff", "read_data", "read_header"]
