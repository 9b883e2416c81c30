"""The grace's end stops the bot's wait on its runs, never a store query in progress: raised
inside a DuckDB query, the signal handler's exception became DuckDB's "Query interrupted" and the
bot exited 1 after a SIGTERM (seen in test_bot_kill under load).
"""

from __future__ import annotations

import os
import signal

import pytest

from metabase.bot.loop import Bot
from metabase.bot.stopping import Stopping, _GraceOver


class _Stopping(Stopping):
    def __init__(self) -> None:
        self._closing, self._waiting, self._grace_due, self.stopping = False, False, False, None


class _Pool:
    def __init__(self, stopping: _Stopping) -> None:
        self.stopping, self.closed = stopping, False

    def results(self):
        try:
            os.kill(os.getpid(), signal.SIGALRM)  # the grace ends while the bot waits
            yield "never reached"
        finally:
            self.closed = True


@pytest.fixture
def stopping():
    bot = _Stopping()
    saved = bot._install_signals()
    yield bot
    Stopping._restore_signals(saved)


def test_the_grace_ending_outside_the_wait_is_kept_for_the_wait(stopping):
    os.kill(os.getpid(), signal.SIGALRM)  # the grace ends during a store query, say
    assert stopping._grace_due
    pool = _Pool(stopping)
    with pytest.raises(_GraceOver):
        Bot._next_result(stopping, pool)
    assert not stopping._waiting


def test_the_grace_ending_during_the_wait_stops_it_at_once(stopping):
    pool = _Pool(stopping)
    with pytest.raises(_GraceOver):
        Bot._next_result(stopping, pool)
    assert pool.closed and not stopping._waiting


def test_a_second_signal_outside_the_wait_is_kept_too(stopping):
    stopping.stopping = "signal SIGTERM"
    os.kill(os.getpid(), signal.SIGTERM)
    assert stopping._grace_due
