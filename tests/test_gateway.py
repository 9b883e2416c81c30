"""The OpenML gateway: HTTP retry policy, streaming list parser, windowed lister.

A tiny local http.server plays OpenML here (scripted failures, id ranges, page caps), so these
tests need no data folder; the recorded OpenML responses are parsed in the ``realdata`` ones.
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pytest

from metabase.errors import NotFoundError, OpenMLError
from metabase.openml import (
    HttpClient,
    Lister,
    NoResults,
    RetryPolicy,
    Window,
    id_chunks,
    id_windows,
    mask_url,
)
from metabase.openml.listparse import SPECS
from metabase.testing.listpages import parse_page

FAST = RetryPolicy(attempts=4, base_delay_s=0.001, max_delay_s=0.01)
NS = 'xmlns:oml="http://openml.org/openml"'
NO_RESULTS = (
    f"<oml:error {NS}><oml:code>542</oml:code><oml:message>No results</oml:message></oml:error>"
).encode()


def _evals_xml(rows) -> bytes:
    body = "".join(
        f"<oml:evaluation><oml:run_id>{r}</oml:run_id><oml:task_id>{r % 3 + 1}</oml:task_id>"
        f"<oml:setup_id>{r}</oml:setup_id><oml:flow_id>7</oml:flow_id><oml:function>predictive_accuracy"
        f"</oml:function><oml:upload_time>2020-01-01T00:00:00</oml:upload_time>"
        f"<oml:value>{r / 10000}</oml:value></oml:evaluation>"
        for r in rows
    )
    return f"<oml:evaluations {NS}>{body}</oml:evaluations>".encode()


class FakeOpenML:
    """evaluation/list over run ids 1..n (task = id % 3 + 1) with filters task, run (list or
    range), limit/offset and an optional page cap; ``script`` is a list of faults for the next
    requests: an HTTP status, 'truncate', 'malformed', 'html' or 'reset'.
    """

    def __init__(self, n: int = 2500, cap: int | None = None) -> None:
        self.n, self.cap, self.script, self.paths = n, cap, [], []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code, body, headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                fake.paths.append(self.path)
                fault = fake.script.pop(0) if fake.script else None
                if isinstance(fault, int):
                    return self._send(
                        fault, b"busy", [("Retry-After", "1")] if fault == 429 else []
                    )
                if fault == "reset":
                    self.close_connection = True
                    return self.connection.shutdown(2)
                if (
                    fault == "html"
                ):  # a maintenance page with status 200: well-formed, not the list
                    return self._send(
                        200,
                        b"<html><head><title>Maintenance</title></head><body/></html>",
                        [("Content-Type", "text/html")],
                    )
                f = dict(zip(*[iter(self.path.split("?")[0].split("/")[6:])] * 2))
                rows = list(range(1, fake.n + 1))
                if "task" in f:
                    rows = [r for r in rows if r % 3 + 1 == int(f["task"])]
                if "run" in f and ".." in f["run"]:
                    lo, hi = f["run"].split("..")
                    rows = [r for r in rows if int(lo or 0) <= r <= int(hi or 1 << 60)]
                elif "run" in f:
                    wanted = {int(x) for x in f["run"].split(",")}
                    rows = [r for r in rows if r in wanted]
                limit = min(int(f.get("limit", 1000)), fake.cap or 1000)
                page = rows[int(f.get("offset", 0)) :][:limit]
                if not page:
                    return self._send(412, NO_RESULTS)
                body = _evals_xml(page)
                if fault == "malformed":
                    body = body[: len(body) // 2]
                if fault == "truncate":  # announce more than is sent, then close
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return None
                return self._send(200, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v1/xml"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake():
    server = FakeOpenML()
    yield server
    server.stop()


def _windows(key_filter=None):
    return [
        Window(
            "evaluation",
            (("function", "predictive_accuracy"), ("task", str(t))),
            key_filter=key_filter,
        )
        for t in (1, 2, 3)
    ]


def _run_ids(pages) -> list[int]:
    return [r for p in pages for r in p.batch.column("run_id").to_pylist()]


# -- key masking and error bodies ------------------------------------------------------------
def test_mask_url_hides_the_key_in_query_and_path():
    assert (
        mask_url("http://x/api/v1/xml/task/1?api_key=abc123&x=1")
        == "http://x/api/v1/xml/task/1?api_key=***&x=1"
    )
    assert "s3cret" not in mask_url("http://x/api/v1/xml/run/list/api_key/s3cret/limit/5")


def test_parse_page_no_results_body_is_end_of_list():
    with pytest.raises(NoResults):
        parse_page(SPECS["evaluation"], NO_RESULTS)


# -- retries --------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", [500, 503, 429, "truncate", "malformed", "html", "reset"])
def test_transient_faults_are_retried(fake, fault):
    fake.script = [fault, fault]
    client = HttpClient(fake.url, apikey="k", policy=RetryPolicy(attempts=4, base_delay_s=0.001))
    pages = list(Lister(client, in_flight=1).pages(_windows()[:1]))
    assert _run_ids(pages) == [r for r in range(1, 2501) if r % 3 + 1 == 1]
    assert client.retries == 2


def test_retry_after_is_honoured(fake):
    fake.script = [429]
    client = HttpClient(fake.url, policy=RetryPolicy(attempts=3, base_delay_s=0.001))
    t0 = time.perf_counter()
    list(Lister(client, in_flight=1).pages(_windows()[:1]))
    assert time.perf_counter() - t0 >= 0.95  # Retry-After: 1


def test_after_the_retry_budget_the_error_names_the_page_with_the_key_masked(fake):
    fake.script = ["malformed"] * 10
    client = HttpClient(fake.url, apikey="TOPSECRETKEY", policy=FAST)
    with pytest.raises(OpenMLError) as info:
        list(Lister(client, in_flight=1).pages(_windows()[:1]))
    message = str(info.value)
    assert "evaluation/list/function/predictive_accuracy/task/1" in message
    assert "malformed" in message and "TOPSECRETKEY" not in message
    assert len(fake.paths) == FAST.attempts


def test_unreachable_server_fails_fast_with_one_clear_error():
    client = HttpClient("http://127.0.0.1:9/api/v1/xml", policy=RetryPolicy(base_delay_s=0.01))
    t0 = time.perf_counter()
    with pytest.raises(OpenMLError, match="cannot reach OpenML"):
        client.get_bytes("task/1")
    assert time.perf_counter() - t0 < 10


def test_the_key_travels_in_the_query_and_gzip_is_asked_for(fake):
    client = HttpClient(fake.url, apikey="a b&c", policy=FAST)
    list(Lister(client, in_flight=1).pages(_windows()[:1]))
    assert fake.paths and all(p.endswith("?api_key=a+b%26c") for p in fake.paths)
    assert "gzip" in client._pool.headers["accept-encoding"]


def test_proxies_come_from_the_environment_as_requests_reads_them(monkeypatch):
    from metabase.openml.http import _environ_proxy

    for name in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    assert _environ_proxy("https://www.openml.org/api/v1/xml") is None
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    assert _environ_proxy("https://www.openml.org/api/v1/xml") == "http://proxy.example:3128"
    assert _environ_proxy("http://www.openml.org/api/v1/xml") is None  # only https is proxied
    monkeypatch.setenv("NO_PROXY", "openml.org")
    assert _environ_proxy("https://www.openml.org/api/v1/xml") is None


# -- the lister -----------------------------------------------------------------------------
@pytest.mark.parametrize("key_filter", [None, "run"])
@pytest.mark.parametrize("cap", [None, 300])
def test_lister_returns_every_row_once_in_window_order(key_filter, cap):
    server = FakeOpenML(n=2500, cap=cap)
    try:
        lister = Lister(HttpClient(server.url, policy=FAST), in_flight=4)
        pages = list(lister.pages(_windows(key_filter)))
        for t in (1, 2, 3):
            mine = [
                p
                for p in pages
                if p.window.key.endswith(f"task/{t}") or f"task/{t}/" in p.window.key
            ]
            ids = _run_ids(mine)
            assert ids == [
                r for r in range(1, 2501) if r % 3 + 1 == t
            ]  # complete, ordered, no repeats
            assert mine[-1].last and not any(p.last for p in mine[:-1])
        assert all(
            int(m.group(1)) <= 1000
            for m in (re.search(r"/limit/(\d+)", p) for p in server.paths)
            if m
        )
        if key_filter:
            assert all("/offset/0" in p for p in server.paths)  # id ranges, never deeper offsets
    finally:
        server.stop()


@pytest.mark.parametrize("key_filter", [None, "run"])
@pytest.mark.parametrize("cap", [7, 999])
def test_a_server_cap_below_the_page_size_never_ends_a_list(key_filter, cap):
    """openml-python's flaw: a page shorter than asked is not the end; only an empty answer is."""
    n = 2500 if cap > 100 else 150  # the fake answers a call in ~40 ms (Nagle): few pages of 7
    server = FakeOpenML(n=n, cap=cap)
    try:
        window = Window(
            "evaluation", (("function", "predictive_accuracy"),), key_filter=key_filter
        )
        pages = list(Lister(HttpClient(server.url, policy=FAST), in_flight=4).pages([window]))
        assert _run_ids(pages) == list(range(1, n + 1))
        assert (
            pages[-1].last and pages[-1].batch.num_rows == 0
        )  # it ended on the server's "no results"
        assert not any(p.last for p in pages[:-1])
    finally:
        server.stop()


