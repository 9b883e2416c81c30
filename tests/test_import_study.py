"""openml-study-arff importer on the real openml-aslib study exports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from metabase.errors import ImportFormatError
from metabase.settings import Settings
from metabase.store import open_reader
from metabase.workspace import Workspace

pytestmark = pytest.mark.realdata

OUTPUT = Path("openml-aslib/openmlmetadata/output")
DOCUMENTED_STUDY_1_RUNS = 44_676


def _ws(store: Path) -> Workspace:
    return Workspace(Settings.resolve(store=str(store)))


def _rows(path: Path) -> list[list[str]]:
    """Data rows by plain text splitting (the study files hold no quoted values)."""
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().upper() == "@DATA")
    return [
        line.split(",") for line in lines[at + 1 :] if line.strip() and not line.startswith("%")
    ]


def test_study_1_counts(openml_data, tmp_path):
    path = openml_data / OUTPUT / "study_1_run_evaluations_predictive_accuracy.arff"
    rows = _rows(path)
    tasks = {r[0] for r in rows}
    flows = {r[2].split("_", 1)[0] for r in rows}
    ok = sum(1 for r in rows if r[4] == "ok")
    store = tmp_path / "s.duckdb"
    _ws(store).import_("openml-study-arff", path)
    with open_reader(store) as con:
        assert con.scalar("SELECT count(*) FROM runs") == DOCUMENTED_STUDY_1_RUNS == len(rows)
        # README says 439 tasks and 103 flows; the file itself has these many distinct ids
        assert con.scalar("SELECT count(DISTINCT task_id) FROM runs") == len(tasks)
        assert con.scalar("SELECT count(DISTINCT flow_id) FROM runs") == len(flows)
        assert con.scalar("SELECT count(*) FROM flows") == len(flows)
        assert con.scalar("SELECT count(*) FROM runs WHERE status = 'ok'") == ok
        assert con.scalar(
            "SELECT count(*) FROM evaluations WHERE measure = 'predictive_accuracy'"
        ) == len(rows)
        # runs that did not finish keep their status; their placeholder 0 is not a score
        assert con.scalar("SELECT count(value) FROM evaluations") == ok
        # algorithm is <flow id>_<flow name>
        flow_id, name = rows[0][2].split("_", 1)
        assert con.scalar("SELECT name FROM flows WHERE flow_id = ?", [int(flow_id)]) == name
        # openml_data_id holds task ids
        assert con.scalar("SELECT count(*) FROM runs WHERE task_id = ?", [int(rows[0][0])]) == sum(
            1 for r in rows if r[0] == rows[0][0]
        )


def test_folder_import_twice(openml_data, tmp_path):
    folder = tmp_path / "output"
    folder.mkdir()
    for name in (
        "study_34_run_evaluations_predictive_accuracy.arff",
        "study_34_run_evaluations_area_under_roc_curve.arff",
        "study_34_metafeatures.arff",
        "study_34_joint.arff",
    ):
        shutil.copy(openml_data / OUTPUT / name, folder / name)
    accuracy = _rows(folder / "study_34_run_evaluations_predictive_accuracy.arff")
    auc = _rows(folder / "study_34_run_evaluations_area_under_roc_curve.arff")
    meta = _rows(folder / "study_34_metafeatures.arff")
    store = tmp_path / "s.duckdb"
    counts = []
    for _ in range(2):
        _ws(store).import_("openml-study-arff", folder)
        with open_reader(store) as con:
            counts.append(
                {
                    t: con.scalar(f"SELECT count(*) FROM {t}")
                    for t in ("runs", "evaluations", "flows", "tasks", "task_qualities")
                }
            )
    assert counts[0] == counts[1]
    # the two measure files describe the same runs: one run, two evaluations
    assert counts[0]["runs"] == len(accuracy) == len(auc)
    assert counts[0]["evaluations"] == len(accuracy) + len(auc)
    with open_reader(store) as con:
        assert con.scalar("SELECT count(DISTINCT task_id) FROM task_qualities") == len(
            {r[0] for r in meta}
        )
        assert con.scalar(
            "SELECT count(*) FROM evaluations e JOIN runs r USING (run_key) "
            "WHERE e.measure = 'area_under_roc_curve'"
        ) == len(auc)


def test_joint_file_is_refused_with_a_reason(openml_data):
    from metabase.imports.study_arff import StudyArffImporter

    with pytest.raises(ImportFormatError, match="joint"):
        StudyArffImporter().read(openml_data / OUTPUT / "study_34_joint.arff")
