"""HTTP to OpenML's REST API: one connection pool, a robot retry policy, the key never shown.

Each answer's body is read whole (urllib3 preloads it, gzip decoded) and then handed to the
caller's ``consume``; list pages are at most 1,000 rows, so nothing is parsed while it downloads.

Transient failures (timeouts, connection resets, 5xx, 429, truncated or malformed XML, and XML
that is not OpenML's, such as an HTML maintenance page answered with status 200) are
retried with exponential back-off and full jitter; a 429's ``Retry-After`` is honoured. After the
retry budget a :class:`OpenMLError` names the page URL with the API key masked. OpenML answers
some requests with an XML error body (often HTTP 412): those are decoded into
:class:`ServerError` (or :class:`NoResults` for the "no results" codes, which end a list).
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, TypeVar
from urllib.parse import urlencode, urlsplit

from metabase.errors import NotFoundError, OpenMLError

log = logging.getLogger(__name__)

OML_NS = "http://openml.org/openml"

# The codes the live server uses for an empty list, per entity (OpenML's "no results").
NO_RESULT_CODES = frozenset({111, 372, 482, 500, 512, 542, 674})
# Codes that mean "this id does not exist" on entity GETs (task 151, data 111/110, flow 181,
# run 220/236, setup 281, study 601/602...). Anything in 1xx-6xx with "unknown" also counts.
UNKNOWN_ID_CODES = frozenset({110, 111, 151, 180, 181, 220, 236, 280, 281, 601, 602})

T = TypeVar("T")


def mask_url(url: str) -> str:
    """``url`` with any api_key value replaced by ``***`` (query string or path segment)."""
    url = re.sub(r"(api_key=)[^&#]*", r"\1***", url)
    return re.sub(r"(/api_key/)[^/?#]*", r"\1***", url)


class ServerError(OpenMLError):
    """OpenML answered with an ``<oml:error>`` body."""

    def __init__(self, code: int | None, message: str, url: str) -> None:
        self.code = code
        self.url = mask_url(url)
        super().__init__(f"OpenML error {code}: {message} ({self.url})")


class NoResults(ServerError):
    """The list is empty (OpenML signals that with an error code): the end of a list."""


class UnknownEntity(NotFoundError):
    def __init__(self, code: int | None, message: str, url: str) -> None:
        self.code = code
        self.url = mask_url(url)
        super().__init__(f"{message} (OpenML error {code}, {self.url})")


class RetryableError(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter; ``Retry-After`` wins when the server sends one."""

    attempts: int = 8
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    connect_attempts: int = 3  # a server that refuses connections is down, not busy
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        delay = rng.uniform(0, backoff)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_delay_s * 4))
        return delay


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_body(body: bytes, url: str) -> ServerError | None:
    """Decode an ``<oml:error>`` body, or None when ``body`` is not one."""
    head = body[:4096]
    if b"error" not in head:
        return None
    from lxml import etree

    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError:
        return None
    if etree.QName(root).localname != "error":
        return None
    code_text = root.findtext(f"{{{OML_NS}}}code") or root.findtext("code")
    message = root.findtext(f"{{{OML_NS}}}message") or root.findtext("message") or "error"
    extra = root.findtext(f"{{{OML_NS}}}additional_information") or ""
    try:
        code = int(code_text) if code_text else None
    except ValueError:
        code = None
    text = message.strip() + (f": {extra.strip()}" if extra and extra.strip() else "")
    if code in NO_RESULT_CODES or message.strip().lower() == "no results":
        return NoResults(code, text, url)
    if code in UNKNOWN_ID_CODES or "unknown" in message.lower():
        return UnknownEntity(code, text, url)
    return ServerError(code, text, url)


