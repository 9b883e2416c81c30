"""How the bot stops: SIGTERM or Ctrl-C give the running jobs ``grace_s`` to finish (a second
signal, or the grace's end, stops them at once), and the heartbeat thread, which renews the
bot's registration and its jobs' leases, stops it when another bot took the store over. A part
of :class:`~metabase.bot.loop.Bot`.
"""

from __future__ import annotations

import logging
import signal
import threading

from metabase.errors import MetabaseError

log = logging.getLogger("metabase.bot")


class _GraceOver(BaseException):
    """The grace after a stop request is over: stop the running jobs now."""


class Stopping:
    # -- heartbeat and signals -----------------------------------------------------------------
    def _beat_loop(self) -> None:
        while not self._beat_stop.wait(self.options.beat_s):
            try:
                if not self.session.beat():
                    self._request_stop("another bot took the store over")
            except MetabaseError as exc:
                log.error("heartbeat: %s", exc)

    def _request_stop(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = reason
        log.warning(
            "stopping (%s): %d running jobs have %g s to finish",
            reason,
            len(self.in_flight),
            self.options.grace_s,
        )
        if threading.current_thread() is threading.main_thread():
            signal.setitimer(signal.ITIMER_REAL, max(self.options.grace_s, 0.001))

    def _install_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def grace_over() -> None:
            # raised only into the wait for runs: raised inside a store query, DuckDB turns it
            # into its own "Query interrupted" error, and the bot would exit 1
            if self._waiting:
                raise _GraceOver()
            self._grace_due = True

        def on_stop(signum, frame) -> None:
            if self._closing:
                return
            if self.stopping and signum != signal.SIGALRM:
                grace_over()  # asked twice: stop now
                return
            self._request_stop(f"signal {signal.Signals(signum).name}")

        def on_alarm(signum, frame) -> None:
            if not self._closing:
                grace_over()

        saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)}
        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGALRM, on_alarm)
        return saved

    @staticmethod
    def _restore_signals(saved: dict) -> None:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
