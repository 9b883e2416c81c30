"""``metabase publish``: stored local runs to OpenML flows and runs, exactly once.

Order matters for "bad input sends nothing and leaves the store unchanged": tags, the selection,
each chosen run and the API key are checked before the store is opened for writing or anything is
sent. Each run then goes through the outbox (see :mod:`metabase.store.outbox`): it is marked
``sending`` (committed) before its upload, and its OpenML id is written with the outbox's
``done`` in one transaction, so a kill at any point is repaired by the next publish, which looks
the run's tag up before sending it again.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from metabase.errors import ConfigError, InputError, MetabaseError, OpenMLError
from metabase.records import publish_tag

FAILED = ("crashed", "timeout", "memout", "error", "failed")


@dataclass(frozen=True)
class PublishReport:
    """Per run: run_key, state (published, already on the server, failed, dry run), run id, url,
    reason.
    """

    rows: tuple = field(default_factory=tuple)
    stopped: str | None = None  # why publishing stopped early (the server is down)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rows if r["state"] == "failed")


def publish(
    ws,
    *,
    run_keys=(),
    task_ids=(),
    everything: bool = False,
    tags=(),
    include_failed: bool = False,
    dry_run: bool = False,
    out_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PublishReport:
    from metabase.publish.tags import check_tags

    tags = check_tags(tags)
    if not (run_keys or task_ids or everything):
        raise InputError("say what to publish: --run-key KEY, --task ID or --all")
    chosen = _choose(ws, list(run_keys), list(task_ids), everything, include_failed)
    if not dry_run and not ws.settings.apikey:
        raise ConfigError(
            "no OpenML API key: pass --apikey, set METABASE_OPENML_APIKEY, or put "
            "'apikey = ...' in openml's config file (~/.config/openml/config)"
        )
    rows = []
    session = _Session(ws, tags, dry_run, Path(out_dir) if out_dir else None)
    try:
        for n, run in enumerate(chosen):
            try:
                rows.append(session.one(run))
            except (ServerDownError, KeyboardInterrupt):
                raise
            except MetabaseError as exc:
                if isinstance(exc, OpenMLError) and "cannot reach OpenML" in str(
                    exc
                ):  # down: stop, keep the rest
                    raise ServerDownError(
                        f"{exc}; the runs stay in the outbox for the next `metabase publish`"
                    ) from None
                rows.append(_row(run, "failed", reason=str(exc)))
            if progress is not None:
                progress(n + 1, len(chosen))
    except ServerDownError as exc:
        done = {r["run_key"] for r in rows}
        rows += [
            _row(r, "failed", reason="not sent: the server is down")
            for r in chosen
            if r["run_key"] not in done
        ]
        return PublishReport(tuple(rows), stopped=str(exc))
    finally:
        session.close()
    return PublishReport(tuple(rows))


def _choose(ws, run_keys, task_ids, everything, include_failed) -> list[dict]:
    from metabase.errors import StoreNotFoundError
    from metabase.store.outbox import known_keys, local_runs

    try:
        with ws.reader(starter=False) as con:
            if "runs" not in con.tables():
                raise InputError("the store holds no local runs; make some with `metabase run`")
            unknown = sorted(set(run_keys) - known_keys(con, run_keys))
            if unknown:
                raise InputError(
                    f'unknown run key {unknown[0]!r} (see `metabase sql "SELECT run_key FROM runs '
                    "WHERE source = 'local'\"`)"
                )
            runs = local_runs(con, keys=run_keys, tasks=task_ids, everything=everything)
            counts = _prediction_counts(con, [r["run_key"] for r in runs])
    except StoreNotFoundError:
        raise InputError(
            "the store does not exist yet; make runs with `metabase run` first"
        ) from None
    out = []
    for run in runs:
        failed = run["status"] != "ok"
        named = run["run_key"] in run_keys
        if failed and not include_failed:
            if named:
                raise InputError(
                    f"run {run['run_key']} {run['status']}; "
                    "publish failed runs with --include-failed"
                )
            continue
        if not failed and not counts.get(run["run_key"]):
            if named:
                raise InputError(f"run {run['run_key']} has no predictions to publish")
            continue
        out.append(run)
    if not out:
        raise InputError("nothing to publish: no finished local run with predictions matches")
    return out


def _prediction_counts(con, keys) -> dict[str, int]:
    from metabase.store.outbox import prediction_counts

    return prediction_counts(con, keys)


class ServerDownError(OpenMLError):
    pass


class _Session:
    """One publish: the gateway, the flows found so far and the one writer it holds."""

    def __init__(self, ws, tags, dry_run: bool, out_dir: Path | None) -> None:
        self.ws, self.tags, self.dry_run, self.out_dir = ws, tags, dry_run, out_dir
        self.gateway = ws.gateway()
        self.uploader = None
        self.flows: dict = {}
        self.task_data: dict = {}
        self.con = None

    def writer(self):
        if self.con is None:
            from metabase.store import open_writer

            self.con = open_writer(self.ws.settings.store_path)
        return self.con

    def one(self, run: dict) -> dict:
        from metabase.store import outbox

        key = run["run_key"]
        if run["openml_run_id"] is not None:
            return _row(run, "already published", run["openml_run_id"], self.gateway.server)
        tag = run["tag"] or publish_tag(key)
        with self._reading() as con:
            folds = outbox.fold_evaluations(con, key)
            frame = outbox.predictions(con, key) if run["status"] == "ok" else None
        self.yield_to_readers()  # the flow may need the server (and the task's data)
        plan, flow_id = self._flow(run)
        from metabase.publish.description import description_xml, predictions_arff
        from metabase.publish.flows import parameter_settings

        failed = run["status"] != "ok"
        xml = description_xml(
            task_id=run["task_id"],
            flow_id=flow_id or 0,
            parameter_settings=parameter_settings(plan, run["config"]) if flow_id else [],
            tags=(*self.tags, tag),
            fold_evaluations=[] if failed else folds,
            error_message=(run["error_message"] or run["status"]) if failed else None,
        )
        arff = None if failed else predictions_arff(run["task_id"], frame, run["class_labels"])
        if self.dry_run:
            return self._write_dry(run, plan, xml, arff)
        if run["state"] is None:
            with self.writer().transaction() as con:
                outbox.stage(con, [(key, tag)])
        from metabase.openml.upload import ServerDown
        from metabase.store import utcnow

        def before_send() -> None:
            with self.writer().transaction() as con:
                outbox.mark_sending(con, key, utcnow())
            self.yield_to_readers()  # the upload takes a while and needs no store

        try:
            result = self._uploader().publish_run(
                xml,
                arff,
                tag,
                maybe_stored=run["state"] == "sending",
                before_send=before_send,
                flow_id=flow_id,
            )
        except ServerDown as exc:
            raise ServerDownError(str(exc)) from None
        except MetabaseError as exc:
            with self.writer().transaction() as con:
                outbox.mark_failed(con, key, str(exc), reached=True)
            raise
        outbox.mark_done(self.writer(), key, result.run_id)
        state = "already on the server" if result.adopted else "published"
        return _row(run, state, result.run_id, self.gateway.server)

    def yield_to_readers(self) -> None:
        """Close the writer while a reader waits for the store (the next write opens it again):
        a reader never waits for an upload, only for a write.
        """
        from metabase.store import reader_waiting

        if self.con is not None and reader_waiting(self.ws.settings.store_path):
            self.con.close()
            self.con = None

    @contextmanager
    def _reading(self):
        """The held writer once there is one (DuckDB refuses a second, read-only, connection to
        the same file in one process), else a reader.
        """
        if self.dry_run:
            with self.ws.reader(starter=False) as con:
                yield con
        else:
            yield self.writer()

    def _uploader(self):
        if self.uploader is None:
            from metabase.openml.upload import Uploader

            self.uploader = Uploader(self.gateway)
        return self.uploader

    def _flow(self, run: dict):
        from metabase.publish import flows

        pipeline = run["pipeline"]
        if flows.is_sklearn(pipeline):
            task = int(run["task_id"])
            if task not in self.task_data:
                self.task_data[task] = self.gateway.get_task_data(task)
            plan = flows.sklearn_flow(
                pipeline, run["config"], run["seed"], run["fidelity"], self.task_data[task]
            )
        else:
            plan = flows.catalogue_flow(
                pipeline, flows.library_versions(pipeline, run["environment"])
            )
        ident = (plan.flow.name, plan.flow.external_version)
        if self.dry_run:
            return plan, None
        if ident not in self.flows:
            from metabase.store import outbox

            fid = self._uploader().flow_id(plan.flow)
            con = self.writer()
            with con.transaction():
                outbox.remember_flow(
                    con,
                    fid,
                    plan.flow.name,
                    plan.flow.version,
                    plan.flow.external_version,
                    pipeline,
                )
            self.flows[ident] = plan.flow
        else:  # the same structure: reuse the ids already copied from the server
            self._uploader().copy_ids(self.flows[ident], plan.flow)
        return plan, plan.flow.flow_id

    def _write_dry(self, run, plan, xml, arff) -> dict:
        from metabase.publish.validate import validate_run, write_dry

        folder = write_dry(
            self.out_dir or Path("publish-dry-run"), run["run_key"], plan.flow, xml, arff
        )
        validate_run(xml)
        return _row(run, "dry run", reason=str(folder))

    def close(self) -> None:
        if self.uploader is not None:
            self.uploader.close()
        if self.con is not None:
            self.con.close()
        self.gateway.close()


def _row(
    run: dict, state: str, run_id=None, server: str | None = None, reason: str | None = None
) -> dict:
    url = None
    if run_id is not None and server:
        base = server.rstrip("/").removesuffix("/api/v1/xml").removesuffix("/api/v1")
        url = (
            f"{base}/r/{run_id}" if "openml.org" in base else f"{server.rstrip('/')}/run/{run_id}"
        )
    return {
        "run_key": run["run_key"],
        "task_id": run["task_id"],
        "pipeline": run["pipeline"],
        "state": state,
        "openml_run_id": run_id,
        "url": url,
        "reason": reason,
    }
