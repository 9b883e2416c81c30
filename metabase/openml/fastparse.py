"""Columnar extraction of OpenML list pages: the fast path in front of :class:`PageParser`.

The element-per-row parser spends ~45 µs of Python per evaluation row, which made the client,
not the server, the limit of a sync. OpenML's list bodies are regular: every row has the same
leaf elements, each ``<oml:name>text</oml:name>`` on its own. Here:

* the body is taken whole, as the HTTP client hands it over (pages are at most 1,000 rows); it
  must be framed as the whole list asked for (its root element, closed at its end), or a
  truncated or malformed page would pass: anything else goes to the element-per-row parser,
  which raises :class:`RetryableError` for it (the page is fetched again);
* the body is cut into **tokens** without a Python object per element: numpy finds every ``<``
  and the ``>`` that closes it, and one zero-copy Arrow string array over the body's own buffer
  alternates tags and the texts between them. The tags are dictionary-encoded, so the page's
  whole element structure is an integer array that numpy checks at once;
* a page is taken this way only when that structure is provably regular: every row holds the
  same leaves in the same order (the first row's), a setup's parameters each the same leaves,
  nothing else anywhere, and only whitespace between elements. Leaves a list does not use (the
  live server adds ``evaluation_engine_id``, ``run_details``) are skipped, as the element
  parser skips them. Anything else (another namespace
  prefix, empty ``<oml:x/>`` elements, attributes, CDATA, comments, an error body, an empty list)
  goes to :class:`PageParser`, which gives the same batch; so does a page whose integer leaves
  hold a text starting ``0x`` (Arrow's cast would read it as a hexadecimal number). XML's ban on
  control characters in texts is not checked here: a number holding one is no number, a string
  keeps it;
* each column's texts are then gathered from the token array by index (column after column,
  one ``take``), and trimmed, typed and null-filled by Arrow compute kernels by the element
  parser's rules. Entities (``&amp;``) are decoded per affected value.

Every step is a numpy or Arrow kernel, which releases the interpreter lock: the lister's threads
parse pages side by side with the consumer instead of taking turns with it (the regex cut this
replaces held the lock for all of its ~60% of a sync's client time).
"""

from __future__ import annotations

import html
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metabase.openml.listparse import ListSpec, PageParser, finish_column


def fast_supported(spec: ListSpec) -> bool:
    """Lists whose rows are flat leaves (plus the setup list's parameters)."""
    return not spec.named and not spec.rename and set(spec.nested) <= {"parameter"}


class FastPageParser:
    """Same interface and result as :class:`PageParser` (``feed`` the body, then ``close``)."""

    def __init__(self, spec: ListSpec, url: str = "") -> None:
        self.spec = spec
        self.url = url
        self._chunks: list[bytes] = []
        self.rows = 0

    def feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def close(self) -> pa.RecordBatch:
        body = b"".join(self._chunks)
        try:
            batch = extract(self.spec, body)
        except (pa.ArrowInvalid, UnicodeDecodeError):  # not UTF-8: the XML parser says what it is
            batch = None
        if batch is None:  # not provably whole and regular: the element-per-row parser decides
            parser = PageParser(self.spec, self.url)
            parser.feed(body)
            batch = parser.close()
        self.rows = batch.num_rows
        return batch


_ROOT = re.compile(rb"\s*(<\?xml[^>]*\?>\s*)?<oml:([a-z_]+)[\s>]")
_LT, _GT = ord("<"), ord(">")


