"""The retrain process the bot starts (see :mod:`metabase.services.bot_retrain`): prints one JSON
line, ``{"key": the cache key of the models it built, "runs": the store's runs, "quality": the
held-out measurement}``, or one error line on stderr with exit code 1.
"""

from __future__ import annotations

import json
import logging
import sys

MEASURE_NICE = 10  # the held-out measurement yields the cores to the bot's runs


def main(argv: list[str] | None = None) -> int:
    from metabase.errors import MetabaseError
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    args = sys.argv[1:] if argv is None else argv
    # warnings (a corrupt cache rebuilt, say) go to stderr, which the bot reads and logs
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ws = Workspace(Settings.resolve(store=args[0], offline=True))
    try:
        from metabase.services.bot_retrain import retrain_and_measure

        print(json.dumps(retrain_and_measure(ws, nice=MEASURE_NICE)), flush=True)
    except MetabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
