"""The bad-input contract every reader of outside data passes.

From one clean input (a real export), :func:`text_variants` makes the damaged files real users
feed a reader: truncated, empty, header only, wrong encoding, a byte-order mark, ragged rows, an
over-long line, non-finite numbers, ids out of range, negative or fractional, a repeated header
or row, binary garbage. The contract: for each variant the reader either **refuses** it with one
line (a :class:`~metabase.errors.MetabaseError`, exit code 1, the store unchanged) or gives
**exactly the rows** the clean input gives. Silent garbage (a NaN, a wrapped id, a shifted column)
is the one outcome never allowed.

:func:`check_variant` applies the contract to one outcome; the tests run it over every reader.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Longer than any legitimate line of the readers' inputs, so refusing it must be cheap.
LONG_LINE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Variant:
    """A damaged copy of a clean input: its name and its bytes; ``file`` names which file of a
    multi-file input (a meta-dataset's ``runs.parquet``) the bytes replace, ``""`` for the only
    one.
    """

    name: str
    data: bytes
    file: str = ""


@dataclass(frozen=True)
class Layout:
    """Where a text input's rows are: the header lines, the data lines, the field separator.

    ``numeric`` and ``ids`` are data columns (0-based) holding finite numbers and positive
    integer ids; the non-finite and bad-id variants damage one cell of each.
    """

    header: list[str]
    rows: list[str]
    delimiter: str = ","
    numeric: Sequence[int] = ()
    ids: Sequence[int] = ()


def csv_layout(
    text: str, *, numeric: Sequence[str] = (), ids: Sequence[str] = (), delimiter: str = ","
) -> Layout:
    """The layout of a CSV file with one header line; columns are named as the header
    names them.
    """
    lines = text.splitlines()
    names = next(csv.reader([lines[0]], delimiter=delimiter))
    return Layout(
        header=lines[:1],
        rows=[line for line in lines[1:] if line.strip()],
        delimiter=delimiter,
        numeric=[names.index(n) for n in numeric],
        ids=[names.index(n) for n in ids],
    )


def arff_layout(text: str, *, numeric: Sequence[str] = (), ids: Sequence[str] = ()) -> Layout:
    """The layout of an ARFF file: everything up to ``@DATA`` is the header."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().lower().startswith("@data"))
    names = [
        line.split()[1].strip("'\"")
        for line in lines[:at]
        if line.strip().lower().startswith("@attribute")
    ]
    rows = [line for line in lines[at + 1 :] if line.strip() and not line.lstrip().startswith("%")]
    return Layout(
        header=lines[: at + 1],
        rows=rows,
        numeric=[names.index(n) for n in numeric],
        ids=[names.index(n) for n in ids],
    )


def _join(header: Sequence[str], rows: Sequence[str]) -> bytes:
    return ("\n".join([*header, *rows]) + "\n").encode("utf-8")


def _fields(layout: Layout, row: str) -> list[str]:
    return next(csv.reader([row], delimiter=layout.delimiter))


def _with_cell(layout: Layout, row_index: int, column: int, value: str) -> bytes:
    rows = list(layout.rows)
    fields = _fields(layout, rows[row_index])
    fields[column] = value
    rows[row_index] = layout.delimiter.join(fields)
    return _join(layout.header, rows)


def _repeat_header(layout: Layout) -> list[str]:
    """The header with its second column named as its first (CSV) or attribute (ARFF)."""
    header = list(layout.header)
    attributes = [
        i for i, line in enumerate(header) if line.strip().lower().startswith("@attribute")
    ]
    if len(attributes) >= 2:
        first = header[attributes[0]].split()[1]
        parts = header[attributes[1]].split(None, 2)
        header[attributes[1]] = " ".join([parts[0], first, *parts[2:]])
        return header
    names = _fields(layout, header[0])
    names[1] = names[0]
    header[0] = layout.delimiter.join(names)
    return header


def text_variants(layout: Layout, seed: int = 0) -> Iterator[Variant]:
    """Every damaged variant of a text input (CSV or ARFF)."""
    rng = random.Random(seed)
    rows, header, sep = layout.rows, layout.header, layout.delimiter
    middle = len(rows) // 2
    clean = _join(header, rows)
    yield Variant("empty", b"")
    yield Variant("header-only", _join(header, []))
    cut = len(_join(header, rows[:middle])) + max(1, len(rows[middle]) // 2)
    yield Variant("truncated-mid-row", clean[:cut])
    yield Variant("byte-order-mark", b"\xef\xbb\xbf" + clean)
    yield Variant(
        "latin-1-byte", clean.replace(b"\n", b"\n\xe9", 1) if b"\n" in clean else b"\xe9" + clean
    )
    yield Variant("crlf-line-ends", clean.replace(b"\n", b"\r\n"))
    short = rows[:middle] + [sep.join(_fields(layout, rows[middle])[:-1])] + rows[middle + 1 :]
    yield Variant("row-with-a-field-too-few", _join(header, short))
    long = rows[:middle] + [rows[middle] + sep + rows[middle].split(sep)[-1]] + rows[middle + 1 :]
    yield Variant("row-with-a-field-too-many", _join(header, long))
    yield Variant(
        "over-long-line", _join(header, [*rows[:middle], "9" * LONG_LINE_BYTES, *rows[middle:]])
    )
    yield Variant("repeated-header-name", _join(_repeat_header(layout), rows))
    yield Variant("repeated-row", _join(header, [*rows, rows[middle]]))
    for column in layout.numeric:
        for text in ("inf", "-inf", "NaN", "1e999"):
            yield Variant(
                f"non-finite-{text}-in-column-{column}", _with_cell(layout, middle, column, text)
            )
        yield Variant(
            f"text-in-numeric-column-{column}", _with_cell(layout, middle, column, "abc0.96")
        )
    for column in layout.ids:
        for text in ("-5", "0", "3.5", "99999999999999999999"):
            yield Variant(
                f"bad-id-{text}-in-column-{column}", _with_cell(layout, middle, column, text)
            )
    yield Variant("binary-garbage", bytes(rng.randrange(256) for _ in range(4096)))


def parquet_variants(runs, tasks, seed: int = 0) -> Iterator[Variant]:
    """Every damaged variant of a meta-dataset (``runs`` and ``tasks`` frames in the interchange
    format, see the README) that a Parquet file can hold: the text variants that remain
    (truncated, empty, binary garbage, non-finite numbers, bad ids, repeated rows) and Parquet's
    own (a NaN inside a config's JSON, a list column, a column of the wrong type).
    """
    import numpy as np
    import pandas as pd

    def parquet(frame: pd.DataFrame) -> bytes:
        out = io.BytesIO()
        frame.to_parquet(out, index=False)
        return out.getvalue()

    def cell(frame: pd.DataFrame, column: str, value, dtype=None) -> pd.DataFrame:
        frame = frame.astype({column: dtype}) if dtype else frame.copy()
        frame.loc[len(frame) // 2, column] = value
        return frame

    rng = random.Random(seed)
    clean = parquet(runs)
    yield Variant("runs-empty-file", b"", "runs.parquet")
    yield Variant("runs-no-rows", parquet(runs.iloc[:0]), "runs.parquet")
    yield Variant("runs-truncated", clean[: len(clean) // 2], "runs.parquet")
    yield Variant(
        "runs-binary-garbage", bytes(rng.randrange(256) for _ in range(4096)), "runs.parquet"
    )
    yield Variant("tasks-truncated", parquet(tasks)[:-100], "tasks.parquet")
    for value in (np.inf, -np.inf, np.nan):
        yield Variant(f"runs-score-{value}", parquet(cell(runs, "score", value)), "runs.parquet")
    yield Variant(
        "runs-score-as-text",
        parquet(
            runs.assign(
                score=runs["score"]
                .map(repr)
                .where(runs.index != runs.index[len(runs) // 2], "abc0.96")
            )
        ),
        "runs.parquet",
    )
    for value, dtype in ((-5, None), (0, None), (3.5, "float64"), (2.0**64, "float64")):
        yield Variant(
            f"runs-task_id-{value}", parquet(cell(runs, "task_id", value, dtype)), "runs.parquet"
        )
        yield Variant(
            f"tasks-dataset_id-{value}",
            parquet(cell(tasks, "dataset_id", value, dtype or "Int64")),
            "tasks.parquet",
        )
    yield Variant(
        "runs-repeated-row",
        parquet(pd.concat([runs, runs.iloc[[len(runs) // 2]]])),
        "runs.parquet",
    )
    yield Variant(
        "tasks-repeated-row", parquet(pd.concat([tasks, tasks.iloc[[0]]])), "tasks.parquet"
    )
    key = json.loads(runs["config"].iloc[0])
    name = next(iter(key), "x")
    yield Variant(
        "runs-nan-in-config",
        parquet(cell(runs, "config", json.dumps({name: float("nan")}))),
        "runs.parquet",
    )
    yield Variant(
        "runs-config-not-an-object", parquet(cell(runs, "config", "[1, 2]")), "runs.parquet"
    )
    yield Variant(
        "runs-config-list-column",
        parquet(runs.assign(config=[[1, 2]] * len(runs))),
        "runs.parquet",
    )
    yield Variant(
        "tasks-list-column", parquet(tasks.assign(L=[[1.0, 2.0]] * len(tasks))), "tasks.parquet"
    )
    yield Variant("tasks-text-meta-feature", parquet(tasks.assign(kind="a")), "tasks.parquet")
    quality = next(c for c in tasks.columns if c not in ("task_id", "dataset_id"))
    yield Variant(
        "tasks-non-finite-meta-feature", parquet(cell(tasks, quality, np.inf)), "tasks.parquet"
    )


@dataclass(frozen=True)
class Outcome:
    """What a reader did with one variant."""

    exit_code: int
    stderr: str
    digest_before: object
    digest_after: object
    clean_digest: object


def check_variant(variant: Variant, outcome: Outcome) -> str | None:
    """None when ``outcome`` keeps the contract, else a sentence saying how it broke it."""
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    if outcome.exit_code == 1:
        if outcome.digest_after != outcome.digest_before:
            return f"{variant.name}: refused, but the store changed"
        errors = [line for line in lines if line.startswith("error:")]
        if (
            len(errors) != 1
            or errors[0].startswith("error: unexpected ")
            or "Traceback" in outcome.stderr
        ):
            return (
                f"{variant.name}: refused without one clear error line: "
                f"{outcome.stderr.strip()[:300]!r}"
            )
        return None
    if outcome.exit_code == 0:
        if outcome.digest_after != outcome.clean_digest:
            return f"{variant.name}: accepted, and the store differs from the clean input's"
        return None
    return (
        f"{variant.name}: exit code {outcome.exit_code} (want 0 or 1): "
        f"{outcome.stderr.strip()[:300]!r}"
    )


def sample_text(text: str, rows: int) -> str:
    """The first ``rows`` data lines of a one-header-line CSV text (a small, real input)."""
    out = io.StringIO()
    for i, line in enumerate(text.splitlines(keepends=True)):
        if i > rows:
            break
        out.write(line)
    return out.getvalue()
