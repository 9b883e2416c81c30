"""Dataset files (ARFF downloads), their feature descriptions, and generated task splits.

Raw data comes from ``datasets/<name>/<name>.arff`` (served byte for byte) and from
``pmlb/datasets/<id>_<name>/*.tsv.gz`` (converted to ARFF: features numeric, the ``target``
column nominal when a classification task uses the dataset). A dataset without a raw file has no
download.

A dataset without a raw file has no download and a STUB features description: only its default
target, typed ``numeric`` because its values are unknown (openml-python's ``get_task`` needs a
features description; the stub makes ``task.class_labels`` None instead of inventing labels).

Splits: a task with a recorded ``datasplits.arff`` gets that file. Every other task gets folds
GENERATED HERE, deterministically, which are NOT OpenML's splits: for repeat r, the rows of each
class are shuffled with ``numpy.random.RandomState(task_id * 1000 + r)`` and dealt round-robin into
the folds (stratified k-fold; regression tasks shuffle all rows as one class); a holdout task
puts the first ``percentage`` % of each shuffled
class into TEST.
"""

from __future__ import annotations

import gzip
import io
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .xmlgen import NS, e

_lock = threading.Lock()


@lru_cache(maxsize=16)
def _table(
    path: str, fmt: str, nominal_target: str | None
) -> tuple[list[tuple[str, str, list]], list[list[str]]]:
    """(attributes [(name, type, nominal values)], rows as strings) of a raw data file."""
    if fmt == "pmlb":
        with gzip.open(path, "rt") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
        attrs = []
        for j, name in enumerate(header):
            if name == nominal_target:
                values = sorted({r[j] for r in rows}, key=_num_key)
                attrs.append((name, "nominal", values))
            else:
                attrs.append((name, "numeric", []))
        return attrs, rows
    attrs, rows, in_data = [], [], False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            s = line.strip()
            if not s or s.startswith("%"):
                continue
            if in_data:
                rows.append([v.strip().strip("'\"") for v in _split_csv(s)])
            elif s[:10].upper() == "@ATTRIBUTE":
                attrs.append(_parse_attribute(s[10:].strip()))
            elif s.upper().startswith("@DATA"):
                in_data = True
    return attrs, rows


def _num_key(v: str):
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def _split_csv(line: str) -> list[str]:
    if "'" not in line and '"' not in line:
        return line.split(",")
    out, buf, quote = [], [], None
    for ch in line:
        if quote:
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return out


def _parse_attribute(rest: str) -> tuple[str, str, list]:
    if rest[0] in "'\"":
        q = rest[0]
        end = rest.index(q, 1)
        name, kind = rest[1:end], rest[end + 1 :].strip()
    else:
        name, _, kind = rest.partition(" ")
        kind = kind.strip()
    if kind.startswith("{"):
        values = [v.strip().strip("'\"") for v in _split_csv(kind.strip("{} "))]
        return name, "nominal", values
    k = kind.lower()
    return (
        name,
        ("string" if k.startswith("string") else "date" if k.startswith("date") else "numeric"),
        [],
    )


def arff_bytes(raw: dict, name: str, nominal_target: str | None) -> bytes:
    if raw["format"] == "arff":
        return Path(raw["path"]).read_bytes()
    attrs, rows = _table(str(raw["path"]), raw["format"], nominal_target)
    out = io.StringIO()
    out.write(f"% Converted from PMLB ({Path(raw['path']).name}) by the metabase replay server\n")
    out.write(f"@RELATION '{name}'\n\n")
    for n, kind, values in attrs:
        t = "{" + ",".join(values) + "}" if kind == "nominal" else "NUMERIC"
        out.write(f"@ATTRIBUTE '{n}' {t}\n")
    out.write("\n@DATA\n")
    for r in rows:
        out.write(",".join(r) + "\n")
    return out.getvalue().encode("utf-8")


