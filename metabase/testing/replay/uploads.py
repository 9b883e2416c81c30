"""POST ``flow`` and POST ``run`` (and ``setup/exists``), checked against the official XSDs.

A valid upload gets a new id (see ``ids.py``) and is shown by later GETs and lists of the same
server. An invalid one is answered as the live server does: HTTP 412 with an error body.
"""

from __future__ import annotations

import email.parser
import email.policy
import threading
import time
from functools import lru_cache

from lxml import etree

from .catalog import Flow
from .routes import Response, xml
from .xmlgen import NS, e, error

OML = "http://openml.org/openml"
Q = "{%s}" % OML
XSD_DIR = "openml-server/xsd"
_schema_lock = threading.Lock()


@lru_cache(maxsize=8)
def _schema(path: str):
    import xmlschema

    with _schema_lock:
        return xmlschema.XMLSchema(path)


def parse_multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    """Form fields and files of a multipart/form-data body, by field name."""
    if "multipart/form-data" not in content_type:
        from urllib.parse import parse_qs

        return {k: v[0].encode() for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[name] = part.get_payload(decode=True) or b""
    return out


class Uploads:
    def __init__(self, server):
        self.server = server
        self.state = server.state
        self.xsd = server.data_dir / XSD_DIR

    def post(self, parts: list[str], body: bytes, content_type: str) -> Response:
        fields = parse_multipart(body, content_type)
        if not (fields.get("api_key") or b"").strip():
            return xml(412, error(102, "Authentication failed", "no api_key given"))
        call = "/".join(parts)
        if call == "flow/exists":
            name = (fields.get("name") or b"").decode("utf-8", "replace")
            version = (fields.get("external_version") or b"").decode("utf-8", "replace")
            return xml(200, self.server.extra.flow_exists(self.state, [name, version]))
        if (
            len(parts) == 2
            and parts[1] in ("tag", "untag")
            and parts[0] in ("data", "task", "flow", "setup", "run")
        ):
            return self._tag(parts[0], parts[1], fields)
        if call == "flow":
            return self._flow(fields)
        if call == "run":
            return self._run(fields)
        if call == "setup/exists":
            return self._setup_exists(fields)
        return xml(412, error(100, "Function not valid"))

    def _validated(self, fields: dict, xsd: str, code: int):
        desc = fields.get("description")
        if not desc:
            return None, xml(
                412,
                error(code, "Problem validating uploaded description file", "no description file"),
            )
        try:
            _schema(str(self.xsd / xsd)).validate(desc)
            return etree.fromstring(desc), None
        except Exception as exc:  # xmlschema / lxml errors: report as the server does
            return None, xml(
                412,
                error(
                    code + 1,
                    "Problem validating uploaded description file",
                    str(exc).splitlines()[0][:500],
                ),
            )

    # ------------------------------------------------------------------ tags
    def _tag(self, entity: str, action: str, fields: dict) -> Response:
        try:
            ident = int(fields.get(f"{entity}_id", b""))
        except ValueError:
            return xml(412, error(470, "Entity not found"))
        tag = (fields.get("tag") or b"").decode("utf-8", "replace").strip()
        if not tag:
            return xml(412, error(471, "No tag given"))
        with self.state.lock:
            tags = self.state.tags.setdefault((entity, ident), [])
            if action == "tag" and tag not in tags:
                tags.append(tag)
            elif action == "untag" and tag in tags:
                tags.remove(tag)
            body = "".join(f"  <oml:tag>{e(t)}</oml:tag>\n" for t in tags)
        return xml(
            200,
            f"<oml:{entity}_{action} {NS}>\n  <oml:id>{ident}</oml:id>\n"
            f"{body}</oml:{entity}_{action}>\n",
        )

    # ------------------------------------------------------------------ flows
    def _flow(self, fields: dict) -> Response:
        root, err = self._validated(fields, "openml.implementation.upload.xsd", 162)
        if err:
            return err
        name, ext = _text(root, "name"), _text(root, "external_version")
        for fid, fl in self.state.flows.items():
            if fl.name == name and fl.external_version == ext:
                return xml(412, error(171, "Flow already exists", f"flow {fid}"))
        fid = self._register_flow(root)
        return xml(200, f"<oml:upload_flow {NS}>\n  <oml:id>{fid}</oml:id>\n</oml:upload_flow>\n")

    def _register_flow(self, el) -> int:
        """Give ``el`` and its sub-flows ids (existing name+version reuse theirs), store them."""
        for comp in el.findall(f"{Q}component"):
            sub = comp.find(f"{Q}flow")
            if sub is not None:
                self._register_flow(sub)
        name, ext = _text(el, "name"), _text(el, "external_version")
        for fid, fl in self.state.flows.items():
            if fl.name == name and fl.external_version == ext:
                _stamp(el, fid, fl.version, fl.upload_date)
                return fid
        fid = self.state.new_id()
        version = 1 + sum(1 for fl in self.state.flows.values() if fl.name == name)
        date = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        _stamp(el, fid, version, date)
        params = tuple(
            (_text(p, "name"), _text(p, "data_type"), _text(p, "default_value"))
            for p in el.findall(f"{Q}parameter")
        )
        flow = Flow(
            fid,
            name,
            version,
            ext,
            _text(el, "description"),
            date.replace("T", " "),
            1,
            params,
            tuple(t.text for t in el.findall(f"{Q}tag")),
            _text(el, "language") or "English",
            _text(el, "dependencies"),
        )
        flow.xml = etree.tostring(el, encoding="unicode")  # served as uploaded (+ server fields)
        self.state.uploaded_flows[fid] = flow
        return fid

    # ------------------------------------------------------------------ runs
    def _setup_exists(self, fields: dict) -> Response:
        root, err = self._validated(fields, "openml.run.upload.xsd", 580)
        if err:
            return err
        fid = int(_text(root, "flow_id") or 0)
        sid = self._find_setup(fid, _settings(root)) or 0
        return xml(
            200, f"<oml:setup_exists {NS}>\n  <oml:id>{sid}</oml:id>\n</oml:setup_exists>\n"
        )

    def _find_setup(self, fid: int, settings: list[tuple]) -> int | None:
        for sid, (sfid, params) in self.state.uploaded_setups.items():
            if sfid == fid and sorted((p[3], p[6]) for p in params) == sorted(
                (n, v) for n, v, _ in settings
            ):
                return sid
        return None

    def _run(self, fields: dict) -> Response:
        root, err = self._validated(fields, "openml.run.upload.xsd", 202)
        if err:
            return err
        tid, fid = int(_text(root, "task_id") or 0), int(_text(root, "flow_id") or 0)
        if tid not in self.state.tasks:
            return xml(412, error(203, "Unknown task", f"task {tid}"))
        if fid not in self.state.flows:
            return xml(412, error(204, "Unknown flow", f"flow {fid}"))
        if "predictions" not in fields and not _text(root, "error_message"):
            return xml(412, error(206, "Predictions file is required"))
        evals = _evaluations(root)
        if "predictions" in fields:
            try:
                evals = {**evals, **self._computed(tid, fields["predictions"])}
            except Exception as exc:  # noqa: BLE001 - a bad file is the uploader's error, as on OpenML
                return xml(
                    412, error(216, "Error processing output data", str(exc).splitlines()[0][:300])
                )
        settings = _settings(root)
        sid = self._find_setup(fid, settings)
        if sid is None:
            sid = self.state.new_id()
            params = []
            for k, (name, value, comp) in enumerate(settings):
                cf = comp or fid
                fl = self.state.flows.get(cf)
                params.append((sid * 100 + k, cf, fl.name if fl else "", name, "", "", value))
            self.state.uploaded_setups[sid] = (fid, params)
        run_id = self.state.new_id()
        now = int(time.time())
        files = {}
        for name in ("predictions", "trace"):
            if name in fields:
                file_id = self.state.new_id()
                self.state.uploaded_files[file_id] = fields[name]
                files[name] = file_id
        self.state.uploaded_runs[run_id] = _run_xml(self.server, root, run_id, sid, files, evals)
        for t in root.findall(f"{Q}tag"):
            self.state.tags.setdefault(("run", run_id), []).append(t.text or "")
        self.state.add_run(run_id, tid, fid, sid, now, {m: v for m, (v, _) in evals.items()})
        return xml(
            200, f"<oml:upload_run {NS}>\n  <oml:run_id>{run_id}</oml:run_id>\n</oml:upload_run>\n"
        )

    def _computed(self, tid: int, predictions: bytes) -> dict:
        """The measures OpenML's engine computes from predictions, from the task's splits."""
        from . import datafiles
        from .evaluate import evaluate

        extra, task = self.server.extra, self.state.tasks[tid]
        ds = self.state.datasets.get(task.data_id)
        truth = None
        if ds is not None and ds.raw is not None:
            truth = datafiles.target_values(
                ds.raw, task.target, extra.nominal_target(self.state, ds.data_id)
            )
        return evaluate(predictions, extra.splits(self.state, tid), truth)


def _text(el, tag: str) -> str:
    child = el.find(f"{Q}{tag}")
    return (child.text or "") if child is not None else ""


def _stamp(el, fid: int, version: int, date: str) -> None:
    """Add the server fields (id, uploader, version, upload_date) to an uploaded flow element."""
    for tag in ("id", "uploader", "version", "upload_date"):
        old = el.find(f"{Q}{tag}")
        if old is not None:
            el.remove(old)
    values = {"id": fid, "uploader": 1, "version": version, "upload_date": date}
    for pos, tag in enumerate(("id", "uploader")):
        new = etree.Element(f"{Q}{tag}")
        new.text = str(values[tag])
        el.insert(pos, new)
    anchor = (
        el.find(f"{Q}external_version")
        if el.find(f"{Q}external_version") is not None
        else el.find(f"{Q}name")
    )
    new = etree.Element(f"{Q}version")
    new.text = str(version)
    anchor.addprevious(new) if anchor.tag.endswith("external_version") else anchor.addnext(new)
    descr = el.find(f"{Q}description")
    new = etree.Element(f"{Q}upload_date")
    new.text = date if "T" in date else date.replace(" ", "T")
    (descr if descr is not None else anchor).addnext(new)


def _settings(root) -> list[tuple[str, str, int | None]]:
    out = []
    for p in root.findall(f"{Q}parameter_setting"):
        comp = _text(p, "component")
        out.append((_text(p, "name"), _text(p, "value"), int(comp) if comp else None))
    return out


def _evaluations(root) -> dict[str, tuple[float, list]]:
    """{measure: (aggregate value, [(repeat, fold, value)])}; the aggregate is the fold mean
    when the upload gives only per-fold values (openml-python does).
    """
    per: dict[str, list] = {}
    agg: dict[str, float] = {}
    out_data = root.find(f"{Q}output_data")
    if out_data is None:
        return {}
    for ev in out_data.findall(f"{Q}evaluation"):
        name, value = _text(ev, "name"), _text(ev, "value")
        try:
            v = float(value)
        except ValueError:
            continue
        fold = ev.get("fold") if ev.get("fold") is not None else (_text(ev, "fold") or None)
        if fold is not None:  # openml-python writes repeat/fold as attributes
            repeat = ev.get("repeat") if ev.get("repeat") is not None else _text(ev, "repeat")
            per.setdefault(name, []).append((repeat or "0", fold, v))
        else:
            agg[name] = v
    out = {}
    for name in set(per) | set(agg):
        folds = per.get(name, [])
        value = agg.get(name, sum(v for *_, v in folds) / len(folds) if folds else float("nan"))
        out[name] = (value, folds)
    return out


def _run_xml(server, root, run_id: int, sid: int, files: dict, evals: dict) -> str:
    from .xmlgen import e, fmt_float

    state, base = server.state, server.root
    tid, fid = int(_text(root, "task_id")), int(_text(root, "flow_id"))
    task = state.tasks[tid]
    ds = state.datasets.get(task.data_id)
    settings = "".join(
        f"  <oml:parameter_setting>\n    <oml:name>{e(n)}</oml:name>\n"
        f"    <oml:value>{e(v)}</oml:value>\n"
        + (f"    <oml:component>{c}</oml:component>\n" if c else "")
        + "  </oml:parameter_setting>\n"
        for n, v, c in _settings(root)
    )
    tags = "".join(f"  <oml:tag>{e(t.text)}</oml:tag>\n" for t in root.findall(f"{Q}tag"))
    file_xml = f"""    <oml:file>
      <oml:did>-1</oml:did>
      <oml:file_id>{run_id}</oml:file_id>
      <oml:name>description</oml:name>
      <oml:url>{base}/data/download/{run_id}/description.xml</oml:url>
    </oml:file>
""" + "".join(
        f"""    <oml:file>
      <oml:did>-1</oml:did>
      <oml:file_id>{i}</oml:file_id>
      <oml:name>{n}</oml:name>
      <oml:url>{base}/data/download/{i}/{n}.arff</oml:url>
    </oml:file>
"""
        for n, i in files.items()
    )
    ev_xml = ""
    for name, (value, folds) in sorted(evals.items()):
        ev_xml += (
            f"    <oml:evaluation>\n      <oml:name>{e(name)}</oml:name>\n"
            f"      <oml:value>{fmt_float(value)}</oml:value>\n    </oml:evaluation>\n"
        )
        for rep, fold, v in folds:
            ev_xml += (
                f'    <oml:evaluation repeat="{rep}" fold="{fold}">\n'
                f"      <oml:name>{e(name)}</oml:name>\n"
                f"      <oml:value>{fmt_float(v)}</oml:value>\n    </oml:evaluation>\n"
            )
    dataset = ""
    if ds is not None:
        dataset = (
            f"    <oml:dataset>\n      <oml:did>{ds.data_id}</oml:did>\n"
            f"      <oml:name>{e(ds.name)}</oml:name>\n"
            f"      <oml:url>{base}/data/download/{ds.file_id}/{e(ds.name)}.arff</oml:url>\n"
            "    </oml:dataset>\n"
        )
    flow = state.flows.get(fid)
    return f"""<oml:run {NS}>
  <oml:run_id>{run_id}</oml:run_id>
  <oml:uploader>1</oml:uploader>
  <oml:uploader_name>replay</oml:uploader_name>
  <oml:task_id>{tid}</oml:task_id>
  <oml:task_type>Supervised Classification</oml:task_type>
  <oml:flow_id>{fid}</oml:flow_id>
  <oml:flow_name>{e(flow.name if flow else "")}</oml:flow_name>
  <oml:setup_id>{sid}</oml:setup_id>
  <oml:setup_string>{e(_text(root, "setup_string"))}</oml:setup_string>
{settings}{tags}  <oml:input_data>
{dataset}  </oml:input_data>
  <oml:output_data>
{file_xml}{ev_xml}  </oml:output_data>
</oml:run>
"""