def test_a_keyset_window_ends_at_its_highest_id_without_asking_past_it(fake):
    window = Window(
        "evaluation", (("function", "predictive_accuracy"),), key_filter="run", high=2000
    )
    pages = list(Lister(HttpClient(fake.url, policy=FAST), in_flight=2).pages([window]))
    assert _run_ids(pages) == list(range(1, 2001))
    assert len(fake.paths) == 2 and pages[-1].last  # two full pages; nothing asked above 2000


class _Answers:
    """A client that answers each list call with the next scripted body (no HTTP)."""

    def __init__(self, *bodies: bytes) -> None:
        self.bodies = list(bodies)
        self.calls: list[str] = []

    def url(self, call: str) -> str:
        return "http://fake/api/v1/xml/" + call

    def request(self, call, consume):
        self.calls.append(call)
        body = self.bodies.pop(0) if self.bodies else NO_RESULTS
        if body == NO_RESULTS:
            raise NoResults(542, "No results", self.url(call))
        return consume(body, self.url(call))


def test_a_keyset_page_whose_ids_do_not_move_on_fails_instead_of_looping():
    client = _Answers(_evals_xml([5, 6]), _evals_xml([3, 4]))  # the second page goes backwards
    window = Window("evaluation", (("function", "predictive_accuracy"),), key_filter="run")
    with pytest.raises(OpenMLError, match="cannot page on"):
        list(Lister(client, in_flight=1).pages([window]))
    assert len(client.calls) == 2