def features_xml(raw: dict, target: str | None, nominal_target: str | None) -> str:
    attrs, rows = _table(str(raw["path"]), raw["format"], nominal_target)
    body = []
    for j, (name, kind, values) in enumerate(attrs):
        missing = sum(1 for r in rows if j >= len(r) or r[j] in ("?", ""))
        nominal = "".join(f"      <oml:nominal_value>{e(v)}</oml:nominal_value>\n" for v in values)
        body.append(
            "  <oml:feature>\n"
            f"    <oml:index>{j}</oml:index>\n    <oml:name>{e(name)}</oml:name>\n"
            f"    <oml:data_type>{kind}</oml:data_type>\n{nominal}"
            f"    <oml:is_target>{'true' if name == target else 'false'}</oml:is_target>\n"
            "    <oml:is_ignore>false</oml:is_ignore>\n"
            "    <oml:is_row_identifier>false</oml:is_row_identifier>\n"
            f"    <oml:number_of_missing_values>{missing}</oml:number_of_missing_values>\n"
            "  </oml:feature>\n"
        )
    return f"<oml:data_features {NS}>\n" + "".join(body) + "</oml:data_features>\n"


def target_values(raw: dict, target: str, nominal_target: str | None) -> list[str]:
    attrs, rows = _table(str(raw["path"]), raw["format"], nominal_target)
    names = [a[0] for a in attrs]
    j = names.index(target)
    return [r[j] for r in rows]


def generated_splits(
    task_id: int,
    labels: list[str],
    repeats: int,
    folds: int,
    percentage: int | None,
    stratify: bool = True,
) -> bytes:
    """The deterministic (NOT OpenML's) splits described in the module docstring, as ARFF."""
    y = np.asarray(labels)
    out = io.StringIO()
    out.write(
        f"% Splits GENERATED by the metabase replay server for task {task_id}; "
        "not OpenML's splits\n"
    )
    out.write(
        f"@relation task_{task_id}_splits\n\n"
        "@attribute type {TRAIN,TEST}\n@attribute rowid numeric\n"
        "@attribute repeat numeric\n@attribute fold numeric\n\n@data\n"
    )
    if not stratify:  # regression: one shuffled group
        y = np.zeros(len(labels), dtype=np.int64)
    classes = sorted(set(y.tolist()))
    for r in range(repeats):
        rng = np.random.RandomState(task_id * 1000 + r)
        fold_of = np.empty(len(y), dtype=np.int64)
        test = np.zeros(len(y), dtype=bool)
        offset = 0
        for c in classes:
            idx = np.flatnonzero(y == c)
            idx = idx[rng.permutation(len(idx))]
            if percentage:
                test[idx[: int(round(len(idx) * percentage / 100.0))]] = True
            else:
                fold_of[idx] = (np.arange(len(idx)) + offset) % folds
                offset += len(idx)
        if percentage:
            for kind, rows in (("TRAIN", np.flatnonzero(~test)), ("TEST", np.flatnonzero(test))):
                out.writelines(f"{kind},{i},{r},0\n" for i in rows)
            continue
        for f in range(folds):
            in_fold = fold_of == f
            out.writelines(f"TRAIN,{i},{r},{f}\n" for i in np.flatnonzero(~in_fold))
            out.writelines(f"TEST,{i},{r},{f}\n" for i in np.flatnonzero(in_fold))
    return out.getvalue().encode("utf-8")


def stub_features_xml(target: str) -> str:
    """The stub features description of a dataset whose data the replay data lacks."""
    return (
        f"<oml:data_features {NS}>\n  <oml:feature>\n    <oml:index>0</oml:index>\n"
        f"    <oml:name>{e(target)}</oml:name>\n    <oml:data_type>numeric</oml:data_type>\n"
        "    <oml:is_target>true</oml:is_target>\n    <oml:is_ignore>false</oml:is_ignore>\n"
        "    <oml:is_row_identifier>false</oml:is_row_identifier>\n"
        "    <oml:number_of_missing_values>0</oml:number_of_missing_values>\n  </oml:feature>\n"
        "</oml:data_features>\n"
    )
