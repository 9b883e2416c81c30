"""Values of data files: text to numbers, fast and strictly; ids and finite numbers checked.

``float()`` mapped over a list is several times faster than ``pd.to_numeric`` on text, but it is
laxer than a data file's number syntax: it takes digit-group underscores (``1_000``) and non-ASCII
digits. Values with either are not numbers here, as pandas has it.

Ids are positive 64-bit integers and scores are finite, for every reader alike: a reader that lets
``inf`` or ``NaN`` through turns a recommender's predictions to null; one that casts ``3.5`` to 3
or wraps a 20-digit id to a negative one stores rows under someone else's id. The checks refuse
such values with one line naming the file, the row and the column; ``at(i)`` tells where row
``i`` is (``"line 12"``, ``"data row 3"``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from metabase.errors import DataFormatError


def floats(values: list[str]) -> np.ndarray | None:
    """Every value as float64, or None when some value is not a number (or is missing: None)."""
    try:
        text = "".join(values)
    except TypeError:  # a None among them
        return None
    if "_" in text or not text.isascii():
        return None
    try:
        return np.fromiter(map(float, values), dtype=np.float64, count=len(values))
    except ValueError:
        return None


def parse_numbers(values: list, missing: np.ndarray) -> tuple[np.ndarray, int | None]:
    """``(numbers, first_bad)``: the values as float64 (NaN where ``missing``), and the position of
    the first present value that is not a number (``None`` when every present value is one).
    """
    present = np.flatnonzero(~missing)
    out = np.full(len(values), np.nan)
    numbers = floats([values[i] for i in present])
    if numbers is not None:
        out[present] = numbers
        return out, None
    for i in present:  # find the culprit
        if floats([values[i]]) is None:
            return out, int(i)
        out[i] = float(values[i])
    return out, None


def integers(values: list[str], numbers: np.ndarray) -> np.ndarray | None:
    """The values (already parsed to ``numbers``) as int64 when each is written as an integer, as
    pandas reads such a column; else None.
    """
    text = "".join(values)
    if any(c in text for c in ".eEnNiI"):
        return None
    if len(numbers) and np.abs(numbers).max() < 2**53:  # exact in a float: no second parse
        return numbers.astype(np.int64)
    try:
        return np.fromiter(map(int, values), dtype=np.int64, count=len(values))
    except (ValueError, OverflowError):  # beyond int64: keep the floats
        return None


INT64_MAX = 2**63 - 1
_INTEGER_TEXT = re.compile(
    r"^\s*\+?(\d+)(?:\.0*)?\s*$"
)  # "12", "12.0" (pandas writes ids as floats)

Where = Callable[[int], str]


def data_row(i: int) -> str:
    return f"data row {i + 1}"


def _bad_id(path: Path, at: Where, i: int, column: str, value) -> DataFormatError:
    return DataFormatError(
        path, f"{at(i)}: {column} is not an id (a positive integer below 2^63): {value!r}"
    )


def positive_id(path: Path, column: str, value, at: str) -> int:
    """One id, from text or a number."""
    return int(positive_ids(path, column, [value], lambda _: at)[0])


def positive_ids(
    path: Path, column: str, values: Sequence | pd.Series | np.ndarray, at: Where = data_row
) -> np.ndarray:
    """``values`` as an int64 array; refuse empty, fractional, non-positive and too large ids."""
    series = pd.Series(values)
    kind = series.dtype.kind
    if kind in "iu" and not isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        array = series.to_numpy()
        bad = (array <= 0) | (array > INT64_MAX) if kind == "u" else array <= 0
        if bad.any():
            i = int(bad.argmax())
            raise _bad_id(path, at, i, column, array[i].item())
        return array.astype("int64")
    if kind == "f":  # NaN, inf, 3.5 and 1e19 are no ids
        array = series.to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            bad = (
                ~np.isfinite(array)
                | (array != np.floor(array))
                | (array <= 0)
                | (array >= 2.0**63)
            )
        if bad.any():
            i = int(bad.argmax())
            raise _bad_id(path, at, i, column, array[i].item())
        return array.astype("int64")
    out = np.empty(len(series), dtype="int64")
    for i, value in enumerate(series.tolist()):
        number = _as_int(value)
        if number is None or not 0 < number <= INT64_MAX:
            raise _bad_id(path, at, i, column, value)
        out[i] = number
    return out


def _as_int(value) -> int | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if math.isfinite(value) and float(value).is_integer() else None
    match = _INTEGER_TEXT.match(str(value))
    return int(match.group(1)) if match else None


def finite_numbers(
    path: Path,
    column: str,
    values: Sequence | pd.Series | np.ndarray,
    at: Where = data_row,
    *,
    missing: Sequence[str] = ("",),
) -> np.ndarray:
    """``values`` (text or numbers) as float64; ``missing`` texts and None become NaN.

    Refused: text that is not a number, and numbers that are not finite (``inf``, ``-inf``,
    ``nan`` written out, ``1e999``): stored, they make every model trained on them predict null.
    """
    if isinstance(values, (list, tuple)):
        fast = _plain_floats(np.asarray(values, dtype=object), missing)
        if fast is not None:
            return fast
    series = pd.Series(values)
    if series.dtype.kind in "fiu" and not isinstance(
        series.dtype, pd.api.extensions.ExtensionDtype
    ):
        numbers = series.to_numpy(dtype="float64")
        check_finite(path, column, numbers, at, allow_nan=True)
        return numbers
    text = series.astype("string")
    stripped = text.str.strip()
    is_missing = text.isna() | stripped.isin(list(missing))
    numbers = pd.to_numeric(stripped.where(~is_missing), errors="coerce").to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(numbers) & ~is_missing.to_numpy()
    if bad.any():
        i = int(bad.argmax())
        what = "is not finite" if _is_float(stripped.iloc[i]) else "is not a number"
        raise DataFormatError(path, f"{at(i)}: {column} {what}: {text.iloc[i]!r}")
    return numbers


def _plain_floats(text: np.ndarray, missing: Sequence[str]) -> np.ndarray | None:
    """The common case fast: texts that all parse as finite numbers or are missing markers.
    None sends the caller to the slow path, which says what is wrong.
    """
    is_missing = np.isin(text, list(missing))
    try:
        joined = "".join(text)
        numbers = np.where(is_missing, "nan", text).astype("float64")
    except (TypeError, ValueError):
        return None
    if (
        "_" in joined or not joined.isascii()
    ):  # "1_000", "\u0663": float() reads them, numbers they are not
        return None
    if (~np.isfinite(numbers) & ~is_missing).any():
        return None
    return numbers


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_finite(
    path: Path, column: str, numbers: np.ndarray, at: Where = data_row, *, allow_nan: bool = True
) -> None:
    """Refuse ``inf``/``-inf`` (and NaN unless ``allow_nan``: NaN is how a frame says missing)."""
    numbers = np.asarray(numbers, dtype="float64")
    bad = np.isinf(numbers) if allow_nan else ~np.isfinite(numbers)
    if bad.any():
        i = int(bad.argmax())
        raise DataFormatError(path, f"{at(i)}: {column} is not finite: {float(numbers[i])}")
