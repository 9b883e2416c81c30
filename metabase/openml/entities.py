"""Parsers for single OpenML entity responses (study, dataset, qualities, flow, procedures).

These bodies are small, so they are read as a tree; the bulk lists go through ``listparse``.
Values stay as OpenML sends them (strings) except ids and numbers, which are typed here.
"""

from __future__ import annotations

from lxml import etree

from metabase.openml.http import OML_NS

_NS = "{" + OML_NS + "}"


def _local(tag) -> str:
    return tag[len(_NS) :] if isinstance(tag, str) and tag.startswith(_NS) else str(tag)


def _text(elem, name: str) -> str | None:
    value = elem.findtext(_NS + name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def parse_study(body: bytes) -> dict:
    root = etree.fromstring(body)

    def ids(group: str, item: str) -> list[int]:
        node = root.find(_NS + group)
        if node is None:
            return []
        return [
            int(e.text) for e in node.findall(_NS + item) if e.text and e.text.strip().isdigit()
        ]

    return {
        "id": _int(_text(root, "id")),
        "name": _text(root, "name"),
        "alias": _text(root, "alias"),
        "main_entity_type": _text(root, "main_entity_type"),
        "tasks": ids("tasks", "task_id"),
        "data": ids("data", "data_id"),
        "flows": ids("flows", "flow_id"),
        "setups": ids("setups", "setup_id"),
        "runs": ids("runs", "run_id"),
    }


def parse_dataset(body: bytes) -> dict:
    """``data/{id}`` -> a ``datasets`` row (source filled by the caller)."""
    root = etree.fromstring(body)
    return {
        "dataset_id": _int(_text(root, "id")),
        "name": _text(root, "name"),
        "version": _int(_text(root, "version")),
        "status": _text(root, "status"),
        "format": _text(root, "format"),
        "default_target": _text(root, "default_target_attribute"),
        "row_id_attribute": _text(root, "row_id_attribute"),
        "ignore_attributes": ",".join(
            e.text.strip() for e in root.findall(_NS + "ignore_attribute") if e.text
        )
        or None,
        "file_id": _int(_text(root, "file_id")),
        "upload_date": _text(root, "upload_date"),
        "description": _text(root, "description"),
    }


def parse_qualities(body: bytes) -> list[tuple[str, float | None]]:
    """``data/qualities/{id}`` -> [(quality name, value)]."""
    root = etree.fromstring(body)
    out = []
    for q in root.iter(_NS + "quality"):
        name = _text(q, "name")
        if name:
            out.append((name, _float(_text(q, "value"))))
    return out


def parse_flow(body: bytes) -> dict:
    """``flow/{id}`` -> a ``flows`` row."""
    root = etree.fromstring(body)
    name = _text(root, "name")
    version = _text(root, "version")
    return {
        "flow_id": _int(_text(root, "id")),
        "name": name,
        "version": version,
        "external_version": _text(root, "external_version"),
        "full_name": _text(root, "full_name")
        or (f"{name}({version})" if name and version else name),
        "upload_date": _text(root, "upload_date"),
    }


def parse_procedures(body: bytes) -> list[dict]:
    """``estimationprocedure/list`` -> ``estimation_procedures`` rows."""
    root = etree.fromstring(body)
    out = []
    for p in root.iter(_NS + "estimationprocedure"):
        strat = _text(p, "stratified_sampling")
        out.append(
            {
                "estimation_procedure_id": _int(_text(p, "id")),
                "task_type_id": _int(_text(p, "ttid")),
                "name": _text(p, "name"),
                "type": _text(p, "type"),
                "repeats": _int(_text(p, "repeats")),
                "folds": _int(_text(p, "folds")),
                "percentage": _float(_text(p, "percentage")),
                "stratified": None if strat is None else strat.lower() == "true",
            }
        )
    return out


def parse_measures(body: bytes) -> list[str]:
    """``evaluationmeasure/list`` -> the evaluation measure names OpenML knows."""
    root = etree.fromstring(body)
    return [m.text.strip() for m in root.iter(_NS + "measure") if m.text and m.text.strip()]
