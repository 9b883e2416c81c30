"""The OpenML gateway: entities through the ``openml`` package, bulk lists through the lister.

``openml.config`` is process-global, so every call into the package configures it (server, key,
cache root) under a lock and restores the previous values afterwards. Errors come back as one of
metabase's: :class:`NotFoundError` for an unknown id, :class:`OpenMLError` for a server that cannot
be reached or answers badly. The API key never appears in a message (URLs are masked).
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from metabase.errors import NotFoundError, OpenMLError
from metabase.openml.http import HttpClient, RetryPolicy, UnknownEntity, mask_url, reason
from metabase.openml.lister import Lister

_CONFIG_LOCK = threading.RLock()

# OpenML's study aliases (the API resolves them too: study/OpenML-CC18).
STUDY_ALIASES = {
    "openml-cc18": 99,
    "openml100": 14,
    "openml-cc21": 271,
    "amlb": 269,
    "openml-ctr23": 353,
}


@dataclass(frozen=True)
class TaskInfo:
    """What callers need of a task; ``openml_task`` is the package's object (splits, ...)."""

    task_id: int
    dataset_id: int
    target: str | None
    task_type: str | None
    task_type_id: int | None
    estimation_procedure: str | None = None
    evaluation_measure: str | None = None
    class_labels: tuple | None = None
    openml_task: Any = field(default=None, repr=False, compare=False)

    @property
    def target_name(self) -> str | None:
        return self.target


def retry_policy(settings) -> RetryPolicy:
    """The default policy, with the settings' tuning (``METABASE_OPENML_RETRIES`` attempts,
    ``METABASE_OPENML_BACKOFF_S`` base back-off in seconds) where given.
    """
    policy = RetryPolicy()
    attempts = policy.attempts if settings.openml_retries is None else settings.openml_retries
    base = policy.base_delay_s if settings.openml_backoff_s is None else settings.openml_backoff_s
    return RetryPolicy(attempts=max(1, attempts), base_delay_s=max(0.0, base))