class _Tokens:
    """A body as tokens: tag ``i`` (``<...>``, codes[i] its dictionary code) and the text after
    it.
    """

    def __init__(self, body: bytes, lt: np.ndarray, end: np.ndarray) -> None:
        m = len(lt)
        offsets = np.empty(2 * m + 1, dtype=np.int32)
        offsets[0:-1:2] = lt
        offsets[1::2] = end + 1
        offsets[-1] = len(body)
        # zero-copy: tag 0, text 0, tag 1, text 1, ... over the body's own bytes
        self.parts = pa.StringArray.from_buffers(2 * m, pa.py_buffer(offsets), pa.py_buffer(body))
        encoded = pc.dictionary_encode(self.parts.take(pa.array(np.arange(0, 2 * m, 2))))
        self.codes = encoded.indices.to_numpy(zero_copy_only=False)
        self.names = encoded.dictionary.to_pylist()
        self.m = m
        self.entities = b"&" in body
        self.bytes = np.frombuffer(body, dtype=np.uint8)
        self.text_starts = end + 1

    @classmethod
    def of(cls, body: bytes) -> _Tokens | None:
        if len(body) >= 1 << 31:
            return None
        a = np.frombuffer(body, dtype=np.uint8)
        lt = np.flatnonzero(a == _LT)
        gt = np.flatnonzero(a == _GT)
        if not len(lt) or not len(gt):
            return None
        if len(lt) == len(gt) and bool(np.all(lt < gt)) and bool(np.all(gt[:-1] < lt[1:])):
            end = gt  # the usual page: no '>' in any text
        else:
            # each tag ends at the first '>' after its '<', before the next '<'
            # ('>' is legal in text)
            at = np.searchsorted(gt, lt)
            if at[-1] >= len(gt):
                return None
            end = gt[at]
            if len(lt) > 1 and not bool(np.all(end[:-1] < lt[1:])):
                return None
        return cls(body, lt, end)

    def hexadecimal(self, tokens: np.ndarray) -> bool:
        """Does a text after one of these tags start with ``0x`` or ``0X``? Arrow's cast reads
        such a text as a hexadecimal integer (``0x8000000000000000`` as a negative id); the
        element parser refuses it. Two gathers of one byte per text, cheaper than a string
        kernel per column.
        """
        if not tokens.size:
            return False
        starts = self.text_starts[tokens.ravel()]  # each is followed by its leaf's close tag
        zero = self.bytes[starts] == ord("0")
        return bool(zero.any()) and bool(np.any(self.bytes[starts[zero] + 1] | 0x20 == ord("x")))

    def code(self, tag: str) -> int:
        try:
            return self.names.index(tag)
        except ValueError:
            return -1

    def texts(self, tokens: np.ndarray) -> pa.Array:
        """The texts after the given tags, in that order."""
        return self.parts.take(pa.array(2 * tokens.astype(np.int64) + 1))

    def only_whitespace_besides(self, values: np.ndarray, first: int, last: int) -> bool:
        """Whether the texts after tags ``first..last-1`` are blank, except after the ``values``
        tags.
        """
        others = np.ones(self.m, dtype=bool)
        others[values] = False
        others[:first] = others[last:] = False
        rest = self.texts(np.flatnonzero(others))
        return (
            not len(rest) or pc.max(pc.binary_length(pc.ascii_trim_whitespace(rest))).as_py() == 0
        )


def _leaves(tokens: _Tokens, pattern: np.ndarray, known) -> list[str] | None:
    """The leaf names of a block's pattern ``open, close, open, close, ...``, or None when it is
    not one (another tag, or a ``known`` name twice). Other leaves (the live server adds some,
    e.g. ``evaluation_engine_id``) are kept in place and ignored, as the element parser does.
    """
    names = []
    if len(pattern) % 2:
        return None
    for i in range(0, len(pattern), 2):
        tag, close = tokens.names[pattern[i]], tokens.names[pattern[i + 1]]
        if not (tag.startswith("<oml:") and tag.endswith(">") and close == "</" + tag[1:]):
            return None
        names.append(tag[5:-1])
    mine = [n for n in names if n in known]
    return names if len(set(mine)) == len(mine) else None


def _cut(at: np.ndarray, names: list[str], known) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Positions of every leaf's text in blocks starting at ``at`` (rows by leaves), those of the
    ``known`` leaves, and their names.
    """
    every = at[:, None] + 1 + 2 * np.arange(len(names))
    keep = [j for j, name in enumerate(names) if name in known]
    return every, every[:, keep], [names[j] for j in keep]


def _frame(spec: ListSpec, body: bytes) -> tuple[_Tokens, int] | None:
    """Tokens of a body framed as a whole list, and the index of its first row's tag."""
    if not fast_supported(spec) or b'xmlns:oml="http://openml.org/openml"' not in body[:4096]:
        return None  # the tags below assume OpenML's own prefix
    root = _ROOT.match(body)
    if (
        root is None
        or root.group(2).decode() != spec.root
        or not body[-4096:].rstrip().endswith(b"</oml:" + root.group(2) + b">")
    ):
        return None  # cut short, or not the list asked for: the XML parser raises for a retry
    tokens = _Tokens.of(body)
    if tokens is None or tokens.m < 3:
        return None
    first = 2 if root.group(1) else 1  # after the declaration and the root's open tag
    root_close = f"</oml:{root.group(2).decode()}>"
    if (
        tokens.names[tokens.codes[-1]] != root_close
        or tokens.names[tokens.codes[first - 1]][:5] != "<oml:"
    ):
        return None
    return tokens, first


