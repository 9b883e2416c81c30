"""A whole list body parsed at once, as the lister parses a page (tests, recorded files)."""

from __future__ import annotations

import pyarrow as pa

from metabase.openml.fastparse import FastPageParser
from metabase.openml.listparse import ListSpec


def parse_page(spec: ListSpec, body: bytes, url: str = "") -> pa.RecordBatch:
    """``body`` as the lister would give it: the columnar path, else the element-per-row parser
    (raising :class:`~metabase.openml.http.RetryableError`, ``NoResults`` or ``ServerError``).
    """
    parser = FastPageParser(spec, url)
    parser.feed(body)
    return parser.close()