class Gateway:
    """The only door to OpenML. Build it with :meth:`from_settings`."""

    def __init__(
        self,
        server: str,
        apikey: str | None = None,
        cache_dir: str | Path | None = None,
        offline: bool = False,
        in_flight: int = 4,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.apikey = apikey
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.offline = offline
        self.in_flight = in_flight
        self.policy = policy or RetryPolicy()
        self._client: HttpClient | None = None
        self._lister: Lister | None = None
        self._ranges: bool | None = None

    @classmethod
    def from_settings(cls, settings, **kwargs) -> "Gateway":
        """The gateway for ``settings``, with its retry tuning (:func:`retry_policy`)."""
        if "policy" not in kwargs:
            kwargs["policy"] = retry_policy(settings)
        return cls(
            settings.openml_server,
            settings.apikey,
            settings.cache_dir,
            offline=settings.offline,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"Gateway(server={self.server!r}, apikey={'***' if self.apikey else None})"

    # -- plumbing -----------------------------------------------------------------------------
    def _check_online(self) -> None:
        if self.offline:
            raise OpenMLError("offline: this needs OpenML (drop --offline)")

    @property
    def client(self) -> HttpClient:
        self._check_online()
        if self._client is None:
            self._client = HttpClient(
                self.server, self.apikey, self.policy, pool_size=max(4, self.in_flight * 2)
            )
        return self._client

    @property
    def lister(self) -> Lister:
        if self._lister is None:
            self._lister = Lister(self.client, in_flight=self.in_flight)
        return self._lister

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
            self._lister = None

    @contextmanager
    def _openml(self) -> Iterator[Any]:
        """The ``openml`` package configured for this gateway; previous config restored after."""
        self._check_online()
        import openml

        cfg = openml.config
        with _CONFIG_LOCK:
            saved = (
                cfg.server,
                cfg.apikey,
                getattr(cfg, "_root_cache_directory", None),
                getattr(cfg, "connection_n_retries", None),
                getattr(cfg, "retry_policy", None),
            )
            cfg.server = self.server
            cfg.apikey = self.apikey or ""
            if self.cache_dir is not None:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                cfg.set_root_cache_directory(str(self.cache_dir))
            cfg.set_retry_policy("human", 3)
            try:
                yield openml
            except Exception as exc:  # noqa: BLE001 - translated into one of ours, one line
                raise _translate(exc, self.server) from None
            finally:
                cfg.server, cfg.apikey = saved[0], saved[1]
                if saved[2] is not None:
                    cfg.set_root_cache_directory(str(saved[2]))
                if saved[4] is not None:
                    cfg.set_retry_policy(saved[4], saved[3])

    # -- entities (openml package) ------------------------------------------------------------
    def get_task(self, task_id: int, download_splits: bool = False) -> TaskInfo:
        """A task with its dataset id, target and type (``NotFoundError`` when unknown)."""
        with self._openml() as openml:
            task = openml.tasks.get_task(
                int(task_id),
                download_splits=download_splits,
                download_data=False,
                download_qualities=False,
            )
        ep = getattr(task, "estimation_procedure", None) or {}
        labels = getattr(task, "class_labels", None)
        return TaskInfo(
            task_id=int(task.task_id),
            dataset_id=int(task.dataset_id),
            target=getattr(task, "target_name", None),
            task_type=getattr(task, "task_type", None),
            task_type_id=int(task.task_type_id.value)
            if getattr(task, "task_type_id", None) is not None
            else None,
            estimation_procedure=ep.get("type") if isinstance(ep, dict) else None,
            evaluation_measure=getattr(task, "evaluation_measure", None),
            class_labels=tuple(labels) if labels else None,
            openml_task=task,
        )

    def get_dataset(self, dataset_id: int, download_data: bool = False):
        """The ``openml`` dataset object (description, features; data on demand)."""
        with self._openml() as openml:
            return openml.datasets.get_dataset(
                int(dataset_id),
                download_data=download_data,
                download_qualities=False,
                download_features_meta_data=False,
            )

    def get_dataset_frame(self, dataset_id: int, target: str | None = None):
        """``(X, y)`` of a dataset; ``y`` is the default target (or ``target``), None if none."""
        with self._openml() as openml:
            dataset = openml.datasets.get_dataset(
                int(dataset_id),
                download_data=True,
                download_qualities=False,
                download_features_meta_data=False,
            )
            target = target or dataset.default_target_attribute
            if target and "," in target:
                target = target.split(",")[0]
            X, y, _, _ = dataset.get_data(target=target or None, dataset_format="dataframe")
        return X, y

    def get_task_data(self, task_id: int):
        """The task's X, y and its own split file, for the runner
        (:class:`~metabase.records.TaskData`).
        """
        from metabase.openml.taskdata import fetch_task_data

        return fetch_task_data(self, task_id)

    def get_flow(self, flow_id: int):
        with self._openml() as openml:
            return openml.flows.get_flow(int(flow_id), reinstantiate=False)

    def get_run(self, run_id: int):
        with self._openml() as openml:
            return openml.runs.get_run(int(run_id))

    def get_setup(self, setup_id: int):
        with self._openml() as openml:
            return openml.setups.get_setup(int(setup_id))

    def supports_id_ranges(self) -> bool:
        """Whether list filters accept ``low..high`` id ranges (keyset paging); probed once.

        Without them the lister pages windows by offset (still bounded per task window).
        """
        if self._ranges is None:
            from metabase.openml.http import NoResults, ServerError

            try:
                self.client.get_bytes(
                    "evaluation/list/function/predictive_accuracy/run/1..1/limit/1/offset/0"
                )
                self._ranges = True
            except NoResults:
                self._ranges = True
            except ServerError:
                self._ranges = False
        return self._ranges

    def evaluation_measures(self) -> frozenset[str] | None:
        """The evaluation measure names the server knows (``evaluationmeasure/list``), or None
        when it does not answer that call (then names cannot be checked).
        """
        from metabase.openml.entities import parse_measures
        from metabase.openml.http import ServerError

        try:
            return frozenset(parse_measures(self.client.get_bytes("evaluationmeasure/list")))
        except (ServerError, UnknownEntity):
            return None

    # -- raw entity XML (fast, parallel; used by the sync) -------------------------------------
    def entity_xml(self, call: str) -> bytes:
        return self.client.get_bytes(call)

    def many_xml(self, calls: Iterable[str], not_found_ok: bool = False) -> list[bytes | None]:
        """GET several entity calls with the lister's bound on requests in flight."""
        calls = list(calls)

        def one(call: str) -> bytes | None:
            try:
                return self.client.get_bytes(call)
            except UnknownEntity:
                if not_found_ok:
                    return None
                raise

        if len(calls) <= 1:
            return [one(c) for c in calls]
        with ThreadPoolExecutor(
            max_workers=self.in_flight, thread_name_prefix="openml-get"
        ) as pool:
            return list(pool.map(one, calls))

    def study(self, id_or_alias: str | int) -> dict:
        """A study or suite:
        ``{"id", "name", "alias", "tasks", "data", "flows", "setups", "runs"}``.
        """
        from metabase.openml.entities import parse_study

        text = str(id_or_alias).strip()
        candidates = [text]
        if not text.isdigit() and text.lower() in STUDY_ALIASES:
            candidates.append(str(STUDY_ALIASES[text.lower()]))
        last: Exception | None = None
        for candidate in candidates:
            try:
                return parse_study(self.client.get_bytes(f"study/{candidate}"))
            except (UnknownEntity, NotFoundError) as exc:
                last = exc
            except OpenMLError as exc:
                if getattr(exc, "code", None) is None:
                    raise
                last = exc
        raise NotFoundError(f"unknown study or suite {text!r} on {mask_url(self.server)}: {last}")


# OpenML's codes for an unknown id or an empty result (task, dataset, flow, run, setup, study)
_NOT_FOUND_CODES = frozenset({110, 111, 151, 152, 180, 181, 220, 221, 236, 280, 281})
# openml-python's message for a file download answered by a status it cannot parse
_MISSING_FILE = re.compile(
    r"when calling (?P<url>\S+?)\.? Please contact the developers!\s*Status code: 404\b"
)


def _translate(exc: Exception, server: str) -> Exception:
    """One of metabase's errors for what the openml package, or the transport under it, raised."""
    import requests
    import urllib3
    from openml import exceptions as oe

    from metabase.errors import MetabaseError

    if isinstance(exc, MetabaseError):
        return exc
    name = type(exc).__name__
    message = reason(mask_url(str(exc))) if str(exc).strip() else name
    if isinstance(exc, oe.OpenMLServerNoResult) or (
        isinstance(exc, oe.OpenMLServerException)
        and (exc.code in _NOT_FOUND_CODES or "unknown" in message.lower())
    ):
        return NotFoundError(f"not found on OpenML ({mask_url(server)}): {message}")
    missing = _MISSING_FILE.search(str(exc)) if type(exc) is oe.OpenMLServerError else None
    if missing:  # openml-python's "unexpected server error ... contact the developers" for a 404
        return NotFoundError(
            f"the file {mask_url(missing['url'])} is missing on the OpenML server "
            f"({mask_url(server)}: HTTP 404); the dataset cannot be downloaded from there"
        )
    unreachable = (
        ConnectionError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        urllib3.exceptions.MaxRetryError,
        urllib3.exceptions.NewConnectionError,
    )
    # the bare OpenMLServerError is "no usable answer"; its subclasses are answers (below)
    if isinstance(exc, unreachable) or type(exc) is oe.OpenMLServerError:
        return OpenMLError(f"cannot reach OpenML at {mask_url(server)}: {message}")
    if isinstance(exc, oe.PyOpenMLError):
        return OpenMLError(f"OpenML error ({mask_url(server)}): {message}")
    return exc