def test_an_empty_list_element_ends_a_window_as_no_results_does():
    client = _Answers(_evals_xml([1, 2, 3]), _evals_xml([]))
    window = Window("evaluation", (("function", "predictive_accuracy"),), key_filter="run")
    pages = list(Lister(client, in_flight=1).pages([window]))
    assert _run_ids(pages) == [1, 2, 3] and pages[-1].last and len(client.calls) == 2


def test_lister_resumes_from_marks_and_caps_rows(fake):
    lister = Lister(HttpClient(fake.url, policy=FAST), in_flight=2)
    windows = _windows("run")
    first = list(lister.pages(windows, max_rows_per_window=300))
    assert [p.batch.num_rows for p in first] == [300, 300, 300]
    marks = {p.window.key: (p.next_position, p.rows_after) for p in first}
    rest = list(lister.pages(windows, start=marks))
    for w in windows:
        ids = _run_ids([p for p in first + rest if p.window == w])
        assert len(ids) == len(set(ids)) == 833 + (w.filters[-1][1] == "2")


def test_id_windows_fit_one_page_and_url():
    chunks = id_chunks(range(10_000_000, 10_003_000))
    assert sum(len(c) for c in chunks) == 3000 and all(
        len(",".join(map(str, c))) <= 1800 for c in chunks
    )
    windows = id_windows("evaluation", "run", [5, 1, 3, 3], (("function", "predictive_accuracy"),))
    assert (
        len(windows) == 1
        and windows[0].filters[-1] == ("run", "1,3,5")
        and windows[0].max_rows == 3
    )


