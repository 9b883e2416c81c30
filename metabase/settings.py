"""Where things live and which OpenML server to talk to.

Resolution order for every setting: explicit argument (CLI option) > environment variable >
default. The API key may also come from openml-python's own config file; it is never logged,
printed or stored in the knowledge base (``Settings.__repr__`` masks it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

LIVE_OPENML_SERVER = "https://www.openml.org/api/v1/xml"

ENV_STORE = "METABASE_STORE"
ENV_SERVER = "METABASE_OPENML_SERVER"
ENV_APIKEY = "METABASE_OPENML_APIKEY"
ENV_OFFLINE = "METABASE_OFFLINE"
ENV_DATA_DIR = "METABASE_OPENML_DATA"
ENV_RETRIES = "METABASE_OPENML_RETRIES"  # attempts per OpenML request
ENV_BACKOFF = "METABASE_OPENML_BACKOFF_S"  # base back-off between attempts, seconds
# 1: parse and type setup pages in a worker process (opt-in: on a busy 2-core machine the
# process start and pickling cost as much as the second core gave)
ENV_SYNC_PROCESS = "METABASE_SYNC_PROCESS"
# Test hook of the resume tests: ``phase:n:before|after`` SIGKILLs a sync at the n-th write of a
# phase, inside its transaction (before the commit) or right after it.
ENV_SYNC_CRASH_AT = "METABASE_SYNC_CRASH_AT"


def checkout_root() -> Path | None:
    """The repository root when metabase runs from a checkout, else None."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "data").is_dir():
        return root
    return None


def default_data_dir() -> Path:
    """``data/`` in a checkout, else the per-user data directory."""
    root = checkout_root()
    if root is not None:
        return root / "data"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "metabase"


def default_store_path() -> Path:
    return default_data_dir() / "metabase.duckdb"


def default_openml_data() -> Path | None:
    """``../shared/openml-data`` beside the checkout, when it exists (the replay server's data)."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env)
    root = checkout_root()
    if root is not None:
        candidate = root.parent / "shared" / "openml-data"
        if candidate.is_dir():
            return candidate
    return None


def _apikey_from_openml_config() -> str | None:
    path = Path(os.environ.get("OPENML_CONFIG", Path.home() / ".config" / "openml" / "config"))
    if not path.is_file():
        return None
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "apikey" and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one invocation."""

    store_path: Path = field(default_factory=default_store_path)
    openml_server: str = LIVE_OPENML_SERVER
    apikey: str | None = field(default=None, repr=False)
    offline: bool = False
    cache_dir: Path = field(default_factory=lambda: default_data_dir() / "openml-cache")
    # tuning and test switches, read from the environment by :meth:`resolve` only
    openml_retries: int | None = None
    openml_backoff_s: float | None = None
    sync_process: bool = False
    sync_crash_at: str | None = None

    def __repr__(self) -> str:  # never show the key
        key = "***" if self.apikey else None
        return (
            f"Settings(store_path={str(self.store_path)!r}, openml_server={self.openml_server!r}, "
            f"apikey={key}, offline={self.offline}, cache_dir={str(self.cache_dir)!r})"
        )

    @property
    def model_dir(self) -> Path:
        """Trained models are cached beside the store, in ``<store file name>.models/`` (named
        after the whole file name, so ``kb.duckdb`` and ``kb.db`` in one folder keep apart).
        """
        return self.store_path.with_name(self.store_path.name + ".models")

    @classmethod
    def resolve(
        cls,
        store: str | Path | None = None,
        openml_server: str | None = None,
        apikey: str | None = None,
        offline: bool | None = None,
    ) -> "Settings":
        store_path = Path(store or os.environ.get(ENV_STORE) or default_store_path()).expanduser()
        server = openml_server or os.environ.get(ENV_SERVER) or LIVE_OPENML_SERVER
        key = apikey or os.environ.get(ENV_APIKEY) or _apikey_from_openml_config()
        if offline is None:
            offline = os.environ.get(ENV_OFFLINE, "").lower() in {"1", "true", "yes"}
        retries, backoff = _retry_tuning()
        return cls(
            store_path=store_path,
            openml_server=server.rstrip("/"),
            apikey=key,
            offline=offline,
            cache_dir=store_path.parent / "openml-cache",
            openml_retries=retries,
            openml_backoff_s=backoff,
            sync_process=os.environ.get(ENV_SYNC_PROCESS) == "1",
            sync_crash_at=os.environ.get(ENV_SYNC_CRASH_AT) or None,
        )


def _retry_tuning() -> tuple[int | None, float | None]:
    from metabase.errors import ConfigError

    try:
        retries = os.environ.get(ENV_RETRIES)
        backoff = os.environ.get(ENV_BACKOFF)
        return (
            None if retries is None else int(retries),
            None if backoff is None else float(backoff),
        )
    except ValueError:
        raise ConfigError(f"{ENV_RETRIES} must be an integer and {ENV_BACKOFF} a number") from None
