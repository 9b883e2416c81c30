"""Output that fits a terminal: tables within 100 columns, titles on one line, errors whole."""

from __future__ import annotations

from cli.main import main
from cli.output import TABLE_WIDTH, emit
from metabase.errors import MetabaseError
from metabase.openml.http import reason

CONFIG = ", ".join(f"parameter_{i}={i / 7:.4g}" for i in range(20))


def _lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_a_long_cell_wraps_inside_its_column_and_short_ones_stay_whole(capsys):
    emit(
        [
            {"rank": 1, "score": 0.912345, "config": CONFIG},
            {"rank": 2, "score": 0.9, "config": "a=1"},
        ]
    )
    lines = _lines(capsys)
    assert TABLE_WIDTH == 100 and max(len(line) for line in lines) <= 100
    assert any("0.912345" in line for line in lines)  # the number is not folded
    assert (
        "".join(line.strip("│ ") for line in lines).count("parameter_19") == 1
    )  # nothing cut away


def test_a_title_stays_on_one_line(capsys):
    title = (
        "imported openml-study-arff from ../shared/openml-data/openml-aslib/openmlmetadata/output"
    )
    emit([{"table": "runs", "rows": 44676}], title=title)
    lines = _lines(capsys)
    assert lines[0] == title
    assert "runs" in lines[4] and "44676" in lines[4]


def test_a_title_wider_than_the_terminal_becomes_a_caption_below(capsys):
    title = "imported openml-study-arff from " + "/very/long/path" * 8
    emit([{"table": "runs", "rows": 1}], title=title)
    lines = _lines(capsys)
    assert max(len(line) for line in lines) <= 100
    assert lines[0].startswith("┏") and lines[4].startswith("└")
    assert lines[5].startswith("imported openml-study-arff from")
    assert "".join(lines[5:]).count("/very/long/path") == 8  # folded, not cut


def test_an_error_of_several_lines_is_one_whole_line(monkeypatch, tmp_path, capsys):
    import metabase.starter

    def fail(*args, **kwargs):
        raise MetabaseError("the first half of a sentence\nand its second half (with a hint)")

    monkeypatch.setattr(metabase.starter, "init_store", fail)
    assert main(["--store", str(tmp_path / "s.duckdb"), "init"]) == 1
    err = capsys.readouterr().err
    assert err == "error: the first half of a sentence and its second half (with a hint)\n"


def test_urllib3s_wrapping_gives_way_to_the_whole_reason():
    refused = (
        "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
        "/api/v1/xml/task/7 "
        "(Caused by NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=9): "
        "Failed to establish a "
        'new connection: [Errno 111] Connection refused"))'
    )
    assert (
        reason(refused) == "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    dns = (
        "HTTPSConnectionPool(host='www.openml.org', port=443): Max retries exceeded with url: "
        "/x (Caused by "
        'NameResolutionError("<urllib3.connection.HTTPSConnection object at 0x7f>: '
        "Failed to resolve "
        "'www.openml.org' ([Errno -3] Temporary failure in name resolution)\"))"
    )
    assert (
        reason(dns)
        == "Failed to resolve 'www.openml.org' ([Errno -3] Temporary failure in name resolution)"
    )
    assert reason("two\nlines") == "two lines"
    page = "word " * 300
    short = reason(page)
    assert short.endswith("more characters]") and len(short) < 650 and "wor " not in short
