"""An on-disk copy of the parsed catalog, so that a server in a fresh process starts in a blink.

The file lives in the user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``, then
``metabase/replay``; ``METABASE_REPLAY_CACHE=0`` turns it off). Its name is a hash of the data
directory's path, of the size and modification time of every source file the catalog reads, and of
the catalog code itself, so a changed export or a changed reader never meets a stale copy.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

_SOURCES = (
    "openml-pimp/KDD2018/data",
    "openml-aslib/openmlmetadata/output",
    "qualities",
    "extra",
    "tabrepo",
    "tabular-benchmark/src",
    "openml-server/data/sql",
    "datasets",
    "pmlb/datasets",
)
_CODE = ("catalog.py", "exports.py", "sqldump.py", "ids.py")


def _fingerprint(data_dir: Path) -> str:
    h = hashlib.sha256(str(data_dir.resolve()).encode())
    here = Path(__file__).parent
    for name in _CODE:
        h.update((here / name).read_bytes())
    for sub in _SOURCES:
        root = data_dir / sub
        if not root.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for f in sorted(filenames):
                st = os.stat(os.path.join(dirpath, f))
                h.update(
                    f"{os.path.relpath(os.path.join(dirpath, f), data_dir)}:"
                    f"{st.st_size}:{st.st_mtime_ns}".encode()
                )
    return h.hexdigest()[:32]


def _cache_dir() -> Path | None:
    if os.environ.get("METABASE_REPLAY_CACHE", "1") == "0":
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "metabase" / "replay"


def load_or_build(data_dir: Path, build):
    """The cached catalog of ``data_dir`` if one matches, else ``build()`` (then cached)."""
    folder = _cache_dir()
    if folder is None:
        return build()
    path = folder / f"catalog-{_fingerprint(data_dir)}.pickle"
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)  # our own file, in the user's own cache directory
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        pass
    catalog = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(catalog, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # atomic: concurrent servers never read half a file
    except OSError:
        pass  # a read-only home: just no cache
    return catalog
