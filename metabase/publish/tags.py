"""OpenML's tag rules, checked before anything is sent."""

from __future__ import annotations

import re

from metabase.errors import InputError

BASE_TAG = "metabase"
_TAG = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def check_tags(tags) -> tuple[str, ...]:
    """``metabase`` plus the user's tags, each checked; an invalid one is a one-line InputError."""
    out = [BASE_TAG]
    for tag in tags or ():
        if not _TAG.fullmatch(tag or ""):
            raise InputError(
                f"invalid tag {tag!r}: OpenML tags are 1 to 128 characters of letters, digits, "
                "'_', '.' and '-'"
            )
        if tag not in out:
            out.append(tag)
    return tuple(out)