class HttpClient:
    """Keep-alive connections to OpenML (one urllib3 pool), shared by the lister's threads.

    urllib3 directly rather than through requests: a sync makes thousands of calls, and requests'
    layers (request preparation, hooks, cookie jars, the environment's settings merged per call)
    cost ~0.5 ms of interpreter time a call for nothing a list call uses. Proxies and CA bundles
    from the environment are honoured as requests would (read once, for this server).
    """

    def __init__(
        self,
        server: str,
        apikey: str | None = None,
        policy: RetryPolicy | None = None,
        pool_size: int = 16,
        seed: int | None = None,
    ) -> None:
        import urllib3

        self.server = server.rstrip("/")
        self.apikey = apikey
        self.policy = policy or RetryPolicy()
        headers = {
            **urllib3.util.make_headers(accept_encoding=True),
            "User-Agent": "metabase-sync/0.1",
        }
        options = dict(
            num_pools=4,
            maxsize=pool_size,
            block=False,
            retries=False,
            headers=headers,
            timeout=urllib3.Timeout(
                connect=self.policy.connect_timeout_s, read=self.policy.read_timeout_s
            ),
        )
        if self.server.startswith("https:"):
            options.update(cert_reqs="CERT_REQUIRED", ca_certs=_ca_bundle())
        proxy = _environ_proxy(self.server)
        self._pool = (
            urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        )
        self._query = "?" + urlencode({"api_key": apikey}) if apikey else ""
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.calls = 0
        self.retries = 0
        self._count_lock = threading.Lock()

    def url(self, call: str) -> str:
        return f"{self.server}/{call.lstrip('/')}"

    def _jittered(self, attempt: int, retry_after: float | None) -> float:
        with self._rng_lock:
            return self.policy.delay(attempt, retry_after, self._rng)

    def request(self, call: str, consume: Callable[[bytes, str], T], *, sleep=time.sleep) -> T:
        """GET ``call`` and hand its whole (decoded) body and URL to ``consume`` (retried as a
        whole).

        ``consume(body, url)`` returns the parsed result; it raises :class:`RetryableError` for
        truncated or malformed bodies. The URL it gets holds no API key.
        """
        from urllib3.exceptions import (
            DecodeError,
            HTTPError,
            NewConnectionError,
            ProtocolError,
            ProxyError,
            SSLError,
        )
        from urllib3.exceptions import TimeoutError as UrllibTimeout

        url = self.url(call)
        last = "no attempt"
        refused = 0
        for attempt in range(self.policy.attempts):
            retry_after = None
            with self._count_lock:
                self.calls += 1
            try:
                response = self._pool.request("GET", url + self._query)
                status = response.status
                if status == 429 or status >= 500:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    raise RetryableError(f"HTTP {status}", retry_after)
                if status >= 400:
                    error = error_from_body(response.data, url)
                    if error is not None:
                        raise error
                    raise OpenMLError(f"HTTP {status} from OpenML ({mask_url(url)})")
                return consume(response.data, url)
            except RetryableError as exc:
                last, retry_after = exc.reason, exc.retry_after
            except NewConnectionError as exc:
                last = f"{type(exc).__name__}: {_short(exc)}"
                if _refused(exc):
                    refused += 1
                    if refused >= self.policy.connect_attempts:
                        raise OpenMLError(
                            f"cannot reach OpenML at {mask_url(self.server)}: connection refused "
                            f"({refused} attempts; check --openml-server)"
                        ) from None
            except (UrllibTimeout, ProxyError, SSLError) as exc:
                last = f"{type(exc).__name__}: {_short(exc)}"
            except ProtocolError as exc:  # a reset, or a body cut short of its length
                last = f"connection broken ({_short(exc)})"
            except DecodeError as exc:
                last = f"truncated body ({_short(exc)})"
            except HTTPError as exc:
                raise OpenMLError(
                    f"cannot reach OpenML at {mask_url(url)}: {_short(exc)}"
                ) from None
            if attempt + 1 < self.policy.attempts:
                with self._count_lock:
                    self.retries += 1
                delay = self._jittered(attempt, retry_after)
                log.debug("retrying %s in %.2fs after %s", mask_url(url), delay, last)
                sleep(delay)
        raise OpenMLError(
            f"OpenML request failed after {self.policy.attempts} attempts ({last}): "
            f"{mask_url(url)}"
        )

    def get_bytes(self, call: str) -> bytes:
        """The whole body of ``call`` (XML); error bodies raise, malformed XML is retried."""

        def consume(body: bytes, url: str) -> bytes:
            error = error_from_body(body, url)
            if error is not None:
                raise error
            _check_xml(body)
            return body

        return self.request(call, consume)

    def close(self) -> None:
        self._pool.clear()


def _environ_proxy(server: str) -> str | None:
    """The proxy the environment sets for ``server`` (``*_proxy``, ``no_proxy``), as requests reads
    it.
    """
    import urllib.request

    parts = urlsplit(server)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _ca_bundle() -> str | None:
    """The CA bundle requests would use: the environment's, else certifi's (else the system's)."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        return bundle
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


def _refused(exc: BaseException) -> bool:
    text = repr(exc)
    return (
        "NewConnectionError" in text
        or "Connection refused" in text
        or "Name or service not known" in text
    )


def _check_xml(body: bytes) -> None:
    """Well-formed XML in OpenML's namespace, else :class:`RetryableError` (an HTML maintenance
    page may come with status 200).
    """
    from lxml import etree

    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError as exc:
        raise RetryableError(f"malformed XML ({_short(exc)})") from None
    if etree.QName(root).namespace != OML_NS:
        raise RetryableError(f"not OpenML's XML (root element <{etree.QName(root).localname}>)")


_CAUSED_BY = re.compile(r"\(Caused by \w+\((?P<inner>.*)\)\)$")
_OBJECT_PREFIX = re.compile(r"^(<[^>]*>|\w+\(host='[^']*', port=\d+\)):\s*")
REASON_LIMIT = 600


def reason(text: str) -> str:
    """An error text on one line and whole: urllib3's wrapping ("HTTPSConnectionPool(...): Max
    retries exceeded ... (Caused by NameResolutionError("<...>: Failed to resolve 'host' (...)"))")
    gives way to the reason inside it. Only a text longer than ``REASON_LIMIT`` (a server's HTML
    page) is shortened, at a word, and says so.
    """
    text = " ".join(text.split())
    caused = _CAUSED_BY.search(text)
    if caused:
        text = _OBJECT_PREFIX.sub("", caused["inner"].strip("'\""))
    if len(text) > REASON_LIMIT:
        kept = text[:REASON_LIMIT].rsplit(" ", 1)[0]
        text = f"{kept} [... {len(text) - len(kept):,} more characters]"
    return text


def _short(exc: BaseException) -> str:
    return reason(mask_url(str(exc))) if str(exc).strip() else type(exc).__name__
