"""``python -m metabase.testing.replay [--data DIR] [--port N] [--faults SPEC] [--scale N]``.

The same server as ``metabase replay-server``, without the CLI; used to run it in a separate
process (benchmarks: the client then does not share the server's interpreter lock).
"""

from __future__ import annotations

import argparse
import sys

from metabase.errors import MetabaseError

from . import serve


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m metabase.testing.replay")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--data", default=None)
    p.add_argument("--faults", default=None)
    p.add_argument("--scale", type=int, default=None)
    a = p.parse_args(argv)
    try:
        serve(
            a.data,
            host=a.host,
            port=a.port,
            faults=a.faults,
            scale=a.scale,
            on_ready=lambda url: print(url, flush=True),
        )
    except MetabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
