"""OpenML's list responses: what each list looks like (:data:`SPECS`), and the element-per-row
parser that turns a page body into an Arrow record batch.

This is the bottom of the list parsers: :mod:`metabase.openml.fastparse` (the columnar path the
lister uses) builds on it and falls back to :class:`PageParser`; nothing here imports either.

The HTTP client hands over each body whole (pages are at most 1,000 rows), and the lister feeds
it in one piece. :class:`PageParser` runs lxml's pull parser over it, turns each row element into
column values and clears it at once, so a page never exists as a DOM. A body that ends early or is
not well-formed, or whose root is not the list asked for (an HTML maintenance page answered with
status 200), raises :class:`RetryableError` (the page is fetched again); an ``<oml:error>`` body
raises the decoded :class:`ServerError` / :class:`NoResults`.

Numbers are read strictly: a text that is not a plain number (``abc0.96``, ``1_000``) or an
integer outside int64 becomes null, never an exception and never a guess; the sync's records
refuse and count such rows (:mod:`metabase.sync.records`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from metabase.openml.http import OML_NS, RetryableError, error_from_body

_NS = "{" + OML_NS + "}"

PARAMETER_TYPE = pa.struct(
    [
        ("id", pa.int64()),
        ("flow_id", pa.int64()),
        ("flow_name", pa.string()),
        ("full_name", pa.string()),
        ("parameter_name", pa.string()),
        ("data_type", pa.string()),
        ("default_value", pa.string()),
        ("value", pa.string()),
    ]
)
NAMED_VALUES = pa.map_(pa.string(), pa.string())


@dataclass(frozen=True)
class ListSpec:
    """How one list endpoint looks: its row element and typed columns."""

    call: str
    row: str
    columns: dict[str, pa.DataType]
    # child element -> column (OpenML names some things differently in lists)
    rename: dict[str, str] = field(default_factory=dict)
    # repeated children with a name attribute collected into a map column, e.g. input/quality
    named: tuple[str, ...] = ()
    # repeated structured children collected into a list<struct> column
    nested: dict[str, pa.DataType] = field(default_factory=dict)
    id_column: str = ""
    root: str = ""  # the list's root element (``evaluations``): any other answer is retried


SPECS: dict[str, ListSpec] = {
    "evaluation": ListSpec(
        "evaluation/list",
        "evaluation",
        {
            "run_id": pa.int64(),
            "task_id": pa.int64(),
            "setup_id": pa.int64(),
            "flow_id": pa.int64(),
            "flow_name": pa.string(),
            "data_id": pa.int64(),
            "data_name": pa.string(),
            "function": pa.string(),
            "upload_time": pa.timestamp("s"),
            "uploader": pa.int64(),
            "value": pa.float64(),
            "values": pa.string(),
            "repeat": pa.int32(),
            "fold": pa.int32(),
        },
        id_column="run_id",
        root="evaluations",
    ),
    "run": ListSpec(
        "run/list",
        "run",
        {
            "run_id": pa.int64(),
            "task_id": pa.int64(),
            "task_type_id": pa.int32(),
            "setup_id": pa.int64(),
            "flow_id": pa.int64(),
            "uploader": pa.int64(),
            "upload_time": pa.timestamp("s"),
            "error_message": pa.string(),
        },
        id_column="run_id",
        root="runs",
    ),
    "setup": ListSpec(
        "setup/list",
        "setup",
        {"setup_id": pa.int64(), "flow_id": pa.int64()},
        nested={"parameter": PARAMETER_TYPE},
        id_column="setup_id",
        root="setups",
    ),
    "task": ListSpec(
        "task/list",
        "task",
        {
            "task_id": pa.int64(),
            "task_type_id": pa.int32(),
            "task_type": pa.string(),
            "did": pa.int64(),
            "name": pa.string(),
            "status": pa.string(),
            "format": pa.string(),
        },
        named=("input", "quality"),
        id_column="task_id",
        root="tasks",
    ),
    "data": ListSpec(
        "data/list",
        "dataset",
        {
            "did": pa.int64(),
            "name": pa.string(),
            "version": pa.int32(),
            "status": pa.string(),
            "format": pa.string(),
            "file_id": pa.int64(),
            "md5_checksum": pa.string(),
        },
        named=("quality",),
        id_column="did",
        root="data",
    ),
    "flow": ListSpec(
        "flow/list",
        "flow",
        {
            "id": pa.int64(),
            "full_name": pa.string(),
            "name": pa.string(),
            "version": pa.string(),
            "external_version": pa.string(),
            "uploader": pa.int64(),
        },
        id_column="id",
        root="flows",
    ),
}


def _local(tag) -> str:
    return tag[len(_NS) :] if isinstance(tag, str) and tag.startswith(_NS) else str(tag)


def _column(values: list, dtype: pa.DataType, decimal_only: bool = True) -> pa.Array:
    if pa.types.is_string(dtype):
        return pa.array(values, dtype)
    return finish_column(pa.array(values, pa.string()), dtype, decimal_only)


def finish_column(text: pa.Array, dtype: pa.DataType, decimal_only: bool = True) -> pa.Array:
    """Trimmed texts (a string array) -> the column's type; "" is null for numbers and times.

    With ``decimal_only`` (a list's own columns) a hexadecimal integer is not a number; a setup
    parameter's ``id`` and ``flow_id`` are read as Arrow reads them (checking 20,000 of them a
    page would cost more than the rest of their typing).
    """
    if pa.types.is_string(dtype):
        return text
    if pa.types.is_timestamp(dtype):
        text = pc.utf8_slice_codeunits(pc.replace_substring(text, "T", " "), 0, 19)
        return pc.strptime(text, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        try:
            return cast_numbers(text, dtype) if decimal_only else pc.cast(text, dtype)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _numbers_one_by_one(text, dtype)  # a bad value: only bad pages get here
    return pc.cast(text, dtype)


def cast_numbers(text: pa.Array, dtype: pa.DataType) -> pa.Array:
    """Number texts in one cast; ``ArrowInvalid`` for any text that is not a plain decimal number.

    Arrow also reads hexadecimal integers (``0x10``; ``0x8000000000000000`` wraps to a negative
    id), which it takes only with a leading ``0x`` or ``0X``: two prefix kernels find them.
    """
    if pa.types.is_integer(dtype) and (
        pc.any(pc.starts_with(text, "0x")).as_py() or pc.any(pc.starts_with(text, "0X")).as_py()
    ):
        raise pa.ArrowInvalid("not a decimal integer")
    return pc.cast(text, dtype)


_INTEGER = re.compile(r"[+-]?[0-9]+").fullmatch
_FLOAT = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[+-]?(?:nan|inf|infinity)",
    re.IGNORECASE,
).fullmatch


def _numbers_one_by_one(text: pa.Array, dtype: pa.DataType) -> pa.Array:
    """Each text as a number of ``dtype``, or null where it is not a plain decimal number of that
    type (``abc0.96``; ``1_000`` and ``0x10``, which Python would take; ``3.5`` as an integer) or
    does not fit it (an integer beyond int64): never an exception and never a guess.
    """
    integer = pa.types.is_integer(dtype)
    bits = dtype.bit_width - 1 if integer else 0
    low, high = -(1 << bits), (1 << bits) - 1
    out = []
    for v in text.to_pylist():
        if v is None or not (_INTEGER(v) if integer else _FLOAT(v)):
            out.append(None)
        elif integer:
            n = int(v)
            out.append(n if low <= n <= high else None)
        else:
            out.append(float(v))
    return pa.array(out, dtype)


class PageParser:
    """Feed bytes, then :meth:`close` to get the page as a RecordBatch (rows in server order)."""

    def __init__(self, spec: ListSpec, url: str = "") -> None:
        from lxml import etree

        self.spec = spec
        self.url = url
        # only row ends are reported: the per-element work stays in C
        self._parser = etree.XMLPullParser(events=("end",), tag=_NS + spec.row, huge_tree=True)
        self._columns: dict[str, list] = {c: [] for c in spec.columns}
        self._named: dict[str, list] = {n: [] for n in spec.named}
        self._nested: dict[str, list] = {n: [] for n in spec.nested}
        # full tag -> (kind, name)
        self._tags: dict[str, tuple[str, str]] = {}
        for child in spec.columns:
            self._tags[_NS + child] = ("column", child)
        for child, column in spec.rename.items():
            self._tags[_NS + child] = ("column", column)
        for n in spec.named:
            self._tags[_NS + n] = ("named", n)
        for n in spec.nested:
            self._tags[_NS + n] = ("nested", n)
        self._struct_tags = {
            n: {_NS + f.name: i for i, f in enumerate(t)} for n, t in spec.nested.items()
        }
        self._head = b""
        self.rows = 0

    def feed(self, chunk: bytes) -> None:
        from lxml import etree

        if len(self._head) < 4096:
            self._head += chunk[: 4096 - len(self._head)]
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise RetryableError(f"malformed XML ({exc})") from None
        self._drain()

    def _drain(self) -> None:
        for _, elem in self._parser.read_events():
            if elem.getparent() is None or elem.getparent().getparent() is not None:
                continue  # not a top-level row
            self._take_row(elem)
            # free the row and everything before it: memory stays flat whatever the page size
            elem.clear()
            parent = elem.getparent()
            while elem.getprevious() is not None:
                del parent[0]

    def _take_row(self, elem) -> None:
        tags = self._tags
        row: dict[str, str | None] = {}
        named: dict[str, list] = {n: [] for n in self.spec.named}
        nested: dict[str, list] = {n: [] for n in self.spec.nested}
        for child in elem:
            hit = tags.get(child.tag)
            if hit is None:
                continue
            kind, name = hit
            if kind == "column":
                text = child.text
                row[name] = text.strip() if text is not None else None
            elif kind == "named":
                key = child.get("name")
                if key is not None:
                    named[name].append((key, (child.text or "").strip()))
            else:
                index = self._struct_tags[name]
                values = [None] * len(index)
                for g in child:
                    i = index.get(g.tag)
                    if i is not None and g.text is not None:
                        values[i] = g.text.strip() or None
                nested[name].append(values)
        for column, values in self._columns.items():
            values.append(row.get(column))
        for n in named:
            self._named[n].append(named[n])
        for n in nested:
            self._nested[n].append(nested[n])
        self.rows += 1

    def close(self) -> pa.RecordBatch:
        from lxml import etree

        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            error = error_from_body(self._head, self.url)
            if error is not None:
                raise error from None
            raise RetryableError(f"truncated or malformed XML ({exc})") from None
        self._drain()
        self._check_root(root)
        arrays, names = [], []
        for column, dtype in self.spec.columns.items():
            arrays.append(_column(self._columns[column], dtype))
            names.append(column)
        for n in self.spec.named:
            arrays.append(pa.array(self._named[n], NAMED_VALUES))
            names.append(n)
        for n, dtype in self.spec.nested.items():
            arrays.append(_nested_column(self._nested[n], dtype))
            names.append(n)
        return pa.RecordBatch.from_arrays(arrays, names=names)

    def _check_root(self, root) -> None:
        """The body must be the list asked for. Anything else is retried (an HTML maintenance page
        answered with status 200 is no empty list), and an ``<oml:error>`` body is raised.
        """
        expected = _NS + self.spec.root if self.spec.root else None
        if root is not None and (root.tag == expected or expected is None):
            return
        error = error_from_body(self._head, self.url)
        if error is not None:
            raise error
        found = "an empty body" if root is None else f"<{_local(root.tag)}>"
        raise RetryableError(f"not the <oml:{self.spec.root}> list asked for ({found} instead)")


def _nested_column(rows: list[list[list]], dtype: pa.StructType) -> pa.Array:
    """list<struct> from rows of [field values...] lists, typed column-wise (fast)."""
    offsets, flat = [0], []
    for items in rows:
        flat.extend(items)
        offsets.append(len(flat))
    children = [_column([v[i] for v in flat], f.type, False) for i, f in enumerate(dtype)]
    structs = pa.StructArray.from_arrays(children, fields=list(dtype))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), structs)


def empty_batch(spec: ListSpec) -> pa.RecordBatch:
    """A page with no rows, with the spec's schema (an empty list)."""
    arrays = [pa.array([], t) for t in spec.columns.values()]
    arrays += [pa.array([], NAMED_VALUES) for _ in spec.named]
    arrays += [pa.array([], pa.list_(t)) for t in spec.nested.values()]
    names = list(spec.columns) + list(spec.named) + list(spec.nested)
    return pa.RecordBatch.from_arrays(arrays, names=names)
