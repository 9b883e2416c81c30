"""The bad-input contract for OpenML list pages, the sync's outside data.

From one clean page (a real answer of the live server), :func:`page_variants` makes the damaged
answers a server, a proxy or a broken connection can send: empty, truncated, binary garbage, a
byte-order mark, another encoding, an HTML page, another list, non-finite or non-numeric values,
negative, zero, fractional or out-of-range ids, a row twice, a leaf missing or one too many.
:func:`damage` damages one leaf of one row with any text (the property-based tests draw them).

The page reader is what the sync does with a page (:func:`read_evaluation_page`: the lister's
parser, then the sync's records). The contract (:func:`check_page`): it **refuses** the page
(an error that the HTTP client retries and then reports in one line; never "no results", which
would end the list), or it gives **the clean page's rows**, less rows it counts as skipped. It
never gives a row the clean page does not hold (a NaN, a wrapped id), a row twice, or a value the
clean row does not have, except a value left missing in a row it counts.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import pyarrow as pa

from metabase.testing.bad_input import LONG_LINE_BYTES, Variant

RUN_COLUMNS = ("run_key", "task_id", "flow_id", "setup_id", "uploader", "created_at")
EVALUATION_COLUMNS = ("run_key", "measure", "value")
# Leaves the sync stores, and what a valid text of each is (the oracle of the property tests).
STORED_LEAVES = (
    "run_id",
    "task_id",
    "setup_id",
    "flow_id",
    "uploader",
    "function",
    "value",
    "upload_time",
)
_ID = re.compile("[+-]?[0-9]+").fullmatch  # of a text stripped of white space
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch


def split_page(body: bytes, row: str) -> tuple[str, list[str], str]:
    """(text before the first row, each row element, text after the last)."""
    text = body.decode("utf-8")
    opening, closing = f"<oml:{row}>", f"</oml:{row}>"
    start, end = text.index(opening), text.rindex(closing) + len(closing)
    rows = [opening + part for part in text[start:end].split(opening)[1:]]
    return text[:start], rows, text[end:]


def join_page(head: str, rows: list[str], tail: str) -> bytes:
    return (head + "".join(rows) + tail).encode("utf-8")


def damage(row: str, leaf: str, text: str | None) -> str:
    """``row`` with its ``leaf``'s text replaced (XML-escaped), or the leaf left out (None)."""
    pattern = re.compile(f"<oml:{leaf}>[^<]*</oml:{leaf}>")
    if text is None:
        return pattern.sub("", row, count=1)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return pattern.sub(lambda _: f"<oml:{leaf}>{escaped}</oml:{leaf}>", row, count=1)


def page_variants(body: bytes, row: str = "evaluation", seed: int = 0) -> Iterator[Variant]:
    """Every damaged variant of a clean list page (its rows must hold ``value`` and ``run_id``)."""
    rng = random.Random(seed)
    head, rows, tail = split_page(body, row)
    middle = len(rows) // 2

    def with_row(text: str) -> bytes:
        return join_page(head, rows[:middle] + [text] + rows[middle + 1 :], tail)

    yield Variant("empty", b"")
    cut = len(join_page(head, rows[:middle], "")) + len(rows[middle]) // 2
    yield Variant("truncated-mid-row", body[:cut])
    yield Variant("truncated-before-the-root-closes", body[: body.rindex(b"</oml:")])
    yield Variant("byte-order-mark", b"\xef\xbb\xbf" + body)
    yield Variant(
        "latin-1-byte", with_row(rows[middle]).replace(b"<oml:run_id>", b"<oml:run_id>\xe9", 1)
    )
    yield Variant("crlf-line-ends", body.replace(b"\n", b"\r\n"))
    yield Variant("row-without-its-value", with_row(damage(rows[middle], "value", None)))
    yield Variant("row-without-its-run-id", with_row(damage(rows[middle], "run_id", None)))
    yield Variant(
        "row-with-a-leaf-too-many",
        with_row(
            rows[middle].replace(
                "</oml:value>", "</oml:value><oml:value_extra>1</oml:value_extra>", 1
            )
        ),
    )
    yield Variant(
        "over-long-text", with_row(damage(rows[middle], "flow_name", "9" * LONG_LINE_BYTES))
    )
    yield Variant("repeated-row", join_page(head, rows + [rows[middle]], tail))
    for text in ("inf", "-inf", "NaN", "1e999", "abc0.96", "0x10", "1_000", ""):
        yield Variant(f"value-{text or 'blank'}", with_row(damage(rows[middle], "value", text)))
    for leaf in ("run_id", "task_id", "setup_id", "flow_id"):
        for text in ("-5", "0", "3.5", "99999999999999999999", "0x8000000000000000", "abc"):
            yield Variant(f"{leaf}-{text}", with_row(damage(rows[middle], leaf, text)))
    yield Variant(
        "another-measure", with_row(damage(rows[middle], "function", "area_under_roc_curve"))
    )
    yield Variant("binary-garbage", bytes(rng.randrange(256) for _ in range(4096)))
    yield Variant(
        "html-page",
        b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"/><title>Maintenance'
        b"</title></head><body><p>Back soon</p></body></html>\n",
    )
    yield Variant("another-list", body.replace(f"oml:{row}s".encode(), b"oml:runs"))
    yield Variant(
        "server-error-body",
        b'<oml:error xmlns:oml="http://openml.org/openml"><oml:code>107'
        b"</oml:code><oml:message>Database connection error</oml:message>"
        b"</oml:error>",
    )


