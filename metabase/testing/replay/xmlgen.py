"""XML bodies in the shape the live OpenML REST API v1 gives (copied from recorded responses)."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

NS = 'xmlns:oml="http://openml.org/openml"'


def e(value) -> str:
    return "" if value is None else escape(str(value))


def ts(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(epoch)))


def fmt_float(v: float) -> str:
    return repr(float(v)) if v == v else ""


def error(code: int, message: str, info: str | None = None) -> str:
    extra = (
        f"\n  <oml:additional_information>{e(info)}</oml:additional_information>" if info else ""
    )
    return (
        f"<oml:error {NS}>\n  <oml:code>{code}</oml:code>\n"
        f"  <oml:message>{e(message)}</oml:message>{extra}\n</oml:error>\n"
    )


def simple(root: str, **fields) -> str:
    body = "".join(f"  <oml:{k}>{e(v)}</oml:{k}>\n" for k, v in fields.items())
    return f"<oml:{root} {NS}>\n{body}</oml:{root}>\n"


def elements(items: list[tuple[str, object]], indent: str = "    ") -> str:
    return "".join(f"{indent}<oml:{k}>{e(v)}</oml:{k}>\n" for k, v in items)
