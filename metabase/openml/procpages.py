"""A lister in a child process: pages fetched, parsed and transformed beside the caller.

The lister's threads share one interpreter lock with whatever consumes their pages, so a sync that
parses pages, builds records and writes them runs on one core however many it has. Here the
child process does the fetching, parsing and a picklable ``transform`` of each page (e.g. typed
setup records), and the caller only receives the results (Arrow tables travel pickled, i.e. as
Arrow IPC buffers) and writes them. Pages keep the lister's order guarantees (a window's pages
come in order), so resumable consumers work unchanged.

The child dies with its parent (``PR_SET_PDEATHSIG`` on Linux, and a parent check between
pages): a sync killed with SIGKILL leaves no process behind. Errors come back as
:class:`OpenMLError` with the child's message (page URL included, key masked).
"""

from __future__ import annotations

import os
import queue
import signal
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from metabase.errors import OpenMLError
from metabase.openml.lister import Page, Window

QUEUE_PAGES = 32  # pages waiting for the consumer at most (bounds the memory they take)


@dataclass(frozen=True)
class Transformed:
    """A page's position data and what ``transform`` made of its batch."""

    page: Page  # with an empty batch: only its window, positions and flags travel
    rows: int  # rows of the page before the transform
    result: Any


def process_pages(
    gateway,
    windows: Sequence[Window],
    start: dict | None = None,
    max_rows_per_window: int | None = None,
    transform: Callable | None = None,
    transform_args: tuple = (),
    spool_directory=None,
) -> Iterator[Transformed]:
    """Like ``gateway.lister.pages`` but run in a child process; yields :class:`Transformed`.

    ``transform(batch, *transform_args)`` runs in the child (a module-level function). The calls
    and retries the child made are added to ``gateway.client``'s counters at the end. With
    ``spool_directory`` the child puts every page it receives in a ``metabase.openml.spool``
    there (the caller clears it when the phase is done).
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # no fork of a process holding DuckDB and thread pools
    results = ctx.Queue(maxsize=QUEUE_PAGES)
    proc = ctx.Process(
        target=_work,
        daemon=True,
        name="metabase-lister",
        args=(
            gateway.server,
            gateway.apikey,
            gateway.policy,
            gateway.in_flight,
            list(windows),
            start or {},
            max_rows_per_window,
            transform,
            transform_args,
            os.getpid(),
            results,
            spool_directory,
        ),
    )
    proc.start()
    try:
        while True:
            try:
                item = results.get(timeout=5.0)
            except queue.Empty:
                if not proc.is_alive():
                    raise OpenMLError(
                        f"the list worker process ended unexpectedly (exit code {proc.exitcode})"
                    ) from None
                continue
            kind = item[0]
            if kind == "page":
                yield item[1]
            elif kind == "done":
                client = gateway.client
                client.calls += item[1]
                client.retries += item[2]
                return
            else:
                raise OpenMLError(item[1])
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=10)
        results.close()


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _work(
    server,
    apikey,
    policy,
    in_flight,
    windows,
    start,
    max_rows,
    transform,
    transform_args,
    parent,
    results,
    spool_directory=None,
) -> None:
    _die_with_parent(parent)
    from metabase.errors import MetabaseError
    from metabase.openml.http import HttpClient
    from metabase.openml.lister import Lister

    client = HttpClient(server, apikey, policy, pool_size=max(4, in_flight * 2))
    try:
        lister = Lister(client, in_flight=in_flight)
        spool = None
        if spool_directory is not None:
            from metabase.openml.spool import PageSpool

            spool = PageSpool(spool_directory, server)
        for page in lister.pages(windows, start=start, max_rows_per_window=max_rows, spool=spool):
            if os.getppid() != parent:
                os._exit(1)
            batch = page.batch
            result = transform(batch, *transform_args) if transform is not None else batch
            light = Page(
                page.window,
                page.position,
                batch.slice(0, 0),
                page.last,
                page.next_position,
                page.rows_before,
                page.url,
                page.key,
            )
            results.put(("page", Transformed(light, batch.num_rows, result)))
        results.put(("done", client.calls, client.retries))
    except MetabaseError as exc:
        results.put(("error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        results.put(("error", f"list worker failed: {type(exc).__name__}: {exc}"))
    finally:
        client.close()