def read_evaluation_page(body: bytes, measure: str = "predictive_accuracy"):
    """What the sync stores of one ``evaluation/list`` page: (runs rows, evaluation rows, the
    counts of rows it left out). Raises what the lister's parser raises.
    """
    from metabase.openml.listparse import SPECS
    from metabase.sync.records import runs_and_evaluations, unique_evaluations
    from metabase.testing.listpages import parse_page

    skipped: Counter = Counter()
    runs, evaluations = runs_and_evaluations(
        parse_page(SPECS["evaluation"], body), None, skipped, measure
    )
    evaluations = unique_evaluations(evaluations, skipped)
    return _rows(runs, RUN_COLUMNS), _rows(evaluations, EVALUATION_COLUMNS), skipped


def _rows(table: pa.Table, columns) -> list[tuple]:
    return list(zip(*(table[c].to_pylist() for c in columns))) if table.num_rows else []


def check_page(name: str, clean, outcome) -> str | None:
    """None when ``outcome`` (an exception, or :func:`read_evaluation_page`'s result) keeps the
    contract against ``clean`` (that function's result for the clean page), else why not.
    """
    from metabase.errors import OpenMLError
    from metabase.openml.http import NoResults, RetryableError

    if isinstance(outcome, BaseException):
        if isinstance(outcome, NoResults):
            return f"{name}: taken for the end of the list"
        if not isinstance(outcome, (RetryableError, OpenMLError)):
            return f"{name}: refused with {type(outcome).__name__}, not an OpenML error: {outcome}"
        if "\n" in str(outcome).strip():
            return f"{name}: refused without a one-line message"
        return None
    runs, evaluations, skipped = outcome
    counted = sum(skipped.values())
    for label, got, want in (("runs", runs, clean[0]), ("evaluations", evaluations, clean[1])):
        if len(set(got)) != len(got):
            return f"{name}: {label} holds a row twice"
        by_key = {row[0]: row for row in want}
        changed = 0
        for row in got:
            original = by_key.get(row[0])
            if original is None:
                return f"{name}: {label} row {row!r} is not on the clean page"
            if row != original:
                if any(v != o and v is not None for v, o in zip(row, original)):
                    return f"{name}: {label} row {row!r} differs from the clean {original!r}"
                changed += 1  # a value left missing
        lost = len(by_key) - len({row[0] for row in got})
        if lost + changed > counted:
            return f"{name}: {label} lost or blanked {lost + changed} rows but counted {counted}"
    return None


def valid_text(leaf: str, text: str, original: str) -> bool:
    """Is ``text`` a valid value of ``leaf`` other than ``original`` (which no reader can tell
    from the truth)? The property tests draw only texts for which this is false.
    """
    if leaf in ("run_id", "task_id", "setup_id", "flow_id", "uploader"):
        text = text.strip()
        return bool(_ID(text)) and 0 < int(text) < 1 << 63 and int(text) != int(original)
    if leaf == "value":
        text = text.strip()
        return bool(_NUMBER(text)) and float(text) not in (
            float(original),
            float("inf"),
            float("-inf"),
        )
    if leaf == "upload_time":
        try:
            when = datetime.strptime(text.strip().replace("T", " ")[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return False
        return when != datetime.strptime(
            original.strip().replace("T", " ")[:19], "%Y-%m-%d %H:%M:%S"
        )
    if leaf == "function":
        return False  # only the measure asked for is kept: any other name is refused
    return True