def extract(spec: ListSpec, body: bytes) -> pa.RecordBatch | None:
    """The page as a batch, or None when the columnar path cannot vouch for it."""
    framed = _frame(spec, body)
    if framed is None:
        return None
    tokens, first = framed
    last = tokens.m - 1  # the root's close
    codes = tokens.codes
    row, row_close = tokens.code(f"<oml:{spec.row}>"), tokens.code(f"</oml:{spec.row}>")
    if row < 0 or row_close < 0 or codes[first] != row:
        return None
    starts = np.flatnonzero(codes == row)
    n = len(starts)
    if spec.nested:
        return _nested_rows(spec, tokens, starts, first, last)
    close_at = np.flatnonzero(codes[first:last] == row_close)
    if len(close_at) != n:
        return None
    period = int(close_at[0]) + 1
    if first + n * period != last:
        return None
    pattern = codes[first : first + period]
    if not bool(np.all(codes[first:last].reshape(n, period) == pattern)):
        return None
    names = _leaves(tokens, pattern[1:-1], spec.columns)
    if names is None:
        return None
    leaves, values, names = _cut(starts, names, spec.columns)
    if not tokens.only_whitespace_besides(leaves.ravel(), first - 1, last):
        return None
    if tokens.hexadecimal(values[:, _integers(spec, names)]):
        return None
    texts = _Columns.of(tokens.texts(values.T.ravel()), n, tokens.entities)
    arrays = [
        texts.typed(names.index(c), dtype) if c in names else pa.nulls(n, dtype)
        for c, dtype in spec.columns.items()
    ]
    return pa.RecordBatch.from_arrays(arrays, names=list(spec.columns))


def _integers(spec: ListSpec, names: list[str]) -> list[int]:
    """Which of the leaves ``names`` are integer columns of the list."""
    return [k for k, name in enumerate(names) if pa.types.is_integer(spec.columns[name])]


