"""The fast paged lister for OpenML's bulk lists.

Why not openml-python's listing: it pages one call at a time through ever-deeper offsets of one
big filter, builds dicts of every row, and stops at the first page shorter than it asked for, so
a server that caps pages below that size silently ends its lists early. Here a list is cut into
**windows** (a filter narrow enough that offsets inside it stay shallow: one task, one measure,
one chunk of ids), several pages are in flight at once on one keep-alive session, and each page's
body, read whole, is parsed into an Arrow record batch on the fetching thread.

Pages of a window are handed out in offset order (a page that arrives early waits for its
predecessors), so a consumer can store a window's rows and its next offset together and resume
exactly there. A window ends only when the server says there is nothing more (an empty page: its
"no results" error), when it has given ``max_rows`` (or the window's known bound), or when a
keyset window has passed its highest id. A short page never ends a window: servers cap the page
size (the live one at 1,000, others lower), so the next page is asked right after it. The first
short page followed by more rows teaches the lister the server's cap, which keeps the offsets of
pages asked ahead aligned. An answer that is not the list asked for (an HTML page with status
200) is retried by the HTTP client, never taken as an empty list.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import pyarrow as pa

from metabase.errors import OpenMLError
from metabase.openml.fastparse import FastPageParser
from metabase.openml.http import HttpClient, NoResults, mask_url
from metabase.openml.listparse import SPECS, ListSpec, empty_batch

MAX_PAGE_SIZE = 1000  # the live server's cap
URL_IDS_CHARS = 1800  # keep id lists well inside any server's URL limit


@dataclass(frozen=True)
class Window:
    """One slice of a list: ``entity`` ('evaluation', 'run', ...) and its filters, in order.

    With ``key_filter`` (e.g. ``run`` for run and evaluation lists) the window pages by id:
    each page asks for ``key_filter/<next id>..<high>`` from offset 0, and the next page starts
    after the last id received (keyset paging: no offsets at all, and new rows, which get higher
    ids, are found by asking again from the last position). Without it, pages go by offset.
    """

    entity: str
    filters: tuple[tuple[str, str], ...] = ()
    max_rows: int | None = None  # known upper bound (e.g. the number of ids asked for)
    key_filter: str | None = None
    high: int | None = None  # inclusive upper id of a keyset window

    @property
    def spec(self) -> ListSpec:
        return SPECS[self.entity]

    @property
    def key(self) -> str:
        """A stable name for the window (sync state is stored under it)."""
        parts = [self.spec.call] + [f"{k}/{v}" for k, v in self.filters]
        if self.key_filter:
            parts.append(f"{self.key_filter}/..{'' if self.high is None else self.high}")
        return "/".join(parts)

    def call(self, position: int, limit: int) -> str:
        base = "/".join([self.spec.call] + [f"{k}/{v}" for k, v in self.filters])
        if self.key_filter:
            high = "" if self.high is None else str(self.high)
            return f"{base}/{self.key_filter}/{position}..{high}/limit/{limit}/offset/0"
        return f"{base}/limit/{limit}/offset/{position}"

    def next_position(self, position: int, batch: pa.RecordBatch) -> int:
        if not batch.num_rows:
            return position
        if self.key_filter:
            top = pa.compute.max(batch.column(self.spec.id_column)).as_py()
            if top is None or top < position:  # paging on would ask the same ids forever
                raise OpenMLError(
                    f"OpenML answered {self.call(position, batch.num_rows)} with ids "
                    f"below {position} or none at all: cannot page on"
                )
            return int(top) + 1
        return position + batch.num_rows

    def passed(self, position: int) -> bool:
        """Whether a keyset window has asked for all of its ids (the next one is above
        ``high``).
        """
        return self.key_filter is not None and self.high is not None and position > self.high


@dataclass(frozen=True)
class Page:
    window: Window
    position: int  # the offset, or the first id asked for (keyset windows)
    batch: pa.RecordBatch
    last: bool  # no more pages in this window
    next_position: int = 0
    rows_before: int = 0  # rows this window gave before this page (over all syncs)
    url: str = field(default="", repr=False)
    key: str = field(default="", repr=False)  # the call that gave it (no API key): a spool key

    @property
    def rows_after(self) -> int:
        return self.rows_before + self.batch.num_rows


def id_chunks(
    ids: Iterable[int], max_ids: int = MAX_PAGE_SIZE, max_chars: int = URL_IDS_CHARS
) -> list[list[int]]:
    """Split sorted unique ids into chunks that fit one URL and one page."""
    chunks: list[list[int]] = []
    current: list[int] = []
    chars = 0
    for i in sorted(set(int(i) for i in ids)):
        width = len(str(i)) + 1
        if current and (len(current) >= max_ids or chars + width > max_chars):
            chunks.append(current)
            current, chars = [], 0
        current.append(i)
        chars += width
    if current:
        chunks.append(current)
    return chunks


def id_windows(
    entity: str,
    id_filter: str,
    ids: Iterable[int],
    filters: Sequence[tuple[str, str]] = (),
    rows_per_id: int | None = 1,
) -> list[Window]:
    """Windows that ask for explicit ids (``run/1,2,3``), each small enough for one page."""
    out = []
    for chunk in id_chunks(ids):
        max_rows = None if rows_per_id is None else len(chunk) * rows_per_id
        out.append(
            Window(entity, tuple(filters) + ((id_filter, ",".join(map(str, chunk))),), max_rows)
        )
    return out


class _State:
    __slots__ = (
        "window",
        "next_submit",
        "next_yield",
        "end",
        "buffer",
        "outstanding",
        "given",
        "limit_rows",
        "gen",
        "maybe_cap",
        "rows",
    )

    def __init__(self, window: Window, start: int, rows: int, limit_rows: int | None) -> None:
        self.window = window
        self.next_submit = start  # position of the next page to ask for (offset mode)
        self.next_yield = start  # position of the next page to hand out
        self.end = False
        self.buffer: dict[int, tuple[pa.RecordBatch, str, int]] = {}
        self.outstanding = 0
        self.given = 0
        self.rows = rows  # rows handed out so far (including earlier syncs)
        self.limit_rows = limit_rows
        self.maybe_cap = 0  # size of a short page that may be a server cap
        self.gen = 0  # bumped when speculative pages become misaligned (a capped page)


class Lister:
    """Pages through windows with at most ``in_flight`` requests at once."""

    def __init__(
        self, client: HttpClient, in_flight: int = 4, page_size: int = MAX_PAGE_SIZE
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page size must be within 1..{MAX_PAGE_SIZE}")
        self.client = client
        self.in_flight = max(1, in_flight)
        self.page_size = page_size
        self._cap: int | None = None  # a smaller server cap, once confirmed
        self._uncapped = False  # a page of page_size rows came back: no smaller cap

    # -- one page ---------------------------------------------------------------------------
    def fetch(
        self, window: Window, position: int, limit: int, spool=None
    ) -> tuple[pa.RecordBatch, str]:
        """One page; with a ``spool`` (``get``/``put`` by call, see ``metabase.openml.spool``) a
        page received before is read from it, and a page received now is put there at once.
        """
        call = window.call(position, limit)
        if spool is not None:
            batch = spool.get(call)
            if batch is not None:
                return batch, mask_url(self.client.url(call))
        batch, url = self._fetch(window, call)
        if spool is not None:
            spool.put(call, batch)
        return batch, url

    def _fetch(self, window: Window, call: str) -> tuple[pa.RecordBatch, str]:
        spec = window.spec

        def consume(body: bytes, url: str):
            parser = FastPageParser(spec, url)
            parser.feed(body)
            return parser.close()

        try:
            return self.client.request(call, consume), mask_url(self.client.url(call))
        except NoResults:
            return empty_batch(spec), mask_url(self.client.url(call))

    # -- many windows -----------------------------------------------------------------------
    def pages(
        self,
        windows: Sequence[Window],
        start: dict[str, tuple[int, int]] | None = None,
        max_rows_per_window: int | None = None,
        spool=None,
    ) -> Iterator[Page]:
        """Yield every page of every window; a window's pages come in order.

        ``start`` maps window keys to ``(position, rows already had)`` to resume at;
        ``max_rows_per_window`` stops each window after that many rows in all. Pages of different
        windows come in completion order. Closing the iterator cancels what has not started.
        ``spool`` keeps received pages until the consumer has committed them (see ``fetch``).
        """
        start = start or {}
        pending = deque(_State(w, *start.get(w.key, (0, 0)), max_rows_per_window) for w in windows)
        active: list[_State] = []
        futures: dict[Future, tuple[_State, int, int, int]] = {}
        pool = ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="openml-list")
        try:
            while pending or active or futures:
                self._fill(pool, futures, pending, active, spool)
                for state in [s for s in active if self._finished(s)]:
                    active.remove(state)
                    if state.given == 0:  # nothing to ask (its row limit was reached before)
                        yield Page(
                            state.window,
                            state.next_yield,
                            empty_batch(state.window.spec),
                            True,
                            state.next_yield,
                            state.rows,
                        )
                if not futures:
                    if pending or active:
                        continue
                    break
                done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
                for future in done:
                    state, position, gen, limit = futures.pop(future)
                    state.outstanding -= 1
                    batch, url = future.result()
                    if gen == state.gen and not state.end:
                        yield from self._arrive(state, position, batch, url, limit)
        finally:
            for future in futures:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)

    def _want(self, state: _State) -> int:
        bounds = [min(self.page_size, self._cap or self.page_size)]
        window = state.window
        if window.max_rows is not None or state.limit_rows is not None:
            ahead = state.rows
            if not window.key_filter:  # offset mode: pages already asked for count too
                ahead += state.next_submit - state.next_yield
            for bound in (window.max_rows, state.limit_rows):
                if bound is not None:
                    bounds.append(bound - ahead)
        return min(bounds)

    def _can_submit(self, state: _State) -> bool:
        if state.end or state.window.passed(state.next_submit):
            return False
        if state.window.key_filter and state.outstanding:
            return False  # keyset pages depend on the previous one
        return self._want(state) > 0

    def _submit(self, pool, futures, state: _State, spool) -> None:
        position = state.next_submit
        limit = self._want(state)
        futures[pool.submit(self.fetch, state.window, position, limit, spool)] = (
            state,
            position,
            state.gen,
            limit,
        )
        state.outstanding += 1
        if not state.window.key_filter:
            state.next_submit = position + limit

    def _fill(self, pool, futures, pending: deque, active: list, spool) -> None:
        # windows already started go first (depth first: their marks complete sooner, and a
        # confirmed page-size question is answered before many windows ask it), then new
        # windows; deeper pages of offset windows are asked speculatively once shown full
        for state in active:
            while (
                len(futures) < self.in_flight
                and self._can_submit(state)
                and (state.outstanding == 0 or state.given > 0)
                and state.outstanding < self.in_flight
            ):
                self._submit(pool, futures, state, spool)
        while len(futures) < self.in_flight and pending:
            state = pending.popleft()
            active.append(state)
            if self._can_submit(state):
                self._submit(pool, futures, state, spool)

    def _finished(self, state: _State) -> bool:
        return state.outstanding == 0 and not self._can_submit(state) and not state.buffer

    def _arrive(
        self, state: _State, position: int, batch: pa.RecordBatch, url: str, limit: int
    ) -> Iterator[Page]:
        state.buffer[position] = (batch, url, limit)
        window = state.window
        while state.next_yield in state.buffer and not state.end:
            at = state.next_yield
            batch, url, asked = state.buffer.pop(at)
            rows = batch.num_rows
            self._learn_cap(state, rows, asked)
            if rows and rows != asked and not window.key_filter:
                # a capped page, not the end: offset pages asked ahead of it are misaligned now
                state.gen += 1
                state.buffer.clear()
                state.next_submit = at + rows
            state.next_yield = window.next_position(at, batch)
            if window.key_filter:
                state.next_submit = state.next_yield
            state.rows += rows
            last = rows == 0 or self._remaining(state) <= 0 or window.passed(state.next_yield)
            if last:
                state.end = True
                state.buffer.clear()
            state.given += 1
            yield Page(
                window,
                at,
                batch,
                last,
                state.next_yield,
                state.rows - rows,
                url,
                window.call(at, asked),
            )

    def _learn_cap(self, state: _State, rows: int, asked: int) -> None:
        """A short offset page followed by more rows shows the server's cap: later pages ask for
        that many, so the offsets of pages asked ahead line up. Only offset windows teach it (a
        keyset page costs the same whatever its size, and new uploads can follow a true end).
        """
        if state.maybe_cap and rows:
            self._cap = state.maybe_cap
        state.maybe_cap = 0
        if rows >= asked >= self.page_size:
            self._uncapped = True  # the server gave a whole page: it does not cap below ours
        elif 0 < rows < asked and self._cap is None and not self._uncapped:
            state.maybe_cap = 0 if state.window.key_filter else rows

    def _remaining(self, state: _State) -> int:
        bounds = [1 << 62]
        for bound in (state.window.max_rows, state.limit_rows):
            if bound is not None:
                bounds.append(bound - state.rows)
        return min(bounds)

    # -- conveniences -----------------------------------------------------------------------
    def table(self, windows: Sequence[Window]) -> pa.Table:
        """All rows of ``windows`` as one table (small lists: tasks, datasets, flows)."""
        batches = [p.batch for p in self.pages(windows) if p.batch.num_rows]
        if not batches:
            return (
                pa.Table.from_batches([empty_batch(windows[0].spec)]) if windows else pa.table({})
            )
        return pa.Table.from_batches(batches)
