"""The bot's log: a rotating file beside the store (``<store>.bot.log``, 10 MB x 5) and stderr."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

MAX_BYTES, BACKUPS = 10 * 2**20, 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file, opened again (with one line saying so) when it was deleted or
    moved away under the bot, as :class:`logging.handlers.WatchedFileHandler` does: else every
    later line would go to a file no one can open.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None and self._gone():
            self.stream.close()
            self.stream = self._open()
            gone = logging.LogRecord(
                record.name,
                logging.WARNING,
                __file__,
                0,
                "the log file %s was deleted: started it again",
                (self.baseFilename,),
                None,
            )
            super().emit(gone)
        super().emit(record)

    def _gone(self) -> bool:
        try:
            now = os.stat(self.baseFilename)
        except FileNotFoundError:
            return True
        opened = os.fstat(self.stream.fileno())
        return (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino)


class _Stderr(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a record comes, not as it was when the bot started
    (as the logging module's own last-resort handler does): a process that runs the CLI more than
    once (the tests do) may have replaced and closed the earlier stream.
    """

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def log_path(store_path) -> Path:
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".bot.log")


def setup_logging(store_path, level: int = logging.INFO) -> Path:
    """Send metabase's log records of ``level`` and above to the file and to stderr (instead of
    an earlier bot's in this process); returns the file's path.
    """
    path = log_path(store_path)
    logger = logging.getLogger("metabase")
    for old in [h for h in logger.handlers if getattr(h, "_metabase_bot", False)]:
        logger.removeHandler(old)
        old.close()
    handlers: list[logging.Handler] = [_Stderr()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(_LogFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS))
    except OSError as exc:  # a read-only folder: stderr only, and say so
        logging.getLogger("metabase.bot").warning("cannot write the log file %s: %s", path, exc)
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._metabase_bot = True
        logger.addHandler(handler)
    logger.setLevel(min(level, logger.level or level))
    logger.propagate = False  # the CLI's own stderr handler would print each line twice
    return path


def stop_logging() -> None:
    """Take the bot's handlers off again (the CLI may run more commands in this process)."""
    logger = logging.getLogger("metabase")
    for old in [h for h in logger.handlers if getattr(h, "_metabase_bot", False)]:
        logger.removeHandler(old)
        old.close()
    logger.propagate = True
