"""``metabase import openml-task-list PATH``: a CSV in OpenML's task-list layout.

OpenML's task list (``openml.tasks.list_tasks(output_format="dataframe")``, and TabRepo's copy of
it) has one row per task: ``tid`` (task id), ``did`` (dataset id), ``name``, ``task_type``,
``estimation_procedure``, ``target_feature``, optionally ``evaluation_measures`` and the basic
qualities as CamelCase columns. This reads any such file, e.g. the data folder's
``extra/tasks_supplement.csv`` (task 14951 on dataset 1471), with its own provenance; the parsing
is the TabRepo importer's.
"""

from __future__ import annotations

from pathlib import Path

from metabase.imports.base import ImportBatch, Importer
from metabase.imports.tabrepo import build_batch

SOURCE = "openml-task-list"


class TaskListImporter(Importer):
    name = SOURCE
    description = (
        "a CSV of OpenML's task list "
        "(tid, did, name, task_type, estimation_procedure, target_feature)"
    )
    expects = "any"

    def read(self, path: Path) -> ImportBatch:
        return build_batch(Path(path), source=SOURCE, pattern="*.csv")