def _nested_rows(
    spec: ListSpec, tokens: _Tokens, starts: np.ndarray, first: int, last: int
) -> pa.RecordBatch | None:
    """Setup pages: each setup's leaves (the same in every setup), then its parameters, each
    with the same leaves.
    """
    ((nested, dtype),) = spec.nested.items()
    codes = tokens.codes
    n = len(starts)
    row_close = tokens.code(f"</oml:{spec.row}>")
    item, item_close = tokens.code(f"<oml:{nested}>"), tokens.code(f"</oml:{nested}>")
    # the leaves of a setup: up to its first parameter or its end
    stop = first + 1
    while stop < last and codes[stop] not in (item, row_close):
        stop += 1
    names = _leaves(tokens, codes[first + 1 : stop], spec.columns)
    if names is None:
        return None
    head = 2 * len(names)
    items = np.flatnonzero(codes == item) if item >= 0 else np.zeros(0, dtype=np.int64)
    if len(items):
        width = int(np.argmax(codes[items[0] : last] == item_close)) + 1
        item_pattern = codes[items[0] : items[0] + width]
        fields = _leaves(tokens, item_pattern[1:-1], {f.name for f in dtype})
        if item_pattern[-1] != item_close or fields is None:
            return None
    else:
        width, item_pattern, fields = 0, None, []
    # parameters per setup, and where each setup must then end
    counts = np.diff(np.searchsorted(items, np.append(starts, last)))
    ends = starts + 1 + head + width * counts
    if ends[-1] + 1 != last or not bool(np.all(ends[:-1] + 1 == starts[1:])):
        return None
    if not bool(np.all(codes[ends] == row_close)):
        return None
    if not bool(
        np.all(codes[starts[:, None] + 1 + np.arange(head)] == codes[first + 1 : first + 1 + head])
    ):
        return None
    if len(items) and not bool(np.all(codes[items[:, None] + np.arange(width)] == item_pattern)):
        return None
    leaves, values, names = _cut(starts, names, spec.columns)
    item_leaves, item_values, fields = _cut(items, fields, {f.name for f in dtype})
    if not tokens.only_whitespace_besides(
        np.concatenate([leaves.ravel(), item_leaves.ravel()]), first - 1, last
    ):
        return None
    if tokens.hexadecimal(values[:, _integers(spec, names)]):
        return None
    texts = _Columns.of(tokens.texts(values.T.ravel()), n, tokens.entities)
    arrays = [
        texts.typed(names.index(c), t) if c in names else pa.nulls(n, t)
        for c, t in spec.columns.items()
    ]
    if len(items):
        item_texts = _Columns.of(tokens.texts(item_values.T.ravel()), len(items), tokens.entities)
        children = [
            finish_column(item_texts.blank_null(fields.index(f.name)), f.type, False)
            if f.name in fields
            else pa.nulls(len(items), f.type)
            for f in dtype
        ]
    else:
        children = [pa.array([], f.type) for f in dtype]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    structs = pa.StructArray.from_arrays(children, fields=list(dtype))
    arrays.append(pa.ListArray.from_arrays(pa.array(offsets), structs))
    return pa.RecordBatch.from_arrays(arrays, names=[*spec.columns, nested])


class _Columns:
    """Columns of n texts each, one after the other in one string array, trimmed or nulled with
    one kernel call each over all columns (then zero-copy slices per column), by the
    element-per-row parser's rules.
    """

    def __init__(self, whole: pa.Array, n: int) -> None:
        self.whole, self.n = whole, n
        self._trimmed = self._blank_null = self._empty_null = None

    @classmethod
    def of(cls, whole: pa.Array, n: int, entities: bool) -> _Columns:
        """Texts cut from a body (checked to be UTF-8: ArrowInvalid), with entities (``&amp;``)
        decoded value by value where the body has any.
        """
        whole.validate(full=True)
        if entities and len(whole) and pc.any(pc.match_substring(whole, "&")).as_py():
            whole = pa.array(
                [html.unescape(v) if "&" in v else v for v in whole.to_pylist()], pa.string()
            )
        return cls(whole, n)

    def _slice(self, arr: pa.Array, j: int) -> pa.Array:
        return arr.slice(j * self.n, self.n)

    def raw(self, j: int) -> pa.Array:
        return self._slice(self.whole, j)

    def trimmed(self, j: int) -> pa.Array:
        if self._trimmed is None:
            self._trimmed = pc.utf8_trim_whitespace(self.whole)
        return self._slice(self._trimmed, j)

    def blank_null(self, j: int) -> pa.Array:
        """Trimmed, and null where blank (numbers, times, nested fields)."""
        if self._blank_null is None:
            self.trimmed(0)
            self._blank_null = pc.if_else(pc.equal(self._trimmed, ""), _NULL, self._trimmed)
        return self._slice(self._blank_null, j)

    def empty_null(self, j: int) -> pa.Array:
        """Trimmed, and null where empty (leaf strings: a blank one stays "")."""
        if self._empty_null is None:
            self.trimmed(0)
            self._empty_null = pc.if_else(pc.equal(self.whole, ""), _NULL, self._trimmed)
        return self._slice(self._empty_null, j)

    def typed(self, j: int, dtype: pa.DataType) -> pa.Array:
        """A leaf column -> its type."""
        if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
            try:  # clean numbers, the usual case: one cast (hexadecimal was ruled out)
                return pc.cast(self.raw(j), dtype)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return finish_column(self.blank_null(j), dtype)
        if pa.types.is_timestamp(dtype):
            return finish_column(self.trimmed(j), dtype)
        return finish_column(self.empty_null(j), dtype)


_NULL = pa.scalar(None, pa.string())


__all__ = ["FastPageParser", "extract", "fast_supported"]
