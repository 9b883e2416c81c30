"""Retraining the recommend models in a background process once enough new results arrived (and
at most every ``retrain_min_s``), off the loop's path. A part of :class:`~metabase.bot.loop.Bot`.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("metabase.bot")


class Retraining:
    # -- retraining ----------------------------------------------------------------------------
    def _poll_retrain(self) -> None:
        o = self.options
        if self._retrain is not None:
            code = self._retrain.poll()
            if code is None:
                return
            outcome = "done" if code == 0 else f"failed (exit {code}): {self._retrain.error()}"
            for line in self._retrain.warnings():
                log.warning("retrain: %s", line.split(" ", 1)[1])
            self.session.event("retrain", f"retrained the recommend models: {outcome}")
            if code == 0:  # its held-out quality (the process cannot write the store: we hold it)
                self.session.record_quality(self._retrain.result())
            self.summary.retrains += code == 0
            self._retrain = None
        due = time.monotonic() - self._last_retrain >= o.retrain_min_s
        if self._since_retrain >= o.retrain_every and due and not self.stopping:
            self._since_retrain = 0
            self._last_retrain = time.monotonic()
            why = self.session.nothing_to_learn()
            if why is not None:  # a bot on one task: an info line, not a failed retrain
                self.session.event("retrain", f"retrain skipped: {why}")
                return
            self._retrain = self.session.start_retrain()
            self.session.event("retrain", "retraining the recommend models in the background")

    def _stop_retrain(self) -> None:
        if self._retrain is not None:
            self._retrain.stop()
            self._retrain = None
