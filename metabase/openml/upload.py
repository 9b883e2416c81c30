"""Uploads to OpenML: flows (find or publish) and runs, each run exactly once.

A run is POSTed by hand, one attempt at a time (openml-python retries a POST on a connection
error, which uploads a second run when only the answer was lost). Before any retry of an upload
that may have reached the server (a reset, a timeout, a 5xx, or an attempt a killed process began)
the server is asked for runs carrying the run's unique tag, and an existing one is adopted.
The API key travels in the form body only, never in a URL, a message or a log line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from metabase.errors import OpenMLError
from metabase.openml.http import NoResults, error_from_body, mask_url, parse_retry_after, reason

log = logging.getLogger(__name__)


class RunRefused(OpenMLError):
    """The server refused this run (HTTP 412): sending it again would not help."""


class ServerDown(OpenMLError):
    """The server cannot be reached at all; the outbox keeps the run for the next publish."""


@dataclass(frozen=True)
class Uploaded:
    run_id: int
    adopted: bool  # True: the server held the run already (found by its tag)


_READABLE = {
    102: "the server refused the API key",
    103: "the server refused the API key",
    104: "the server refused the API key",
}


def refusal(code: int | None, message: str, flow_id: int | None = None) -> str:
    """One readable line for an OpenML error code."""
    if code in _READABLE or "authentication" in message.lower() or "api key" in message.lower():
        return _READABLE.get(code, "the server refused the API key")
    if code == 204 or "unknown flow" in message.lower():
        return (
            f"flow {flow_id} is not known to the server"
            if flow_id
            else "the flow is not known to the server"
        )
    if code == 203 or "unknown task" in message.lower():
        return "the task is not known to the server"
    return f"OpenML refused the run (code {code}): {reason(message)}"


class Uploader:
    """Flow and run uploads through one gateway (its server, key, retry policy and cache)."""

    def __init__(self, gateway, sleep: Callable[[float], None] = time.sleep) -> None:
        self.gateway = gateway
        self.sleep = sleep
        self.posts = 0
        self.lookups = 0
        self._pool = None

    # -- flows --------------------------------------------------------------------------------
    def flow_id(self, flow) -> int:
        """The server's id of ``flow`` (name + external version), published when it has none;
        ``flow`` gets the server's ids (its components' too) for its parameter settings.
        """
        with self.gateway._openml() as openml:
            from openml.flows.flow import _copy_server_fields

            fid = openml.flows.flow_exists(flow.name, flow.external_version)
            if not fid:
                try:
                    flow.publish()
                    fid = flow.flow_id
                except Exception:  # noqa: BLE001 - a lost answer may have stored it: ask again
                    fid = openml.flows.flow_exists(flow.name, flow.external_version)
                    if not fid:
                        raise
            server = openml.flows.get_flow(int(fid))
            _copy_server_fields(server, flow)
            return int(fid)

    @staticmethod
    def copy_ids(known, flow) -> None:
        """Give ``flow`` the server ids of ``known``, a flow of the same structure."""
        from openml.flows.flow import _copy_server_fields

        _copy_server_fields(known, flow)

    # -- runs -------------------------------------------------------------------------------------
    def runs_with_tag(self, tag: str) -> list[int]:
        """Ids of the server's runs carrying ``tag`` (an empty list when none)."""
        from lxml import etree

        self.lookups += 1
        try:
            body = self.gateway.client.get_bytes(f"run/list/tag/{tag}")
        except NoResults:
            return []
        root = etree.fromstring(body)
        return sorted(int(e.text) for e in root.iter("{http://openml.org/openml}run_id"))

    def publish_run(
        self,
        description: str,
        predictions: str | None,
        tag: str,
        *,
        maybe_stored: bool,
        before_send: Callable[[], None],
        flow_id: int | None = None,
    ) -> Uploaded:
        """POST the run until the server answers with its id, or adopt the run the server
        already holds under ``tag``. ``maybe_stored``: an earlier attempt (perhaps of a killed
        process) may have reached the server. ``before_send`` records that an upload begins.
        """
        policy = self.gateway.policy
        last = "no attempt"
        refused = 0
        for attempt in range(policy.attempts):
            if maybe_stored:
                found = self.runs_with_tag(tag)
                if found:
                    return Uploaded(found[0], True)
            before_send()
            status, body, retry_after, problem = self._post(description, predictions)
            if status == 200:
                run_id = _run_id(body)
                if run_id is not None:
                    return Uploaded(run_id, False)
                problem = "an answer without a run id"  # stored, perhaps: look the tag up
            if status == 412 or (status is not None and 400 <= status < 500 and status != 429):
                error = error_from_body(body or b"", "")
                code = error.code if error is not None else None
                raise RunRefused(refusal(code, str(error) if error else f"HTTP {status}", flow_id))
            if problem == "refused":  # nothing reached the server
                refused += 1
                if refused >= policy.connect_attempts:
                    raise ServerDown(
                        f"cannot reach OpenML at {mask_url(self.gateway.server)}: "
                        "connection refused; "
                        "the runs stay in the outbox for the next `metabase publish`"
                    )
            elif status != 429:  # a 429 is answered before the upload is read
                maybe_stored = True
            last = problem or f"HTTP {status}"
            if attempt + 1 < policy.attempts:
                delay = self.gateway.client._jittered(attempt, retry_after)
                log.debug("run upload retried in %.2fs after %s", delay, last)
                self.sleep(delay)
        raise OpenMLError(f"the run upload failed after {policy.attempts} attempts ({last})")

    def _post(self, description: str, predictions: str | None):
        """One POST ``run``: (status or None, body, Retry-After seconds, problem or None)."""
        import urllib3
        from urllib3.exceptions import HTTPError, NewConnectionError

        fields = {
            "api_key": self.gateway.apikey or "",
            "description": ("description.xml", description.encode("utf-8"), "text/xml"),
        }
        if predictions is not None:
            fields["predictions"] = ("predictions.arff", predictions.encode("utf-8"), "text/plain")
        body, content_type = urllib3.encode_multipart_formdata(fields)
        if self._pool is None:
            policy = self.gateway.policy
            self._pool = urllib3.PoolManager(
                retries=False,
                timeout=urllib3.Timeout(
                    connect=policy.connect_timeout_s, read=policy.read_timeout_s
                ),
            )
        self.posts += 1
        try:
            response = self._pool.request(
                "POST",
                f"{self.gateway.server}/run/",
                body=body,
                headers={"Content-Type": content_type},
                retries=False,
            )
        except NewConnectionError:
            return None, None, None, "refused"
        except HTTPError as exc:
            return None, None, None, f"connection broken ({type(exc).__name__})"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return (
            response.status,
            response.data,
            retry_after,
            None if response.status < 500 else f"HTTP {response.status}",
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()


def _run_id(body: bytes) -> int | None:
    from lxml import etree

    try:
        root = etree.fromstring(body)
        return int(root.findtext("{http://openml.org/openml}run_id"))
    except (etree.XMLSyntaxError, TypeError, ValueError):
        return None