# -- recorded OpenML responses ----------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.parametrize(
    "entity,relpath,row",
    [
        ("evaluation", "evaluations/evaluation_list_run12.xml", "evaluation"),
        ("setup", "setups/setup_list_flow5873.xml", "setup"),
        ("task", "tasks/task_list_type_learning_curve.xml", "task"),
        ("flow", "flows/flow_list.xml", "flow"),
        ("run", "studies/publish_study/get_run_list_limit_10000_offset_0_study_157.xml", "run"),
        (
            "evaluation",
            "studies/publish_study/get_evaluation_list_function_predictive_accuracy_limit_10000_offset_0_study_157.xml",
            "evaluation",
        ),
    ],
)
def test_recorded_lists_parse_into_arrow(openml_data, entity, relpath, row):
    path = openml_data / "openml-python/_history/tests/files/mock_responses" / relpath
    text = path.read_text()
    batch = parse_page(SPECS[entity], path.read_bytes())
    assert batch.num_rows == len(re.findall(rf"<oml:{row}>", text))
    id_col = SPECS[entity].id_column
    expected_ids = [
        int(x)
        for x in re.findall(
            rf"<oml:{row}>\s*<oml:{'id' if entity == 'flow' else id_col}>(\d+)", text
        )
    ]
    assert batch.column(id_col).to_pylist() == expected_ids
    if relpath.endswith("run12.xml"):
        assert batch.column("value").to_pylist() == [0.9876]
        assert batch.schema.field("upload_time").type == pa.timestamp("s")
    if entity == "task":
        first = batch.slice(0, 1).to_pylist()[0]
        assert dict(first["input"])["target_feature"] == "class"


@pytest.mark.realdata
def test_gateway_entities_through_openml(replay_server, tmp_path):
    from metabase.openml import Gateway

    gateway = Gateway(replay_server.url, "key", tmp_path / "cache", policy=FAST)
    task = gateway.get_task(
        14951
    )  # README: 10-fold CV task on eeg-eye-state (d/1471), target Class
    assert (task.dataset_id, task.target, task.target_name) == (1471, "Class", "Class")
    assert task.task_type == "Supervised Classification"
    X, y = gateway.get_dataset_frame(task.dataset_id)
    assert X.shape == (14980, 14) and y.name == "Class"
    assert sorted(y.astype(str).value_counts().tolist()) == [6723, 8257]
    with pytest.raises(NotFoundError):
        gateway.get_task(999_999_999)
    suite = gateway.study("OpenML100")
    assert suite["id"] == 14 and len(suite["tasks"]) == 100


def test_a_dataset_file_answering_404_is_missing_on_the_server_not_unreachable():
    from openml.exceptions import OpenMLServerError

    from metabase.openml.gateway import _translate

    url = "https://www.openml.org/data/v1/download/61/iris.arff"
    # the message openml-python raises when a file download answers with a page it cannot parse
    raised = OpenMLServerError(
        f"Unexpected server error when calling {url}. Please contact the developers!\n"
        "Status code: 404\n<html>Not Found</html>"
    )
    error = _translate(raised, "https://www.openml.org/api/v1/xml")
    assert isinstance(error, NotFoundError)
    assert f"the file {url} is missing on the OpenML server" in str(error)
    assert "contact the developers" not in str(error) and "cannot reach" not in str(error)
    server_fault = OpenMLServerError(
        f"Unexpected server error when calling {url}. Please contact the developers!\n"
        "Status code: 500\n"
    )
    assert "cannot reach OpenML" in str(
        _translate(server_fault, "https://www.openml.org/api/v1/xml")
    )
