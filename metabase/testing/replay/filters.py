"""Parse list-call filters (``/function/x/task/1,2/limit/1000/offset/0``) and select rows.

Id filters accept what the live API accepts, a comma-separated list, and also a range
``low..high`` (either end may be left out: ``5000..``) so that a client can page through id
ranges instead of ever deeper offsets. Results are in ascending id order unless ``sort_order``
asks for sorting by value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_LIMIT = 1000  # the live server's cap since June 2026


class FilterError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IdSet:
    values: tuple = ()
    low: int | None = None
    high: int | None = None

    @classmethod
    def parse(cls, text: str, code: int) -> "IdSet":
        try:
            if ".." in text:
                lo, hi = text.split("..", 1)
                return cls(low=int(lo) if lo else None, high=int(hi) if hi else None)
            return cls(values=tuple(int(v) for v in text.split(",") if v != ""))
        except ValueError:
            raise FilterError(code, "Input not safe") from None

    def mask(self, column: np.ndarray) -> np.ndarray:
        if self.values:
            return np.isin(column, np.asarray(self.values, dtype=np.int64))
        m = np.ones(len(column), dtype=bool)
        if self.low is not None:
            m &= column >= self.low
        if self.high is not None:
            m &= column <= self.high
        return m

    def contains(self, v: int) -> bool:
        if self.values:
            return v in self.values
        return (self.low is None or v >= self.low) and (self.high is None or v <= self.high)


def parse(
    segments: list[str],
    allowed: dict[str, str],
    illegal_code: int,
    unsafe_code: int,
    cap: int = MAX_LIMIT,
    offset_code: int | None = None,
) -> dict:
    """``allowed`` maps filter name -> kind ("ids", "str", "int"). Returns the parsed filters.

    ``limit`` above the cap is lowered to the cap, as the live server does since June 2026.
    """
    if len(segments) % 2:
        raise FilterError(illegal_code, "Illegal filter specified")
    out: dict = {}
    for name, value in zip(segments[::2], segments[1::2]):
        if name in ("limit", "offset"):
            try:
                out[name] = int(value)
            except ValueError:
                raise FilterError(unsafe_code, "Input not safe") from None
            continue
        kind = allowed.get(name)
        if kind is None:
            raise FilterError(illegal_code, "Illegal filter specified")
        out[name] = IdSet.parse(value, unsafe_code) if kind == "ids" else value
    if "offset" in out and "limit" not in out:
        raise FilterError(offset_code or illegal_code + 3, "Offset specified without limit")
    out["limit"] = min(out.get("limit", cap), cap)
    out.setdefault("offset", 0)
    return out


def page(n: int, filters: dict) -> slice:
    start = max(0, filters["offset"])
    return slice(start, start + max(0, filters["limit"]))
