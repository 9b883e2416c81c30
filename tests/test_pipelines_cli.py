"""`metabase pipelines list|show`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli.main import main


def test_list_json_has_every_catalogue_pipeline(capsys, store_path):
    import pipelines

    assert main(["--store", str(store_path), "pipelines", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == pipelines.names()
    rf = next(r for r in rows if r["name"] == "sklearn.random_forest")
    assert rf["device"] == "cpu" and rf["task_types"] == "classification"
    assert next(r for r in rows if r["name"] == "torch.mlp")["device"] == "gpu-if-available"


def test_show_json_gives_types_ranges_log_defaults_and_conditions(capsys, store_path):
    assert (
        main(["--store", str(store_path), "pipelines", "show", "sklearn.svc", "--format", "json"])
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    hps = {h["name"]: h for h in shown["hyperparameters"]}
    assert hps["C"]["type"] == "float" and hps["C"]["log"] is True
    assert hps["C"]["range"] == [0.03125, 32768.0]
    assert (
        hps["kernel"]["choices"] == ["rbf", "poly", "sigmoid"]
        and hps["kernel"]["default"] == "rbf"
    )
    assert "kernel" in hps["degree"]["condition"] and "poly" in hps["degree"]["condition"]
    assert shown["default_config"]["kernel"] == "rbf" and "degree" not in shown["default_config"]


def test_show_table_lists_hyperparameters(capsys, store_path):
    assert main(["--store", str(store_path), "pipelines", "show", "torch.mlp"]) == 0
    out = capsys.readouterr().out
    for name in ("n_layers", "units_6", "skip_connections", "learning_rate"):
        assert name in out


def test_show_unknown_pipeline_is_one_line_error_exit_1(capsys, store_path):
    assert main(["--store", str(store_path), "pipelines", "show", "sklearn.nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "sklearn.random_forest" in err[0]


def test_console_script_lists_pipelines_as_csv(tmp_path):
    console = Path(sys.executable).parent / "metabase"
    script = (
        [str(console)]
        if console.exists()
        else [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())"]
    )
    done = subprocess.run(
        [*script, "--store", str(tmp_path / "s.duckdb"), "pipelines", "list", "-f", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("name,task_types,device")
    assert any(line.startswith("lightgbm,") for line in lines)
