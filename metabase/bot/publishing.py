"""Publishing the bot's stored runs: the outbox's background thread publishes a batch at a time
(exactly once), backing off while OpenML is unreachable, while the loop goes on; at the end,
what waits is published batch after batch. A part of :class:`~metabase.bot.loop.Bot`.
"""

from __future__ import annotations

import time


class Publishing:
    # -- publishing ----------------------------------------------------------------------------
    def _publish(self, final: bool = False) -> None:
        """Collect the last batch's outcome; start the next when it is due. ``final``: publish
        what waits, batch after batch, before the bot ends (until a batch fails).
        """
        o = self.options
        while True:
            if final:
                self.publisher.wait(o.grace_s)
            done = self.publisher.outcome()
            if done is not None and not self._published(done):
                return
            if self.publisher.busy or (not final and time.monotonic() < self._next_publish):
                return
            if not self.publisher.start(o.publish_batch) or not final:
                return

    def _published(self, done) -> bool:
        """Account for a finished batch; False when it failed (the next waits a back-off)."""
        o, report = self.options, done.report
        self.summary.published += done.marked
        problem = done.error or (report.stopped if report is not None else None)
        if report is not None and report.failed and not problem:
            reasons = {r["reason"] for r in report.rows if r["state"] == "failed"}
            problem = f"{report.failed} runs failed to publish: {'; '.join(reasons)}"
        if problem:
            self.session.event(
                "error", f"publish: {problem}; the outbox retries in {self._backoff:g} s"
            )
            self._next_publish = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, o.publish_backoff_max_s)
            return False
        self._backoff = o.publish_backoff_s
        self._next_publish = time.monotonic() + o.publish_every_s
        return True
