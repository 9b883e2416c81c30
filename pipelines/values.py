r"""Typing of hyperparameter values as OpenML stores them, and the stable hash of a configuration.

OpenML returns every parameter value as a string. scikit-learn flows JSON-encode them
(``"0.8"``, ``"\"median\""``, ``"null"``, ``"true"``); exports such as the openml-pimp ARFF
write Python reprs (``None``, ``True``). Both must land on the same typed value, or the same
configuration from two sources would hash differently.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

# Python reprs and R/Weka spellings that JSON does not decode.
_TOKENS: dict[str, Any] = {
    "None": None,
    "none": None,
    "NULL": None,
    "NA": None,
    "True": True,
    "TRUE": True,
    "False": False,
    "FALSE": False,
}


def parse_value(value: Any) -> Any:
    """Return the typed value of one OpenML parameter value (a string, or already typed).

    Strings are JSON-decoded when they are JSON (numbers, ``null``, ``true``, quoted strings,
    lists, objects); Python and R spellings of None/True/False are recognised; anything else
    stays the string it is. Numpy scalars become Python scalars.
    """
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if not isinstance(value, str):
        # A missing value (NaN, pandas.NA) is how tables spell an unset parameter: pandas reads
        # the "None" of an ARFF or CSV export as NaN.
        if value is not None and not isinstance(value, (bool, int, list, dict, tuple)):
            if str(value) in ("nan", "<NA>", "NaT"):
                return None
        return value
    text = value.strip()
    if text in _TOKENS:
        return _TOKENS[text]
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    if isinstance(decoded, float) and not math.isfinite(decoded):
        # "1e400", "NaN", "Infinity": Python's json reads them, JSON itself has no such numbers,
        # so they stay the text they are (and hash and store as that text)
        return text
    # A JSON-encoded string may itself carry a token ("\"None\"" in some sklearn flows).
    if isinstance(decoded, str) and decoded in _TOKENS:
        return _TOKENS[decoded]
    return decoded


def to_openml_value(value: Any) -> str:
    """Encode a typed value the way openml-python's sklearn extension does: JSON text."""
    return json.dumps(value)


def canonical_json(config: Mapping[str, Any]) -> str:
    """A byte-stable JSON text of a configuration: sorted keys, no spaces, shortest float reprs."""
    return json.dumps(_plain(config), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    value = parse_value(value) if not isinstance(value, str) else value
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # "inf", "-inf", "nan": canonical JSON has no such numbers
    if isinstance(value, float) and value.is_integer():
        # "1.0" from one source and "1" from another are the same setting.
        return int(value)
    return value


def generic_config(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for a configuration of a pipeline outside the catalogue."""
    return {str(k): parse_value(v) for k, v in parameters.items()}


def hash_text(pipeline: str, config: Mapping[str, Any]) -> str:
    """sha256 (hex, first 32 characters) of the pipeline name and the canonical JSON config."""
    payload = pipeline + "\n" + canonical_json(config)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
