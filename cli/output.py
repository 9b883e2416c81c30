"""Shared output for listing commands: ``--format table|csv|json``.

Results go to stdout, and only results: progress, logs and errors go to stderr.
"""

from __future__ import annotations

import enum
import json
import math
import re
import sys
from typing import Any, Iterable, Mapping

import click


class Format(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


def format_option(default: str = "table", choices: tuple[str, ...] = ("table", "csv", "json")):
    """The shared ``--format`` option; the value reaches the command as ``fmt``."""
    return click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice(list(choices), case_sensitive=False),
        default=default,
        show_default=True,
        help="Output format.",
    )


def _clean(value: Any) -> Any:
    """JSON-safe scalars: NaN becomes null, numpy scalars become Python ones."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing markers
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


def to_json(payload: Any) -> str:
    return json.dumps(_clean(payload), indent=2, default=str)


def print_json(payload: Any) -> None:
    sys.stdout.write(to_json(payload) + "\n")


def _records(data) -> tuple[list[str], list[Mapping[str, Any]]]:
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        columns = [str(c) for c in data.columns]
        return columns, [
            dict(zip(columns, row)) for row in data.itertuples(index=False, name=None)
        ]
    rows = list(data)
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns, rows


def emit(
    data: Any,
    fmt: Format | str = Format.table,
    title: str | None = None,
    caption: str | None = None,
) -> None:
    """Print a DataFrame or a list of dicts in the requested format (title and caption: tables
    only).
    """
    fmt = Format(fmt)
    columns, rows = _records(data)
    if fmt is Format.json:
        print_json([{c: row.get(c) for c in columns} for row in rows])
    elif fmt is Format.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                ["" if _clean(row.get(c)) is None else _clean(row.get(c)) for c in columns]
            )
    else:
        print_table(columns, rows, title=title, caption=caption)


def _fmt_cell(value: Any) -> str:
    value = _clean(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# C0 and C1 control characters and DEL, except newline and tab (a multi-line cell stays one)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
TABLE_WIDTH = 100  # columns of a table written to a pipe or file (a terminal gets its own width)
MIN_CELL = 24  # a column is never squeezed below its longest cell, or this many characters


def _literal(text: str):
    r"""Cell text as a Rich Text, shown as it is: markup such as ``[/oops]`` or ``[link=...]`` is
    not interpreted (a dataset name on OpenML is anyone's to choose), and control characters (an
    ANSI escape would restyle the terminal) are written out as ``\x1b``.
    """
    from rich.text import Text

    return Text(_CONTROL.sub(lambda m: repr(m.group())[1:-1], text))


def print_table(
    columns: Iterable[str],
    rows: Iterable[Mapping[str, Any]],
    title: str | None = None,
    caption: str | None = None,
) -> None:
    """A table that fits the terminal (``TABLE_WIDTH`` columns when not one): columns keep their
    cells whole up to ``MIN_CELL`` characters, and longer cells and headers wrap. The title is one
    line above the table (not wrapped to the table's own width); a title longer than the terminal
    is wide joins the caption, which is printed below the table, wrapped at words. Cell text is
    shown literally.
    """
    from rich.console import Console
    from rich.table import Table

    columns = list(columns)
    cells = [[_fmt_cell(row.get(c)) for c in columns] for row in rows]
    table = Table(show_lines=False)
    for i, column in enumerate(columns):
        # names and numbers stay whole; headers and long texts (configurations) wrap instead
        longest = max((len(line[i]) for line in cells), default=0)
        table.add_column(_literal(str(column)), overflow="fold", min_width=min(longest, MIN_CELL))
    for line in cells:
        table.add_row(*(_literal(cell) for cell in line))
    width = Console().width if sys.stdout.isatty() else TABLE_WIDTH
    console = Console(file=sys.stdout, width=width)
    if title and len(title) > width:
        title, caption = None, f"{title}; {caption}" if caption else title
    if title:
        console.print(_literal(title), highlight=False)
    console.print(table)
    if caption:
        console.print(_literal(caption), highlight=False)
