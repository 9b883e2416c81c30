"""Injected faults, uploads that fail validation, and the replay-server command."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.realdata
OML = "{http://openml.org/openml}"


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def test_5xx_and_429_with_retry_after(replay_factory):
    h = replay_factory(faults="5xx=1.0")
    assert status_of(h.url + "/task/14951") == 503
    h = replay_factory(faults="429=1.0,retry_after=3")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(h.url + "/task/14951")
    assert info.value.code == 429 and info.value.headers["Retry-After"] == "3"


def test_faults_spare_downloads(replay_factory):
    h = replay_factory(faults="5xx=1.0")
    assert status_of(h.root + "/data/download/1471/eeg-eye-state.arff") == 200


def test_reset_and_truncate(replay_factory):
    h = replay_factory(faults="reset=1.0")
    with pytest.raises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
        urllib.request.urlopen(h.url + "/task/14951", timeout=10).read()
    h = replay_factory(faults="truncate=1.0")
    with pytest.raises(http.client.IncompleteRead):
        urllib.request.urlopen(h.url + "/task/14951", timeout=10).read()


def test_latency(replay_factory):
    h = replay_factory(faults="latency=0.3")
    t = time.perf_counter()
    assert status_of(h.url + "/task/14951") == 200
    assert time.perf_counter() - t >= 0.3


def test_page_size_cap_option(replay_factory):
    h = replay_factory(faults="cap=100")
    with urllib.request.urlopen(h.url + "/run/list/flow/6969/limit/1000/offset/0") as r:
        assert len(ET.fromstring(r.read()).findall(f"{OML}run")) == 100


def test_fault_draws_are_seeded(replay_factory):
    def statuses(seed):
        h = replay_factory(faults=f"5xx=0.5,seed={seed}")
        return [status_of(h.url + "/task/14951") for _ in range(30)]

    first = statuses(7)
    assert first == statuses(7)
    assert 0 < first.count(503) < 30


@pytest.mark.parametrize("spec", ["5xx", "bogus=1", "5xx=lots", "cap=0"])
def test_bad_fault_spec_is_an_input_error(replay_factory, spec):
    from metabase.errors import InputError

    with pytest.raises(InputError):
        replay_factory(faults=spec)


def _post(url: str, fields: dict[str, bytes]) -> tuple[int, ET.Element]:
    boundary = "replayboundary"
    body = (
        b"".join(
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="{k}"; filename="{k}.xml"\r\n\r\n'
            ).encode()
            + v
            + b"\r\n"
            for k, v in fields.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, ET.fromstring(r.read())
    except urllib.error.HTTPError as err:
        return err.code, ET.fromstring(err.read())


def test_invalid_run_upload_is_rejected_and_nothing_changes(replay_factory):
    h = replay_factory()
    before = h.state.runs.run_id.size
    bad = (
        b'<oml:run xmlns:oml="http://openml.org/openml"><oml:task_id>14951</oml:task_id></oml:run>'
    )
    status, root = _post(h.url + "/run", {"api_key": b"k", "description": bad})
    assert status == 412 and root.tag == f"{OML}error"
    assert h.state.runs.run_id.size == before
    status, _ = _post(h.url + "/flow", {"api_key": b"k", "description": b"<not-a-flow/>"})
    assert status == 412


def test_flow_upload_is_listed_and_found(replay_factory):
    h = replay_factory()
    flow = (
        b'<oml:flow xmlns:oml="http://openml.org/openml"><oml:name>replay.test.Flow</oml:name>'
        b"<oml:external_version>t==1</oml:external_version><oml:description>test</oml:description></oml:flow>"
    )
    status, root = _post(h.url + "/flow", {"api_key": b"k", "description": flow})
    assert status == 200
    fid = int(root.find(f"{OML}id").text)
    with urllib.request.urlopen(f"{h.url}/flow/exists/replay.test.Flow/t==1") as r:
        assert int(ET.fromstring(r.read()).find(f"{OML}id").text) == fid
    with urllib.request.urlopen(f"{h.url}/flow/{fid}") as r:
        assert ET.fromstring(r.read()).find(f"{OML}name").text == "replay.test.Flow"
    assert (
        _post(h.url + "/flow", {"api_key": b"k", "description": flow})[0] == 412
    )  # already exists


def test_cli_prints_url_and_serves(openml_data):
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "replay-server", "--data", str(openml_data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1/xml")
        assert status_of(url + "/task/14951") == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_cli_bad_options_exit_1(capsys, tmp_path):
    from cli.main import main

    assert main(["replay-server", "--data", str(tmp_path / "absent")]) == 1
    assert main(["replay-server", "--faults", "nonsense"]) == 1
    err = capsys.readouterr().err
    assert err.count("error:") == 2


def test_malformed_xml_is_well_framed_but_unparseable(replay_factory):
    h = replay_factory(faults="malformed=1.0,match=evaluation/list")
    with urllib.request.urlopen(h.url + "/task/14951") as r:  # not matched: untouched
        ET.fromstring(r.read())
    with urllib.request.urlopen(
        h.url + "/evaluation/list/function/predictive_accuracy/task/9983/limit/10"
    ) as r:
        body = r.read()  # complete per Content-Length
    with pytest.raises(ET.ParseError):
        ET.fromstring(body)


def test_html_fault_answers_a_maintenance_page_with_status_200(replay_factory):
    h = replay_factory(faults="html=1.0,match=evaluation/list")
    with urllib.request.urlopen(
        h.url + "/evaluation/list/function/predictive_accuracy/task/9983/limit/10"
    ) as r:
        body = r.read()
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert ET.fromstring(body).tag == "html"  # well-formed: only a check of the root tells
    with urllib.request.urlopen(h.url + "/task/14951") as r:  # not matched: untouched
        assert ET.fromstring(r.read()).tag == OML + "task"


def test_deep_offsets_time_out_when_asked(replay_factory):
    h = replay_factory(faults="max_offset=5000")
    assert status_of(h.url + "/run/list/flow/6969/limit/1000/offset/5000") == 200
    assert status_of(h.url + "/run/list/flow/6969/limit/1000/offset/6000") == 504


def test_stop_ends_kept_alive_connections(openml_data):
    from metabase.testing.replay import start_server

    h = start_server(openml_data)
    conn = http.client.HTTPConnection(h.host, h.port, timeout=10)
    conn.request("GET", "/api/v1/xml/task/14951")
    assert conn.getresponse().read()
    h.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("GET", "/api/v1/xml/task/14951")
        conn.getresponse().read()
