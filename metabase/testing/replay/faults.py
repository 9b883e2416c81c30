"""Injected faults, from a spec string such as
``5xx=0.1,429=0.05,latency=0.02,truncate=0.01,reset=0.01,seed=1``.

* ``5xx``: share of API requests answered 503 (with an OpenML-like error body);
* ``429``: share answered 429 Too Many Requests with ``Retry-After`` (``retry_after``, seconds,
  default 1);
* ``latency``: seconds added to every API response;
* ``truncate``: share of responses whose body is cut in half (the connection then closes);
* ``reset``: share of requests whose connection is closed without any answer;
* ``drop``: share of requests that the server carries out (an upload is stored) and then closes the
  connection without answering: the lost answer that makes a naive client upload twice;
* ``malformed``: share of successful answers whose XML is cut short but correctly framed (the
  HTTP layer sees a complete response; only the XML parser fails);
* ``html``: share of API requests answered with an HTML maintenance page, with status 200 and
  ``text/html`` (well-formed, so only a client that checks it got the XML it asked for notices);
* ``max_offset``: list calls with a deeper offset answer 504 Gateway Timeout, as the live server
  did at an offset of about 10 million (default: no limit);
* ``match``: only API calls whose path contains this text get faults (e.g. ``evaluation/list``);
* ``cap``: the page-size cap for list calls (default 1000, the live server's);
* ``seed``: seed of the fault draws (one random stream per server).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from metabase.errors import InputError

_KEYS = {
    "5xx": "error_rate",
    "429": "throttle_rate",
    "latency": "latency",
    "truncate": "truncate_rate",
    "reset": "reset_rate",
    "cap": "cap",
    "seed": "seed",
    "retry_after": "retry_after",
    "malformed": "malformed_rate",
    "html": "html_rate",
    "match": "match",
    "max_offset": "max_offset",
    "drop": "drop_rate",
}


@dataclass(frozen=True)
class Faults:
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    latency: float = 0.0
    truncate_rate: float = 0.0
    reset_rate: float = 0.0
    cap: int = 1000
    seed: int = 0
    retry_after: int = 1
    malformed_rate: float = 0.0
    html_rate: float = 0.0
    match: str = ""
    max_offset: int = 0  # 0: no limit
    drop_rate: float = 0.0

    @classmethod
    def parse(cls, spec: "str | dict | Faults | None") -> "Faults":
        if spec is None or spec == "":
            return cls()
        if isinstance(spec, Faults):
            return spec
        if isinstance(spec, str):
            items = {}
            for part in spec.split(","):
                if not part.strip():
                    continue
                if "=" not in part:
                    raise InputError(
                        f"bad fault spec {part!r}: expected KEY=VALUE, keys {', '.join(_KEYS)}"
                    )
                k, v = part.split("=", 1)
                items[k.strip()] = v.strip()
            spec = items
        kwargs = {}
        for k, v in spec.items():
            field = _KEYS.get(str(k), str(k) if str(k) in _KEYS.values() else None)
            if field is None:
                raise InputError(f"unknown fault {k!r}: expected one of {', '.join(_KEYS)}")
            try:
                if field == "match":
                    kwargs[field] = str(v)
                else:
                    kwargs[field] = (
                        int(v)
                        if field in ("cap", "seed", "retry_after", "max_offset")
                        else float(v)
                    )
            except (TypeError, ValueError):
                raise InputError(f"bad value for fault {k!r}: {v!r}") from None
        out = cls(**kwargs)
        if not 1 <= out.cap <= 1000000:
            raise InputError("fault cap must be a positive page size")
        return out


class FaultDice:
    """Draws which fault (if any) hits a request; thread-safe, seeded."""

    def __init__(self, faults: Faults):
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()

    def draw(self, path: str = "") -> str | None:
        f = self.faults
        if f.match and f.match not in path:
            return None
        with self._lock:
            u = self._rng.random()
        for name, rate in (
            ("reset", f.reset_rate),
            ("5xx", f.error_rate),
            ("429", f.throttle_rate),
            ("truncate", f.truncate_rate),
            ("malformed", f.malformed_rate),
            ("html", f.html_rate),
            ("drop", f.drop_rate),
        ):
            if u < rate:
                return name
            u -= rate
        return None
