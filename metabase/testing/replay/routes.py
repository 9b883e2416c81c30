"""Dispatch one request (method, path after ``/api/v1/xml/``) to a response body."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import catalog_lists, entities, lists
from .xmlgen import error


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/xml; charset=utf-8"
    headers: dict = field(default_factory=dict)


def xml(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"))


def not_found(code: int, message: str) -> Response:
    return xml(412, error(code, message))


LISTS = {
    "evaluation": lists.evaluation_list,
    "run": lists.run_list,
    "setup": lists.setup_list,
    "task": catalog_lists.task_list,
    "data": catalog_lists.data_list,
    "flow": catalog_lists.flow_list,
}

# "Unknown X" error codes of the live API, per entity.
UNKNOWN = {
    "task": (151, "Unknown task"),
    "data": (111, "Unknown dataset"),
    "flow": (181, "Unknown flow"),
    "run": (220, "Unknown run"),
    "setup": (281, "Unknown setup"),
    "study": (601, "Unknown study"),
    "data/qualities": (361, "Unknown dataset"),
    "data/features": (271, "Unknown dataset"),
}


def api_get(server, parts: list[str]) -> Response:
    state, root = server.state, server.root
    if not parts:
        return not_found(100, "Function not valid")
    head = parts[0]
    call = "/".join(parts)
    if len(parts) >= 2 and parts[1] == "list" and head in LISTS:
        recorded_list = server.recorded.get_list(head, parts[2:])
        if recorded_list is not None:  # served as recorded; one page, as the recording is
            path, offset = recorded_list
            if offset:
                return xml(412, error(lists.NO_RESULTS[head], "No results"))
            from .recorded import rewrite_urls

            return xml(200, rewrite_urls(path.read_text(encoding="utf-8", errors="replace"), root))
        res = LISTS[head](state, parts[2:], server.faults.cap)
        return xml(res.status, res.body)
    recorded = server.recorded.get(call, root)
    if recorded is not None:
        return xml(200, recorded)
    if head == "user" and parts[1:2] == ["list"]:
        return xml(200, users_xml(parts[2:]))
    if head == "data" and parts[1:] == ["qualities", "list"]:
        return xml(200, server.extra.quality_names_xml())
    if head == "evaluationmeasure" and parts[1:] == ["list"]:
        return xml(200, server.extra.measures_xml())
    if head == "estimationprocedure" and parts[1:] == ["list"]:
        return xml(200, server.extra.procedures_xml())
    if head == "flow" and len(parts) >= 2 and parts[1] == "exists":
        return xml(200, server.extra.flow_exists(state, parts[2:]))
    if head == "data" and len(parts) == 3 and parts[1] in ("features", "qualities"):
        key = f"data/{parts[1]}"
        body = _int_call(
            parts[2],
            lambda i: (
                entities.qualities_xml(state, i)
                if parts[1] == "qualities"
                else server.extra.features_xml(state, i)
            ),
        )
        if body is None and _int(parts[2]) in state.datasets:
            if parts[1] == "qualities":
                return not_found(362, "No qualities found")
            return not_found(272, "No features found")
        return xml(200, body) if body else not_found(*UNKNOWN[key])
    if len(parts) == 2:
        builders = {
            "task": lambda i: entities.task_xml(state, i, root),
            "data": lambda i: entities.dataset_xml(state, i, root),
            "flow": lambda i: entities.flow_xml(state, i),
            "setup": lambda i: entities.setup_xml_state(state, i),
            "run": lambda i: server.extra.run_xml(state, i, root),
            "study": lambda i: entities.study_xml(state, i),
        }
        if head == "study" and not parts[1].isdigit():
            sid = entities.STUDY_ALIASES.get(parts[1])
            parts = [head, str(sid)] if sid else parts
        if head in builders:
            body = _int_call(parts[1], builders[head])
            return xml(200, body) if body else not_found(*UNKNOWN[head])
    return not_found(100, "Function not valid")


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _int_call(text: str, fn):
    i = _int(text)
    return None if i is None else fn(i)


# Uploader names where no recording answers (user/list/user_id/1 and 3229 are recorded):
# 999 is scale mode's synthetic user.
USERS = {1: "MockUser", 999: "SYNTHETIC replay scale-mode user"}  # 1: as recorded


def users_xml(segments: list[str]) -> str:
    wanted = []
    for name, value in zip(segments[::2], segments[1::2]):
        if name == "user_id":
            wanted = [int(v) for v in value.split(",") if v.strip().isdigit()]
    body = "".join(
        f"  <oml:user>\n    <oml:id>{u}</oml:id>\n    <oml:username>{USERS.get(u, f'user {u}')}"
        "</oml:username>\n  </oml:user>\n"
        for u in wanted
    )
    return f'<oml:users xmlns:oml="http://openml.org/openml">\n{body}</oml:users>\n'
